"""`coproduce report`: exact counts, escaped quotes, no flagged answers, self-contained, Easy
Read."""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import stat
import subprocess
import sys
from collections import Counter

from click.testing import CliRunner
from sqlalchemy import select

from bot.readability import check
from bot.staff.cli import report
from bot.staff.report import QuestionFigures, ReportData, ThemeFigures, render_report
from bot.store import staff_queries
from bot.store.models import Answer, AnswerTheme, Participant, StaffAction
from tests.staff.staff_data import parse_html, utc

FLAGGED_TEXT = "someone hurts me"


def make_report(world, tmp_path, *options):
    out = tmp_path / "report.html"
    result = CliRunner(mix_stderr=False).invoke(report, ["--out", str(out), "--by", "tester",
                                                         *options], obj=world.settings,
                                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8"), result


def store_figures(world):
    """The report's numbers worked out from the raw rows, independently of the report's SQL."""
    with world.session() as session:
        answers = session.execute(select(Answer).where(Answer.flagged.is_(False))).scalars().all()
        tags = session.execute(select(AnswerTheme)).scalars().all()
        chosen = {p.id: p.role for p in session.execute(select(Participant)).scalars()}
    by_answer = {}
    for tag in tags:
        by_answer.setdefault(tag.answer_id, []).append(tag)
    themes = Counter()
    for answer in answers:
        own = by_answer.get(answer.id, [])
        human = [t.theme_id for t in own if t.source != "auto"]
        themes.update(set(human or [t.theme_id for t in own]))
    # A person counts once under each role they answered in (old answers: their chosen role).
    people = Counter(role for _, role in {(a.participant_id, a.role or chosen[a.participant_id])
                                          for a in answers})
    return {"people": people, "everyone": len({a.participant_id for a in answers}),
            "answers": len(answers), "themes": themes,
            "questions": Counter(a.question_id for a in answers),
            "unthemed": sum(1 for a in answers if a.id not in by_answer)}


def test_report_counts_match_the_store(world, tmp_path):
    """Every number in the report is exactly what the store holds (flagged answers left out)."""
    html, result = make_report(world, tmp_path)
    page = parse_html(html)
    assert page.tables["people-by-role"] == [
        ["Role", "People"], ["Answered for themselves", "2"],
        ["Answered for someone they care for", "1"], ["Support worker", "1"],
        ["All people, each counted once", "4"]]
    assert page.tables["answers-by-theme"] == [
        ["Theme", "Answers"], ["Being safe", "2"], ["Having a purpose", "3"], ["Friends", "2"],
        ["Money", "0"], ["None of the themes (a person said so)", "0"], ["No theme yet", "2"]]
    assert page.tables["answers-by-question"] == [
        ["Question", "Answers"], ["What makes a good life for you?", "5"],
        ["What helps you to have a good life?", "3"], ["All questions", "8"]]
    summary = next(text for name, attrs, text in page.blocks if attrs.get("class") == "summary")
    assert summary == "4 people took part. They gave 8 answers."
    assert result.stdout.strip().endswith("4 people, 8 answers.")
    figures = store_figures(world)
    assert figures["people"] == {"self": 2, "on_behalf": 1, "support_worker": 1}
    assert figures["everyone"] == 4
    assert people_note(page) == (
        "Each answer keeps the role the person answered in. Someone who answered in more than "
        "one role is counted under each of those roles, so the roles can add up to more than "
        "all people. 0 people answered in more than one role.")
    assert figures["answers"] == 8 and figures["unthemed"] == 2
    assert figures["themes"] == {"being_safe": 2, "purpose": 3, "friends": 2}
    assert figures["questions"] == {"good_life": 5, "what_helps": 3}


def test_an_answer_a_person_said_fits_no_theme_is_not_waiting_for_one(world, tmp_path):
    """'No theme yet' counts only answers nobody has decided on; an answer whose themes a person
    set to none is counted apart, so staff do not look for work that was done."""
    add_answer(world, "pseud-dan", "n1", role="self")
    with world.session() as session:
        session.get(Answer, world.answers["n1"]).themes_set_by = "participant"
        session.commit()
    html, _ = make_report(world, tmp_path)
    rows = parse_html(html).tables["answers-by-theme"]
    assert rows[-2:] == [["None of the themes (a person said so)", "1"], ["No theme yet", "2"]]


def people_note(page) -> str:
    """The note under the people table that explains how people are counted by role."""
    return next(text for _, attrs, text in page.blocks if attrs.get("id") == "people-note")


def add_answer(world, pseudonym, key, *, role, flagged=False, when="2025-03-10T10:00"):
    """Store one more answer for a participant of the known data set, in this role."""
    with world.session() as session:
        answer = Answer(participant_id=world.participants[pseudonym], question_id="good_life",
                        text=f"Answer {key}", role=role, channel="web", channel_message_id=key,
                        flagged=flagged, created_at=utc(when))
        session.add(answer)
        session.commit()
        world.answers[key] = answer.id


def set_chosen_role(world, pseudonym, role):
    """Change the role a participant of the known data set chose last."""
    with world.session() as session:
        session.get(Participant, world.participants[pseudonym]).role = role
        session.commit()


def test_a_carer_who_also_answered_for_themselves_counts_under_both_roles(world, tmp_path):
    """People count under every role of their unflagged answers; the total counts them once."""
    set_chosen_role(world, "pseud-bob", "self")  # Bob answered twice for his son, now for himself
    add_answer(world, "pseud-bob", "b1", role="self")
    add_answer(world, "pseud-cara", "c1", role="self", flagged=True)  # flagged: never counts
    html, result = make_report(world, tmp_path)
    page = parse_html(html)
    assert page.tables["people-by-role"] == [
        ["Role", "People"], ["Answered for themselves", "3"],
        ["Answered for someone they care for", "1"], ["Support worker", "1"],
        ["All people, each counted once", "4"]]
    assert people_note(page).endswith(" 1 person answered in more than one role.")
    summary = next(text for name, attrs, text in page.blocks if attrs.get("class") == "summary")
    assert summary == "4 people took part. They gave 9 answers."
    assert result.stdout.strip().endswith("4 people, 9 answers.")
    figures = store_figures(world)
    assert figures["people"] == {"self": 3, "on_behalf": 1, "support_worker": 1}
    assert figures["everyone"] == 4 and figures["answers"] == 9
    easy, result = make_report(world, tmp_path, "--easy-read")
    assert "4 people took part." in [text for _, _, text in parse_html(easy).blocks]
    assert result.stdout.strip().endswith("4 people, 9 answers.")
    with world.session() as session:
        assert staff_queries.people_by_role(session) == {"self": 3, "on_behalf": 1,
                                                         "support_worker": 1}
        assert staff_queries.count_people(session) == 4
        assert staff_queries.count_people_in_several_roles(session) == 1


def test_answers_without_a_role_count_under_the_role_the_person_chose(world, tmp_path):
    """Old answers stored without a role fall back to the participant's role, as exports do."""
    from sqlalchemy import update

    with world.session() as session:
        session.execute(update(Answer).where(Answer.participant_id.in_(
            [world.participants["pseud-bob"], world.participants["pseud-cara"]])).values(role=None))
        session.commit()
    add_answer(world, "pseud-cara", "c1", role="on_behalf")
    html, _ = make_report(world, tmp_path)
    page = parse_html(html)
    assert page.tables["people-by-role"] == [
        ["Role", "People"], ["Answered for themselves", "2"],
        ["Answered for someone they care for", "2"], ["Support worker", "1"],
        ["All people, each counted once", "4"]]
    assert people_note(page).endswith(" 1 person answered in more than one role.")
    assert store_figures(world)["people"] == {"self": 2, "on_behalf": 2, "support_worker": 1}


def test_charts_are_inline_svg_with_text_alternatives(sqlite_world, tmp_path):
    """Charts are SVG images with a title and a description holding the same numbers."""
    html, _ = make_report(sqlite_world, tmp_path)
    page = parse_html(html)
    svgs = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert [svg["aria-labelledby"] for svg in svgs] == [
        "chart-themes-title chart-themes-desc", "chart-questions-title chart-questions-desc"]
    assert all(svg["role"] == "img" for svg in svgs)
    assert ("Bar chart. Being safe: 2. Having a purpose: 3. Friends: 2. Money: 0. "
            "The table below has the same numbers.") in html
    assert ("Bar chart. What makes a good life for you?: 5. "
            "What helps you to have a good life?: 3.") in html


def test_report_is_self_contained(sqlite_world, tmp_path):
    """Nothing to fetch: no scripts, links, images, frames or external styles."""
    for options in ((), ("--easy-read",)):
        html, _ = make_report(sqlite_world, tmp_path, *options)
        page = parse_html(html)
        for tag, attrs in page.tags:
            assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
            assert not {"src", "href", "srcset"} & set(attrs), (tag, attrs)
        assert "@import" not in html and "url(" not in html
        assert page.tags[0] == ("html", {"lang": "en"})


def test_quotes_are_escaped_and_never_flagged(sqlite_world, tmp_path):
    """Quotes come word for word, escaped, best first; a flagged answer never appears."""
    html, _ = make_report(sqlite_world, tmp_path)
    page = parse_html(html)
    quotes = [text for name, _, text in page.blocks if name == "blockquote"]
    assert quotes == [
        '=HYPERLINK("http://evil.example","click")',  # being_safe: the participant's own tag first
        "He feels safe at home. He likes <b>the garden</b> & tea.",
        "Tabbed answer with a café ☕", "I like my friends and my job.", "- more buses",  # purpose
        "@home is where I feel calm", "I like my friends and my job.",  # friends
    ]
    assert "He likes &lt;b&gt;the garden&lt;/b&gt; &amp; tea." in html
    assert "<b>the garden</b>" not in html
    assert FLAGGED_TEXT not in html
    easy, _ = make_report(sqlite_world, tmp_path, "--easy-read")
    assert FLAGGED_TEXT not in easy


def test_each_quote_says_whose_words_they_are(world, tmp_path):
    """A carer's or support worker's answer is quoted as theirs, never as the participant's."""
    html, _ = make_report(world, tmp_path)
    page = parse_html(html)
    quoted = [(name, text) for name, _, text in page.blocks if name in ("blockquote", "figcaption")]
    said_by = dict(zip([text for name, text in quoted if name == "blockquote"],
                       [text for name, text in quoted if name == "figcaption"]))
    assert said_by["He feels safe at home. He likes <b>the garden</b> & tea."] == \
        "Said by a carer, for the person they care for"  # pseud-bob answered on behalf
    assert said_by["- more buses"] == "Said by a support worker, about the people they support"
    assert said_by["I like my friends and my job."] == "Said by the person themselves"
    assert len([name for name, _ in quoted if name == "figcaption"]) == \
        len([name for name, _ in quoted if name == "blockquote"])


def test_the_report_file_is_for_its_owner_only(sqlite_world, tmp_path):
    """The report quotes answers word for word, so, like an export, only its owner can read it."""
    make_report(sqlite_world, tmp_path)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o600


def _small_files_only():
    # A file may grow to 2 KB and no more: writing a bigger one fails as on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_a_report_that_cannot_be_written_keeps_the_last_one(sqlite_world, tmp_path):
    """A disk that fills up half way leaves last week's report whole, and no part file."""
    folder = tmp_path / "reports"
    folder.mkdir()
    out = folder / "report.html"
    out.write_text("<p>Last week's report</p>", encoding="utf-8")
    env = {**os.environ, **sqlite_world.settings.to_env()}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "report", "--out", str(out)],
                            env=env, capture_output=True, text=True, timeout=120,
                            preexec_fn=_small_files_only)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"coproduce: Could not write {out}: File too large")
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "<p>Last week's report</p>"
    assert os.listdir(folder) == ["report.html"]


