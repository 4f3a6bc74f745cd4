"""Read the assistant's wording from domain.yml, for transports that speak without Rasa."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, List

import yaml


@functools.lru_cache(maxsize=8)
def load_responses(domain_path: Path) -> Dict[str, List[dict]]:
    """Every response in domain.yml: name to its list of variations."""
    data = yaml.safe_load(Path(domain_path).read_text(encoding="utf-8")) or {}
    return data.get("responses") or {}


def response_text(domain_path: Path, name: str, **values: str) -> str:
    """The first variation of a response, with {placeholders} filled in."""
    variations = load_responses(Path(domain_path)).get(name)
    if not variations:
        raise KeyError(f"domain.yml has no response called {name}")
    text = variations[0].get("text", "")
    return text.format(**values) if values else text
