"""Small text clean-ups shared by the chat and the command line."""
from __future__ import annotations

import re

# Half of a UTF-16 pair, which JSON can carry ("\\ud800") but no database or UTF-8 file can hold.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def without_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD, the replacement character."""
    return _LONE_SURROGATE.sub(REPLACEMENT, text)
