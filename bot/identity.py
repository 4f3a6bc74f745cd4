"""Pseudonymous participant ids: a keyed hash of the channel's user id, never the id itself."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Optional, Tuple

from bot.settings import Settings

log = logging.getLogger(__name__)
KEY_FILE = "secret.key"
KEY_CHECK_TEXT = b"coproduce: the key that made this store"


def load_hash_key(settings: Settings) -> bytes:
    """The hashing key: COPRODUCE_HASH_KEY, else var/secret.key, generated on first use."""
    return read_or_make_key(settings)[0]


def read_or_make_key(settings: Settings) -> Tuple[bytes, Optional[Path]]:
    """The hashing key, and the key file if this call made it (None when it was there already,
    or the key comes from COPRODUCE_HASH_KEY)."""
    if settings.hash_key:
        return settings.hash_key.encode("utf-8"), None
    path = key_path(settings)
    made = None
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            log.info("Generated a new hashing key in %s", path)
            made = path
    return path.read_text().strip().encode("utf-8"), made


def key_path(settings: Settings) -> Path:
    """Where the hashing key is kept when COPRODUCE_HASH_KEY does not give it."""
    return Path(settings.var_dir) / KEY_FILE


def key_digest(key: bytes) -> str:
    """A keyed hash of a fixed text: tells keys apart without keeping or showing the key."""
    return hmac.new(key, KEY_CHECK_TEXT, hashlib.sha256).hexdigest()


class Pseudonymizer:
    """Turns a user id on a channel into a stable pseudonym with a secret key."""

    def __init__(self, key: bytes):
        self._key = key

    def pseudonym(self, user_id: str, channel: str = "") -> str:
        """A 32-character hex pseudonym for this user id (and channel, if given)."""
        message = f"{channel}:{user_id}" if channel else str(user_id)
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