def test_report_lists_actions_and_is_audited(sqlite_world, tmp_path):
    html, _ = make_report(sqlite_world, tmp_path)
    page = parse_html(html)
    items = [text for name, _, text in page.blocks if name == "li"]
    assert items == ["Planned: We will put more lights on the street.",
                     "Doing now: We will find more day trips.",
                     "Done: We started a club on Fridays.",
                     "Planned: We will check that people get the right benefits."]
    with sqlite_world.session() as session:
        entry = staff_queries.audit_entries(session, action="report")[0]
    assert entry.actor == "tester"
    assert json.loads(entry.detail) == {"file": "report.html", "easy_read": False, "people": 4,
                                        "answers": 8}


def test_easy_read_report(world, tmp_path):
    """Easy Read: the same numbers in short sentences, a picture per theme, large text."""
    html, result = make_report(world, tmp_path, "--easy-read")
    assert "Easy Read report" in result.stdout
    page = parse_html(html)
    texts = [text for name, _, text in page.blocks if name in ("p", "li", "h1", "h2", "h3")
             and text]
    assert "4 people took part." in texts
    assert "People gave 8 answers." in texts
    themes = [text for name, _, text in page.blocks if name == "h3"]
    # most answers first; a theme no answer is about comes after, only for what we do about it
    assert themes == ["Having a purpose", "Being safe", "Friends", "Money"]
    assert texts.count("3 answers were about this.") == 1
    assert texts.count("2 answers were about this.") == 2
    assert not any(text.startswith("0 answer") for text in texts)
    pictures = [(attrs["aria-label"], text) for name, attrs, text in page.blocks
                if attrs.get("class") == "picture"]
    assert pictures == [("Picture for Having a purpose", "⭐"), ("Picture for Being safe", "🛡️"),
                        ("Picture for Friends", "🤝"), ("Picture for Money", "💷")]
    assert "We will put more lights on the street. We have not started yet." in texts
    headings = [text for name, _, text in page.blocks if name == "h2"]
    assert headings.index("More things we are doing") == \
        headings.index("What people told us about") + 1
    # the same "you said, we did" as the staff report, for every theme that has an action
    assert "We will check that people get the right benefits. We have not started yet." in texts
    assert "font-size: 1.5rem" in html  # body text of 24 px
    for text in texts:
        assert check(text).ok, (text, check(text).problems)


