"""One settings object for the whole product, read once from the environment."""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "COPRODUCE_"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting the product reads; environment variables are COPRODUCE_<NAME>."""

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    engagement_file: Path = PROJECT_ROOT / "engagement.yml"
    hash_key: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_host: str = "127.0.0.1"
    action_port: int = 5055
    rasa_config: Path = PROJECT_ROOT / "config.yml"
    models_dir: Path = PROJECT_ROOT / "models"
    tts: str = "auto"
    gtts_timeout: float = 2.0
    gtts_url: str = ""
    tts_breaker_seconds: float = 300.0
    audio_dir: Path = PROJECT_ROOT / "var" / "audio"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    telegram_bot_token: str = ""
    telegram_base_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "coproduce@localhost"
    retention_days: int = 365
    themes_model: Path = Path("")
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides) -> "Settings":
        """Build settings from COPRODUCE_* variables (and TELEGRAM_*), then apply overrides."""
        env = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if field.name.startswith("telegram_"):
                raw = env.get(field.name.upper(), raw)
            if raw is None or raw == "":
                continue
            values[field.name] = _convert(field.type, raw, PREFIX + field.name.upper(),
                                          UNITS.get(field.name, ""))
        values.update(overrides)
        settings = cls(**values)
        var_dir = Path(settings.var_dir)
        fixes = {}
        if "audio_dir" not in values:
            fixes["audio_dir"] = var_dir / "audio"
        if not str(values.get("themes_model", "")) or str(values.get("themes_model")) == ".":
            fixes["themes_model"] = var_dir / "themes" / "tagger.npz"
        if not settings.database_url:
            fixes["database_url"] = f"sqlite:///{var_dir / 'coproduce.db'}"
        if "rasa_url" not in values:
            fixes["rasa_url"] = f"http://{settings.rasa_host}:{settings.rasa_port}"
        return dataclasses.replace(settings, **fixes) if fixes else settings

    @property
    def action_url(self) -> str:
        """Where the Rasa server finds the action server's webhook."""
        return f"http://{self.action_host}:{self.action_port}/webhook"

    def to_env(self) -> dict:
        """These settings as environment variables, for child processes."""
        env = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value in ("", None):
                continue
            name = field.name.upper() if field.name.startswith("telegram_") \
                else PREFIX + field.name.upper()
            env[name] = str(value)
        return env


# What a number setting counts, for the message when it is not a number.
UNITS = {"retention_days": " of days", "gtts_timeout": " of seconds",
         "tts_breaker_seconds": " of seconds"}


def _convert(kind, raw: str, name: str, unit: str = ""):
    """The variable's text as the field's type; a ValueError naming the variable if it is not."""
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise ValueError(f"{name} must be {what}{unit}, not {raw!r}.") from None
    if kind == "Path":
        return Path(raw)
    return raw
