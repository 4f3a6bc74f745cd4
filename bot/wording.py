"""Read the assistant's wording from domain.yml, for transports that speak without Rasa."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict, List

import yaml


class DomainFileError(ValueError):
    """A domain file that cannot be read: one line naming the file (and the line at fault)."""


def read_domain_file(path: Path) -> dict:
    """The content of one domain file; raise DomainFileError if it is not a YAML mapping."""
    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DomainFileError(f"Cannot read the domain file {path}: "
                              f"{error.strerror or error}.") from None
    except UnicodeDecodeError:
        raise DomainFileError(f"The domain file {path} is not UTF-8 text.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DomainFileError(f"The domain file {path} is not valid YAML{where}"
                              f"{f' ({problem})' if problem else ''}.") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise DomainFileError(f"The domain file {path} is not a Rasa domain (a mapping with "
                              "responses).")
    return content


@functools.lru_cache(maxsize=8)
def load_responses(domain_path: Path) -> Dict[str, List[dict]]:
    """Every response in domain.yml: name to its list of variations."""
    return read_domain_file(domain_path).get("responses") or {}


def response_text(domain_path: Path, name: str, **values: str) -> str:
    """The first variation of a response, with {placeholders} filled in."""
    variations = load_responses(Path(domain_path)).get(name)
    if not variations:
        raise KeyError(f"domain.yml has no response called {name}")
    text = variations[0].get("text", "")
    return text.format(**values) if values else text


def spoken_words(reply: dict) -> str:
    """What a reply's voice note says: its words, then each button's title that the words do not
    say already, so someone who does not read knows what there is to press."""
    text = (reply.get("text") or "").strip()
    if not text:
        return ""
    titles = []
    for button in reply.get("buttons") or []:
        title = str(button.get("title") or "").strip()
        if title and not re.search(r"(?<!\w)" + re.escape(title) + r"(?!\w)", text, re.IGNORECASE):
            titles.append(title if title[-1] in ".?!" else title + ".")
    return "\n".join([text, *titles])