def test_easy_read_fixed_words_pass_readability():
    """Every fixed sentence of the Easy Read template, in each of its forms, is plain language."""
    from bot.engagement import Engagement

    engagement = Engagement(
        id="e", title="Our plan", organiser="Us", purpose="p", can_change="c", cannot_change="c",
        next_steps="We will tell you.", contact="Call us.", consent_version="1",
        safeguarding_lead="", safeguarding_number="", questions=[], themes=[])
    actions = [StaffAction(id=n, theme_id="t", text="We did a thing", status=status, revision=1)
               for n, status in enumerate(("planned", "doing", "done"))]
    for count in (1, 2):
        data = ReportData(
            engagement=engagement, generated_at=utc("2025-03-01T10:00"), people=count,
            people_by_role=[("self", count)], answers=count, unthemed=0,
            themes=[ThemeFigures("t", "Fun", "Things you like.", "⭐", count, [], actions),
                    ThemeFigures("u", "Money", "Having enough.", "💷", 0, [], actions)],
            questions=[QuestionFigures("q", "Why?", count)])
        page = parse_html(render_report(data, easy_read=True))
        texts = [text for name, _, text in page.blocks if text]
        assert len(texts) >= 12
        for text in texts:
            assert check(text).ok, (text, check(text).problems)


