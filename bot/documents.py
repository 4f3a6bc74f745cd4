"""Files a Rasa reply carries for the participant (their own record), shared by every channel."""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Optional

FILE_PREFIX = "coproduce-"
DEFAULT_FILE_NAME = "data.json"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclasses.dataclass(frozen=True)
class Document:
    """One file to hand over, such as the participant's own record: its name and its bytes."""

    filename: str
    content: bytes = dataclasses.field(repr=False)  # personal data: never in a log line


def document_in(reply: dict) -> Optional[Document]:
    """The file a reply carries as `custom.document` ({"filename", "data"}), or None."""
    document = (reply.get("custom") or {}).get("document")
    if not isinstance(document, dict) or "data" not in document:
        return None
    data = document["data"]
    content = data.encode("utf-8") if isinstance(data, str) else json.dumps(
        data, ensure_ascii=False, indent=2).encode("utf-8")
    return Document(file_name(str(document.get("filename") or "")), content)


def file_name(name: str) -> str:
    """A safe name for a file the participant saves: plain characters, with the project's prefix."""
    name = _UNSAFE_IN_NAME.sub("-", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(".-")
    name = name or DEFAULT_FILE_NAME
    return name if name.startswith(FILE_PREFIX) else FILE_PREFIX + name
