"""Wire the application in one place: engine, sessions, engagement and services from settings."""
from __future__ import annotations

import dataclasses
import threading
from typing import Optional

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.conversation import ConversationService
from bot.engagement import Engagement, load_engagement
from bot.identity import Pseudonymizer, load_hash_key
from bot.settings import Settings
from bot.store.db import make_engine, make_session_factory


@dataclasses.dataclass
class Services:
    """Everything the actions, transports and CLI need, built once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    engagement: Engagement
    pseudonymizer: Pseudonymizer
    conversation: ConversationService


def build_services(settings: Settings) -> Services:
    """Build every service from settings; nothing here runs at import time."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    engagement = load_engagement(settings.engagement_file)
    pseudonymizer = Pseudonymizer(load_hash_key(settings))
    conversation = ConversationService(sessions, engagement, pseudonymizer)
    return Services(settings, engine, sessions, engagement, pseudonymizer, conversation)


_lock = threading.Lock()
_services: Optional[Services] = None


def get_services() -> Services:
    """The process-wide services, built from the environment on first use."""
    global _services
    with _lock:
        if _services is None:
            _services = build_services(Settings.from_env())
        return _services


def use_services(services: Optional[Services]) -> None:
    """Install the process-wide services (tests build their own with build_services)."""
    global _services
    with _lock:
        _services = services
