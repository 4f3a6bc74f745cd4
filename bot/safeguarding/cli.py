"""The `coproduce safeguarding` command group: check answers for disclosures of harm."""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import click

from bot.cli_options import ROW_ID, checked_actor, checked_note

from bot.safeguarding.detector import Detector, get_detector
from bot.safeguarding.phrasebook import PhraseBookError

log = logging.getLogger(__name__)


@click.group()
def safeguarding():
    """Safeguarding: spot answers that disclose harm or risk."""


@safeguarding.command()
@click.option(
    "--phrases",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Phrase file to use instead of data/safeguarding/phrases.yml.",
)
@click.option(
    "--details",
    is_flag=True,
    help="Also write categories, matched phrases and immediate_danger.",
)
def check(phrases: Path | None, details: bool):
    """Read JSON Lines with a "text" field on stdin; write each back with disclosure and score.

    A numeric "intent_confidence" field, when present, is used as the Rasa
    disclose_harm confidence. Blank lines are skipped. Every line is checked
    before any is written, so a bad line produces no partial output.
    """
    from bot.cli_options import utf8_lines

    records = [_parse(number, raw) for number, raw in utf8_lines(click.get_binary_stream("stdin"))]
    detector = _detector(phrases)
    for record in records:
        if record is None:
            continue
        found = detector.detect(record["text"], record.get("intent_confidence"))
        record["disclosure"] = found.disclosure
        record["score"] = round(found.score, 4)
        if details:
            record["categories"] = found.categories
            record["matched"] = found.matched
            record["immediate_danger"] = found.immediate_danger
        click.echo(json.dumps(record, ensure_ascii=False))


def _parse(number: int, line: str) -> dict | None:
    """One input line as a dict with a string "text", None for a blank line."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise click.ClickException(f'line {number}: expected a JSON object with a "text" field')
    if not isinstance(record.get("text"), str):
        what = "has no" if "text" not in record else "has a non-string"
        raise click.ClickException(f'line {number}: {what} "text" field')
    confidence = record.get("intent_confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not math.isfinite(confidence)
    ):
        raise click.ClickException(f'line {number}: "intent_confidence" must be a number')
    return record


def _detector(phrases: Path | None) -> Detector:
    try:
        return get_detector(phrases)
    except PhraseBookError as error:
        raise click.ClickException(str(error)) from None


if __name__ == "__main__":
    safeguarding(prog_name="coproduce safeguarding")


def _services(ctx: click.Context):
    from bot.app import build_services
    from bot.settings import Settings

    settings = ctx.find_object(Settings) or Settings.from_env()
    return build_services(settings, existing_database=True)


@safeguarding.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Show resolved alerts too.")
@click.pass_context
def list_alerts(ctx: click.Context, include_resolved: bool):
    """Show safeguarding alerts (open ones by default), newest first, word for word."""
    from bot.app import alert_route_problems
    from bot.safeguarding.alerts import decided_when, erasure_carried_out
    from bot.store import safeguarding_queries as store
    from bot.store.models import ERASURE_HELD, PURGE_HELD

    who_asked = {  # for a held erasure
        ERASURE_HELD: "the person asked for their answers to be deleted.",
        PURGE_HELD: "their data passed the retention period; `coproduce purge` deleted the rest.",
    }
    services = _services(ctx)
    with services.sessions.begin() as session:
        alerts = store.list_alerts(session, include_resolved=include_resolved)
        waiting = store.erasures_waiting(session)
        if not alerts:
            click.echo("No open safeguarding alerts." if not include_resolved else "No alerts.")
        for alert in alerts:
            danger = " IMMEDIATE DANGER" if alert.immediate_danger else ""
            delivered = "delivered" if alert.delivered_at else \
                f"NOT delivered ({alert.delivery_error or 'pending'})"
            click.echo(f"#{alert.id} {alert.created_at:%Y-%m-%d %H:%M} {alert.status}{danger} "
                       f"[{alert.categories or 'unclassified'}] {alert.channel}, "
                       f"{alert.role or 'role unknown'}, {delivered}")
            click.echo(f"    {json.dumps(alert.text, ensure_ascii=False)}")
            if alert.status == "resolved":
                click.echo(f"    Decided {decided_when(alert)}: {alert.resolved_action} by "
                           f"{alert.resolved_by}: {alert.resolved_note}")
            # The person may still wait on another of their alerts; not on one carried out already.
            if alert.participant_id in waiting and not erasure_carried_out(alert):
                click.echo(f"    ERASURE WAITING: {who_asked[waiting[alert.participant_id]]} "
                           f"{'Resolve this alert, then run' if alert.status == 'open' else 'Run'}"
                           f" `coproduce safeguarding erase {alert.id} --by NAME --note TEXT` "
                           "when it can go ahead.")
        store.add_audit(session, actor=_actor(), action="safeguarding_list",
                        detail=f"{len(alerts)} alerts shown")
    for problem in alert_route_problems(services.settings, services.engagement):
        click.echo(f"Warning: {problem}", err=True)


@safeguarding.command("resolve")
@click.argument("alert_id", type=ROW_ID)
@click.option("--by", "by", required=True, callback=checked_actor, help="Who looked at the alert.")
@click.option("--action", "action",
              type=click.Choice(["reassure", "report", "record", "dismiss"]), required=True,
              help="What was done; dismiss: a false alarm (the answer rejoins the others).")
@click.option("--note", required=True, callback=checked_note,
              help="What was done, in a sentence or two.")
@click.pass_context
def resolve(ctx: click.Context, alert_id: int, by: str, action: str, note: str):
    """Record who looked at an alert and what they did."""
    services = _services(ctx)
    try:
        dismissal = services.alerts.resolve(alert_id, by=by, action=action, note=note)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Alert {alert_id} is resolved ({action} by {by}).")
    if dismissal is None:
        return
    outcome, answer_id = dismissal
    if outcome == "erased":
        click.echo("The person had asked for their answers to be deleted: that is done now.")
        return
    if outcome == "purged":
        click.echo("Their data had passed the retention period, and `coproduce purge` had deleted "
                   "the rest: this answer is deleted now too.")
        return
    if outcome == "not an answer":
        click.echo("The message was not an answer to a question, so there is no answer to put "
                   "back; the alert keeps its words.")
        return
    try:
        services.tagging.tag_answer(answer_id)
    except Exception as error:  # noqa: BLE001 - the decision is kept; themes can come later
        log.warning("Could not theme the answer: %s", (str(error).splitlines() or [""])[0])
    click.echo("The answer is no longer held apart: it is in themes, reports and exports again.")


@safeguarding.command("erase")
@click.argument("alert_id", type=ROW_ID)
@click.option("--by", "by", required=True, callback=checked_actor, help="Who decided.")
@click.option("--note", required=True, callback=checked_note,
              help="Why the erasure can go ahead, in a sentence.")
@click.pass_context
def erase(ctx: click.Context, alert_id: int, by: str, note: str):
    """Carry out an erasure (the person's request, or a purge) that waited for your review of
    this alert."""
    services = _services(ctx)
    try:
        deleted = services.alerts.finish_erasure(alert_id, by=by, note=note)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Done: {deleted} answer{'s' if deleted != 1 else ''} deleted. Alert {alert_id} "
               "keeps your decision, not the words.")


def _actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
