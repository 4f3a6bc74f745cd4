"""Which messages carry a participant's own words, so their audio is kept apart and erased with them.

A domain response whose template has a placeholder filled from what the participant said
(`{answer}` in "Thank you. You said: {answer}") makes personal audio; every other message is
the same for everyone and shared in the audio cache.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Pattern, Sequence

# Placeholders that Rasa fills with the participant's own words.
PARTICIPANT_PLACEHOLDERS = ("answer",)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def personal_patterns(domain_path: Path, placeholders: Sequence[str] = PARTICIPANT_PLACEHOLDERS) -> List[Pattern]:
    """A pattern per domain response that carries the participant's words, matching its spoken text."""
    from bot.speech.service import speakable
    from bot.speech.warm import domain_texts

    patterns = []
    for template in domain_texts(domain_path):
        names = _PLACEHOLDER.findall(template)
        if not any(name in placeholders for name in names):
            continue
        pieces, last = [], 0
        spoken = speakable(template)
        for found in _PLACEHOLDER.finditer(spoken):
            pieces.append(re.escape(spoken[last:found.start()]))
            pieces.append(r".+" if found.group(1) in placeholders else r".*?")
            last = found.end()
        pieces.append(re.escape(spoken[last:]))
        patterns.append(re.compile("".join(pieces), re.DOTALL))
    return patterns
