"""The disk cache of rendered messages: atomic writes and one renderer per message."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock, but os.replace still keeps files whole.
    fcntl = None

log = logging.getLogger(__name__)

# Bump when the encoding changes so old files are not served for new settings.
FORMAT_VERSION = "1"
LOCK_BUCKETS = 2  # hex digits: 256 lock files at most, whatever the number of messages
# Messages that carry a participant's own words live apart, one folder per participant (named by
# their pseudonym), so erasing or purging the participant removes that audio too.
PERSONAL = "personal"
_OWNER = re.compile(r"^[0-9a-f]{8,64}$")


def entry_key(*, engine: str, voice: str, language: str, text: str) -> str:
    """The cache key for one message read by one engine and voice."""
    raw = "\0".join((FORMAT_VERSION, engine, voice, language, text))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def message_key(*, language: str, text: str) -> str:
    """The key for a message whatever engine reads it, used to make renderers take turns."""
    return hashlib.sha256("\0".join((language, text)).encode("utf-8")).hexdigest()


class AudioCache:
    """Rendered messages as `<root>/<ab>/<key>.ogg` and `.mp3`; a file present is always complete."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._guard = threading.Lock()
        self._locks: dict = {}

    def paths(self, key: str, owner: Optional[str] = None) -> Tuple[Path, Path]:
        """The OGG/Opus and MP3 paths for a key (in the owner's own folder when owner is given)."""
        folder = self.owner_folder(owner) if owner else self.root / key[:2]
        return folder / f"{key}.ogg", folder / f"{key}.mp3"

    def owner_folder(self, owner: str) -> Path:
        """The folder of one participant's personal messages; owner is their pseudonym."""
        if not _OWNER.match(owner):
            raise ValueError("an audio owner must be a pseudonym (hex)")
        return self.root / PERSONAL / owner

    def erase_owner(self, owner: str) -> int:
        """Delete a participant's personal audio; return how many files went."""
        if not _OWNER.match(owner):  # not a pseudonym: no folder can be named after it
            return 0
        folder = self.owner_folder(owner)
        if not folder.is_dir():
            return 0
        count = sum(1 for path in folder.iterdir() if path.suffix in (".ogg", ".mp3"))
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def personal_owners(self, untouched_since: Optional[float] = None) -> List[str]:
        """Pseudonyms with personal audio (only those whose folder is older than a time, if given)."""
        folder = self.root / PERSONAL
        if not folder.is_dir():
            return []
        return sorted(path.name for path in folder.iterdir()
                      if path.is_dir() and _OWNER.match(path.name)
                      and (untouched_since is None or path.stat().st_mtime < untouched_since))

    def get(self, key: str, owner: Optional[str] = None) -> Optional[Tuple[Path, Path]]:
        """The two files for a key, or None unless both exist."""
        ogg, mp3 = self.paths(key, owner)
        # The OGG is written last, so checking it first is the cheap miss.
        if ogg.exists() and mp3.exists():
            return ogg, mp3
        return None

    def put(self, key: str, *, ogg: bytes, mp3: bytes, owner: Optional[str] = None) -> Tuple[Path, Path]:
        """Store both files atomically (MP3 first, OGG last) and return their paths."""
        ogg_path, mp3_path = self.paths(key, owner)
        ogg_path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(mp3_path, mp3)
        _write_atomic(ogg_path, ogg)
        return ogg_path, mp3_path

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the lock for a message: a thread lock per key, plus a file lock shared by processes."""
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0], self._file_lock(key):
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    @contextlib.contextmanager
    def _file_lock(self, key: str) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{key[:LOCK_BUCKETS]}.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_atomic(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
