"""Wire the application in one place: engine, sessions, engagement and services from settings."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import List, Optional

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.conversation import ConversationService
from bot.data_rights import DataRights
from bot.engagement import Engagement, load_engagement
from bot.identity import Pseudonymizer
from bot.safeguarding.alerts import AlertService, EmailRoute
from bot.settings import Settings
from bot.speech.cache import AudioCache
from bot.tagging import TaggingService
from bot.store.db import make_engine, make_session_factory

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Services:
    """Everything the actions, transports and CLI need, built once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    engagement: Engagement
    pseudonymizer: Pseudonymizer
    conversation: ConversationService
    alerts: AlertService
    data_rights: DataRights
    tagging: TaggingService


def build_services(settings: Settings, *, existing_database: bool = False) -> Services:
    """Build every service from settings; nothing here runs at import time.

    existing_database: for commands that work on stored data; an SQLite file that is not there
    is then an error (DatabaseMissingError), not a new empty database.
    """
    engine = make_engine(settings.database_url, must_exist=existing_database)
    try:
        if existing_database:  # a staff command: never on a schema it does not know
            from bot.store.migrate import require_current

            require_current(engine)
        pseudonymizer = Pseudonymizer(_checked_key(settings, engine))
    except BaseException:
        engine.dispose()
        raise
    sessions = make_session_factory(engine)
    engagement = load_engagement(settings.engagement_file)
    alerts = AlertService(sessions, alert_routes(settings, engagement))
    conversation = ConversationService(sessions, engagement, pseudonymizer, alerts)
    tracker_engines = []

    def events_engine():
        from bot.store.tracker import tracker_engine

        if not tracker_engines:
            tracker_engines.append(tracker_engine(settings))
        return tracker_engines[0]

    def delete_conversation(sender_id: str) -> int:
        from bot.store.tracker import delete_conversation as delete_events

        return delete_events(events_engine(), sender_id)

    def delete_written_back(sender_id: str) -> int:
        from bot.store.tracker import delete_written_back as delete_events

        return delete_events(events_engine(), sender_id)

    data_rights = DataRights(sessions, pseudonymizer.pseudonym, delete_conversation,
                             audio=AudioCache(settings.audio_dir),
                             delete_written_back=delete_written_back)
    tagging = TaggingService(sessions, engagement,
                             lambda: load_tagger(settings, engagement, tagging.confirmed_for_training),
                             model_path=settings.themes_model,
                             reload_tagger=lambda: read_tagger(settings, engagement))
    return Services(settings, engine, sessions, engagement, pseudonymizer, conversation, alerts,
                    data_rights, tagging)


def _checked_key(settings: Settings, engine: Engine) -> bytes:
    """The hashing key, refused (HashKeyError) if the store's pseudonyms were made with another.
    A database that cannot be reached now is checked by the next process that can reach it
    (`coproduce serve` checks it before starting anything)."""
    from sqlalchemy.exc import DBAPIError

    from bot.identity import load_hash_key
    from bot.store.key_check import check_settings_key

    try:
        return check_settings_key(settings, engine)
    except DBAPIError as error:
        log.warning("Could not check the hashing key against the database: %s",
                    (str(getattr(error, "orig", None) or error).splitlines() or [""])[0])
        return load_hash_key(settings)


def load_tagger(settings: Settings, engagement: Engagement, confirmed=None):
    """The theme tagger for this engagement's themes, trained on first use if missing or stale.

    confirmed: a callable giving the (text, theme ids) people confirmed; read only if the tagger
    has to be trained, so their corrections are never lost to a retraining.
    """
    from bot.themes.loading import load_or_train

    def extra():  # a generator: the store is read only if the tagger is trained
        if confirmed is not None:
            yield from confirmed()

    return load_or_train(settings.themes_model, themes=[t.id for t in engagement.themes],
                         extra_examples=extra())


def read_tagger(settings: Settings, engagement: Engagement):
    """The saved theme tagger, read as it is (never trained here: a running assistant must not
    stop to train); one for other themes is refused."""
    from bot.themes.tagger import TaggerError, ThemeTagger

    tagger = ThemeTagger.load(settings.themes_model)
    if set(tagger.theme_ids) != {theme.id for theme in engagement.themes}:
        raise TaggerError(f"{settings.themes_model} knows other themes than the engagement's")
    return tagger


def alert_routes(settings: Settings, engagement: Engagement) -> list:
    """The routes that reach the safeguarding lead, from the engagement and settings."""
    routes = []
    if engagement.alert_email and settings.smtp_host:
        routes.append(EmailRoute(to_address=engagement.alert_email, host=settings.smtp_host,
                                 port=settings.smtp_port, sender=settings.smtp_from,
                                 user=settings.smtp_user, password=settings.smtp_password))
    if engagement.alert_telegram_chat_id and settings.telegram_bot_token:
        from bot.telegram.alert_route import TelegramAlertRoute

        routes.append(TelegramAlertRoute(settings, engagement.alert_telegram_chat_id))
    return routes


def alert_route_problems(settings: Settings, engagement: Engagement) -> List[str]:
    """Why a safeguarding alert would not reach the lead at once, in plain words (none when
    every route set up can send)."""
    problems = []
    if engagement.alert_email and not settings.smtp_host:
        problems.append(f"engagement.yml sends safeguarding alerts to {engagement.alert_email}, "
                        "but COPRODUCE_SMTP_HOST is not set, so no e-mail can go.")
    if engagement.alert_telegram_chat_id and not settings.telegram_bot_token:
        problems.append("engagement.yml sends safeguarding alerts to a Telegram chat, but "
                        "TELEGRAM_BOT_TOKEN is not set, so none can go there.")
    if not engagement.alert_email and not engagement.alert_telegram_chat_id:
        problems.append("Safeguarding alerts go to nobody at once: engagement.yml sets neither "
                        "alert_email nor alert_telegram_chat_id.")
    if problems and not alert_routes(settings, engagement):
        problems[-1] += " Until one is set up, alerts only wait in `coproduce safeguarding list`."
    return problems


_lock = threading.Lock()
_services: Optional[Services] = None


def get_services() -> Services:
    """The process-wide services, built from the environment on first use."""
    global _services
    with _lock:
        if _services is None:
            _services = build_services(Settings.from_env())
        return _services


def warm_up() -> None:
    """Build the services, load the theme tagger and train the safeguarding model now, so the
    first participant's answer does not wait for them (the action server calls this in a
    thread at start; each part is built once, under its own lock)."""
    from bot.safeguarding.detector import get_detector

    started = time.monotonic()
    try:
        services = get_services()
        get_detector().model()
        services.tagging.tagger()
    except Exception:  # noqa: BLE001 - the first answer will try again and report it
        log.exception("Warming up the action server failed; the first answer will try again")
        return
    log.info("The action server is warm (services, safeguarding model, theme tagger) in %.1f s",
             time.monotonic() - started)


def use_services(services: Optional[Services]) -> None:
    """Install the process-wide services (tests build their own with build_services)."""
    global _services
    with _lock:
        _services = services
