"""Train the Rasa model only when the training data or config changed (a content hash)."""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import sys
from pathlib import Path
from typing import Callable, Iterable, List

from bot.settings import Settings

log = logging.getLogger(__name__)
TRAINING_INPUTS = ("domain.yml", "nlu", "stories")


def training_files(root: Path, config: Path) -> List[Path]:
    """Every file whose content decides the model, in a stable order."""
    files: List[Path] = [Path(config)]
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")))
        elif path.exists():
            files.append(path)
    return files


def content_hash(files: Iterable[Path], root: Path) -> str:
    """A short hash of the files' names and contents."""
    digest = hashlib.sha256()
    for path in files:
        name = str(Path(path).resolve().relative_to(root.resolve())) \
            if Path(path).resolve().is_relative_to(root.resolve()) else Path(path).name
        digest.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    """Where the model for the current data and config lives (it may not exist yet)."""
    root = Path(settings.project_root)
    digest = content_hash(training_files(root, settings.rasa_config), root)
    return Path(settings.models_dir) / f"coproduce-{digest}.tar.gz"


def ensure_model(settings: Settings, force: bool = False,
                 announce: Callable[[str], None] = log.info) -> Path:
    """Train a model unless one for exactly this data and config already exists."""
    target = model_path(settings)
    if target.exists() and not force:
        log.info("Model is up to date: %s", target.name)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One trainer at a time; a process that waited finds the model made and skips training.
    with open(target.parent / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            return target
        _train(settings, target, announce)
    return target


def _train(settings: Settings, target: Path, announce: Callable[[str], None]) -> None:
    """Train into a scratch folder, then move the model into place in one step."""
    root = Path(settings.project_root)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as scratch:
        command = [sys.executable, "-m", "rasa", "train", "--config", str(settings.rasa_config),
                   "--domain", str(root / "domain.yml"), "--data", str(root / "nlu"),
                   str(root / "stories"), "--out", scratch,
                   "--fixed-model-name", target.name[: -len(".tar.gz")]]
        log_path = Path(settings.var_dir) / "logs" / "train.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        announce("Training the Rasa model, because the data or config changed "
                 f"(a minute or two; the log is in {log_path}) ...")
        with open(log_path, "wb") as log_file:
            from bot.servers import RASA_QUIET

            result = subprocess.run(command, cwd=root, stdout=log_file, stderr=subprocess.STDOUT,
                                    env={**os.environ, **RASA_QUIET})
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError("rasa train failed: " + " | ".join(tail))
        os.replace(Path(scratch) / target.name, target)
