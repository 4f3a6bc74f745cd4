"""Themes on answers: the tagger suggests, the participant checks, a person's choice is kept."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.engagement import Engagement
from bot.store import safeguarding_queries, theme_queries
from bot.store.db import is_missing_table
from bot.store.models import Answer

log = logging.getLogger(__name__)


class ThemesRefused(ValueError):
    """A staff member's themes for an answer were not stored; the message says why."""


class TaggingService:
    """Tags answers with the engagement's themes and records the participant's check."""

    def __init__(self, sessions: sessionmaker, engagement: Engagement,
                 load_tagger: Callable[[], object], model_path: Optional[Path] = None,
                 reload_tagger: Optional[Callable[[], object]] = None):
        self._sessions = sessions
        self.engagement = engagement
        self._load_tagger = load_tagger
        # The saved tagger's file: when `coproduce themes train` replaces it, the next answer
        # is tagged by the new one (read by reload_tagger, which never trains), no restart.
        self._model_path = Path(model_path) if model_path is not None else None
        self._reload_tagger = reload_tagger or load_tagger
        self._model_stamp = None
        self._tagger = None
        self._lock = threading.Lock()

    def tagger(self):
        """The theme tagger, loaded (or trained) on first use, and again once its file changes."""
        with self._lock:
            if self._tagger is None:
                self._tagger = self._load_tagger()
                self._model_stamp = self._stamp()
            elif self._model_path is not None and self._stamp() != self._model_stamp:
                self._reload()
            return self._tagger

    def _stamp(self):
        """When the saved tagger last changed, and its size (None if there is no file)."""
        try:
            stat = self._model_path.stat() if self._model_path is not None else None
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size) if stat else None

    def _reload(self) -> None:
        """Use the tagger saved since it was loaded; on failure keep the one in use."""
        stamp = self._stamp()
        if stamp is None:  # the file went: the tagger in memory is still good
            return
        try:
            tagger = self._reload_tagger()
        except Exception as error:  # noqa: BLE001 - a bad file must not stop the conversation
            log.warning("Kept the theme tagger in use: the new one could not be loaded (%s)",
                        str(error).splitlines()[0] if str(error) else error.__class__.__name__)
        else:
            self._tagger = tagger
            log.info("Loaded the theme tagger again: %s changed", self._model_path)
        self._model_stamp = self._stamp()  # tried once per change

    def suggest(self, texts: Sequence[str]):
        """The tagger's themes and scores for each text."""
        return self.tagger().tag(list(texts))

    def tag_answer(self, answer_id: int) -> List[str]:
        """Tag one answer automatically (never a flagged one); returns its theme ids."""
        with self._sessions.begin() as session:
            answer = session.get(Answer, answer_id)
            if answer is None or answer.flagged:
                return []
            result = self.suggest([answer.text])[0]
            known = [t for t in result.themes if self.engagement.theme_by_id(t)]
            theme_queries.set_auto_tags(session, answer_id=answer_id, scores=result.scores,
                                        themes=known)
            return [tag.theme_id for tag in theme_queries.tags_of(session, answer_id=answer_id)]

    def themes_of(self, answer_id: int) -> List[str]:
        """The theme ids on an answer now."""
        with self._sessions() as session:
            return [t.theme_id for t in theme_queries.tags_of(session, answer_id=answer_id)]

    def confirm(self, answer_id: int, shown: Optional[Sequence[str]] = None) -> None:
        """The participant agrees with the suggested themes: they become theirs. shown: the
        themes they were shown (the tags may have changed since, if the tagger was retrained);
        None: the answer's themes now."""
        with self._sessions.begin() as session:
            tags = theme_queries.tags_of(session, answer_id=answer_id)
            themes = [t.theme_id for t in tags] if shown is None \
                else [t for t in shown if self.engagement.theme_by_id(t)]
            theme_queries.set_person_tags(session, answer_id=answer_id, source="participant",
                                          themes=themes,
                                          scores={t.theme_id: t.score for t in tags})

    def choose(self, answer_id: int, themes: Sequence[str], source: str = "participant") -> None:
        """A person picked these themes (possibly none) for the answer; each keeps the tagger's
        score for it beside the person's choice."""
        unknown = [t for t in themes if not self.engagement.theme_by_id(t)]
        if unknown:
            raise ValueError(f"Unknown theme: {', '.join(unknown)}")
        with self._sessions.begin() as session:
            answer = session.get(Answer, answer_id)
            scores = self.scores_at_hand(answer.text) if answer is not None and themes else {}
            theme_queries.set_person_tags(session, answer_id=answer_id, themes=themes,
                                          source=source, scores=scores)

    def scores_at_hand(self, text: str) -> dict:
        """The tagger's scores for these words, to keep beside a person's tags: from the tagger
        in use or the saved one, never one trained for it (a person's choice does not wait);
        {} when there is none."""
        with self._lock:
            if self._tagger is None and self._model_path is not None and self._model_path.exists():
                try:
                    self._tagger = self._reload_tagger()
                    self._model_stamp = self._stamp()
                except Exception as error:  # noqa: BLE001 - the tags are kept without scores
                    log.warning("No scores for a person's themes: the saved tagger could not be "
                                "loaded (%s)", str(error).splitlines()[0] if str(error) else error)
            tagger = self._tagger
        if tagger is None:
            return {}
        try:
            return dict(tagger.tag([text])[0].scores)
        except Exception as error:  # noqa: BLE001 - as above
            log.warning("No scores for a person's themes: %s", error)
            return {}

    def check_theme_ids(self, themes: Sequence[str]) -> None:
        """Raise ThemesRefused naming the ids the engagement does not have, and the ones it has."""
        unknown = [theme for theme in themes if self.engagement.theme_by_id(theme) is None]
        if unknown:
            what = "theme ids" if len(unknown) > 1 else "theme id"
            raise ThemesRefused(
                f"Unknown {what} {', '.join(repr(theme) for theme in unknown)}. "
                f"The themes are: {', '.join(theme.id for theme in self.engagement.themes)}.")

    def set_by_staff(self, answer_id: int, themes: Sequence[str], *, actor: str) -> None:
        """A staff member set the answer's themes (possibly none): checked, stored with source
        `staff` and written to the audit log (who, which answer, which themes; never the words)
        in one transaction, so neither is ever kept without the other. Raises ThemesRefused,
        changing nothing, for an unknown theme id, a missing answer or one held apart for
        safeguarding (never themed unless the lead dismisses its alert as a false alarm)."""
        from bot.store import staff_queries

        themes = list(dict.fromkeys(themes))
        self.check_theme_ids(themes)
        scores = {}
        if themes:  # worked out before the answer is locked: reading the tagger takes a moment
            with self._sessions() as session:
                answer = session.get(Answer, answer_id)
                text = answer.text if answer is not None and not answer.flagged else None
            scores = self.scores_at_hand(text) if text is not None else {}
        with self._sessions.begin() as session:
            # Locked (on PostgreSQL) so a flag raised meanwhile is seen before the themes go in.
            answer = session.get(Answer, answer_id, with_for_update=True)
            if answer is None:
                raise ThemesRefused(f"There is no answer with id {answer_id}.")
            if answer.flagged:
                raise ThemesRefused(_held_apart(session, answer_id))
            theme_queries.set_person_tags(session, answer_id=answer_id, themes=themes, source="staff",
                                          scores=scores)
            staff_queries.add_audit(session, actor=actor, action="themes_set",
                                    detail={"answer_id": answer_id, "themes": themes})

    def labels(self, theme_ids: Sequence[str]) -> str:
        """Theme ids as participants see them (picture and easy name), one to a line."""
        return "\n".join(self.engagement.theme_by_id(t).label for t in theme_ids
                         if self.engagement.theme_by_id(t))

    def retag_all(self) -> int:
        """Tag again every answer no person has tagged; returns how many."""
        with self._sessions() as session:
            ids = [a.id for a in theme_queries.answers_to_tag(session)]
        for answer_id in ids:
            self.tag_answer(answer_id)
        return len(ids)

    def confirmed_examples(self) -> List[tuple]:
        """(text, theme ids) a participant or staff member confirmed, for retraining."""
        with self._sessions() as session:
            return theme_queries.person_tagged_examples(session)

    def confirmed_for_training(self, *, strict: bool = False) -> List[tuple]:
        """confirmed_examples(), or none when the store is not set up yet or (unless strict, as for
        `coproduce themes train`) cannot be read: a running assistant trains on without them."""
        try:
            return self.confirmed_examples()
        except SQLAlchemyError as error:
            if is_missing_table(error):  # a store not set up yet
                log.log(logging.WARNING if strict else logging.INFO,
                        "No answers stored yet (the database is not set up): "
                        "training on the repository's examples only")
            elif strict:
                raise
            else:
                log.warning("Could not read the confirmed tags from the store (%s); "
                            "training on the repository's examples only", str(error).splitlines()[0])
            return []

    def set_tagger(self, tagger: Optional[object]) -> None:
        """Use this tagger from now on (after retraining)."""
        with self._lock:
            self._tagger = tagger
            self._model_stamp = self._stamp()


def _held_apart(session, answer_id: int) -> str:
    """Why a flagged answer takes no themes, as things stand now: its alert is still open, or the
    lead resolved it without dismissing it (only a dismissal, of an open alert, puts it back)."""
    from bot.store.staff_queries import as_utc

    alerts = safeguarding_queries.alerts_on_answer(session, answer_id=answer_id)
    if not alerts or any(alert.status != "resolved" for alert in alerts):
        return (f"Answer {answer_id} is flagged for safeguarding: it is kept out of themes "
                "until the safeguarding lead resolves its alert (`coproduce safeguarding list`).")
    alert = alerts[-1]
    moment = as_utc(alert.resolved_at)
    when = f" on {moment:%Y-%m-%d %H:%M} UTC" if moment else ""
    return (f"Answer {answer_id} is flagged for safeguarding: the safeguarding lead resolved its "
            f"alert {alert.id}{when} ({alert.resolved_action} by {alert.resolved_by}) without "
            "dismissing it as a false alarm, so it stays out of themes (`coproduce safeguarding "
            "list --all`).")