def test_singular_wording(sqlite_world, tmp_path):
    """One person and one answer read correctly in both versions."""
    engagement = sqlite_world.services.engagement
    data = ReportData(engagement=engagement, generated_at=utc("2025-03-01T10:00"), people=1,
                      people_by_role=[("self", 1)], answers=1, unthemed=0,
                      themes=[ThemeFigures("purpose", "Having a purpose", "", "⭐", 1, [], [])],
                      questions=[QuestionFigures("good_life", "A question?", 1)])
    easy = [text for _, _, text in parse_html(render_report(data, easy_read=True)).blocks]
    assert {"1 person took part.", "People gave 1 answer.", "1 answer was about this."} <= set(easy)
    staff = parse_html(render_report(dataclasses.replace(data)))
    assert any(text == "1 person took part. They gave 1 answer." for _, _, text in staff.blocks)


def keep_only(world, *keys):
    """Delete every answer (and its themes) but these."""
    from sqlalchemy import delete

    gone = [world.answers[key] for key in world.answers if key not in keys]
    with world.session() as session:
        session.execute(delete(AnswerTheme).where(AnswerTheme.answer_id.in_(gone)))
        session.execute(delete(Answer).where(Answer.id.in_(gone)))
        session.commit()


def test_command_counts_read_correctly_for_one(sqlite_world, tmp_path):
    """The command's own line says "1 person" and "1 answer", in both versions."""
    keep_only(sqlite_world, "a1", "a2")
    for options in ([], ["--easy-read"]):
        _, result = make_report(sqlite_world, tmp_path, *options)
        assert result.stdout.strip().endswith(": 1 person, 2 answers."), result.stdout
    keep_only(sqlite_world, "a1")
    for options in ([], ["--easy-read"]):
        html, result = make_report(sqlite_world, tmp_path, *options)
        assert result.stdout.strip().endswith(": 1 person, 1 answer."), result.stdout
        assert "1 people" not in result.stdout and "1 answers" not in result.stdout
        texts = [text for _, _, text in parse_html(html).blocks]
        assert not any("1 people" in text or "1 answers" in text for text in texts)


def test_report_to_standard_output_or_a_folder(sqlite_world, tmp_path, monkeypatch):
    """--out - writes the page to standard output (the summary line to standard error); a
    folder given as --out is one clear line."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner(mix_stderr=False).invoke(report, ["--out", "-", "--by", "tester"],
                                                obj=sqlite_world.settings)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.lstrip().lower().startswith("<!doctype html>")
    assert result.stderr.startswith("Wrote the report to standard output: ")
    assert not (tmp_path / "-").exists()
    folder = CliRunner(mix_stderr=False).invoke(report, ["--out", str(tmp_path)],
                                                obj=sqlite_world.settings)
    assert folder.exit_code == 1
    assert folder.stderr == (f"coproduce: Cannot write {tmp_path}: it is a folder, not an "
                             "ordinary file. Choose a file name for --out.\n")
