"""Read the web chat's HTML in tests: hidden fields, buttons, messages and attributes."""
from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from typing import Dict, List, Tuple


@dataclasses.dataclass
class Page:
    """What a test needs to know about one rendered chat page."""

    hidden: Dict[str, str] = dataclasses.field(default_factory=dict)
    choices: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    controls: List[Tuple[str, str]] = dataclasses.field(default_factory=list)  # the page's own
    forms: List[Dict[str, Dict[str, str]]] = dataclasses.field(default_factory=list)  # hidden fields
    texts: List[str] = dataclasses.field(default_factory=list)
    speakers: List[str] = dataclasses.field(default_factory=list)
    listen_links: List[str] = dataclasses.field(default_factory=list)
    file_links: List[Dict[str, str]] = dataclasses.field(default_factory=list)  # attributes + text
    notice: str = ""
    textarea: str = ""
    tags: List[Tuple[str, Dict[str, str]]] = dataclasses.field(default_factory=list)
    inline_scripts: int = 0


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in: List[str] = []
        self._button: Tuple[str, str] = ("", "")
        self._script_has_src = True

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.page.tags.append((tag, attributes))
        classes = attributes.get("class", "").split()
        if tag == "form":
            self.page.forms.append({"attributes": attributes, "hidden": {}})
        if tag == "input" and attributes.get("type") == "hidden":
            self.page.hidden[attributes["name"]] = attributes.get("value", "")
            if self.page.forms:
                self.page.forms[-1]["hidden"][attributes["name"]] = attributes.get("value", "")
        if tag == "button" and attributes.get("name") == "payload":
            self._button = (attributes.get("value", ""), "")
            self._in.append("choice")
        elif tag == "button" and attributes.get("name") == "control":
            self._button = (attributes.get("value", ""), "")
            self._in.append("control")
        elif "text" in classes:
            self._in.append("text")
        elif "speaker" in classes:
            self._in.append("speaker")
        elif attributes.get("id") == "notice":
            self._in.append("notice")
        elif tag == "textarea":
            self._in.append("textarea")
        elif tag == "script":
            self._script_has_src = bool(attributes.get("src"))
            self._in.append("script")
        else:
            self._in.append("")
        if tag == "a" and "listen" in classes:
            self.page.listen_links.append(attributes["href"])
        if tag == "a" and "file" in classes:
            self.page.file_links.append({**attributes, "text": ""})
            self._in[-1] = "file"
        if tag in ("input", "meta", "link", "br"):
            self._in.pop()

    def handle_endtag(self, tag):
        if not self._in:
            return
        where = self._in.pop()
        if where == "choice":
            self.page.choices.append(self._button)
        if where == "control":
            self.page.controls.append(self._button)
        if where == "script" and not self._script_has_src:
            self.page.inline_scripts += 1

    def handle_data(self, data):
        where = next((w for w in reversed(self._in) if w), "")
        if where in ("choice", "control"):
            self._button = (self._button[0], self._button[1] + data)
        elif where == "text" and self._in[-1] == "text":
            self.page.texts.append(data)
        elif where == "speaker" and self._in[-1] == "speaker":
            self.page.speakers.append(data)
        elif where == "notice":
            self.page.notice += data
        elif where == "textarea":
            self.page.textarea += data
        elif where == "file":
            self.page.file_links[-1]["text"] += data
        elif where == "script" and data.strip():
            self.page.inline_scripts += 1


def read_page(html: str) -> Page:
    """Parse a chat page."""
    reader = _Reader()
    reader.feed(html)
    return reader.page
