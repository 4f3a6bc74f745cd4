"""Pre-render every fixed response in Rasa's domain so participants never wait for audio."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

from bot.wording import read_domain_file, spoken_words

log = logging.getLogger(__name__)

# Rasa fills {slot} placeholders per conversation, so those texts cannot be rendered ahead.
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass
class WarmCounts:
    """What a warm-up did: texts found, newly rendered, already cached, skipped as templated, failed."""

    texts: int = 0
    rendered: int = 0
    cached: int = 0
    templated: int = 0
    failed: int = 0


def domain_texts(domain_path: Path) -> List[str]:
    """Every distinct response text in a domain file or folder, in order of appearance, and
    each as a voice note says it (its words, then the buttons' titles they do not say)."""
    seen: dict = {}
    for path in _domain_files(Path(domain_path)):
        responses = read_domain_file(path).get("responses") or {}
        for variations in responses.values():
            for variation in variations or []:
                text = variation.get("text") if isinstance(variation, dict) else None
                if isinstance(text, str) and text.strip():
                    seen.setdefault(text, None)
                    seen.setdefault(spoken_words(variation), None)
    return list(seen)


def warm_domain(service, domain_path: Path, progress: bool = True, *, language: str = "en") -> WarmCounts:
    """Render every fixed response text in the domain into the audio cache and return the counts."""
    from tqdm import tqdm

    texts = domain_texts(domain_path)
    counts = WarmCounts(texts=len(texts))
    for text in tqdm(texts, desc="Audio", unit="message", disable=not progress):
        if PLACEHOLDER.search(text):
            counts.templated += 1
            continue
        audio = service.synthesize(text, language)
        if audio is None:
            counts.failed += 1
        elif audio.from_cache:
            counts.cached += 1
        else:
            counts.rendered += 1
    log.info("Audio warm-up: %s", counts)
    return counts


def _domain_files(path: Path) -> Iterator[Path]:
    if not path.exists():
        raise FileNotFoundError(f"No domain file at {path}")
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
    else:
        yield path
