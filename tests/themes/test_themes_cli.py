"""The `themes` command group: tag round-trips fields, eval prints the metrics, train writes a model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.themes.cli import themes
from tests.themes.conftest import link_encoder, make_examples, toy_engagement


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory, encoder_dir, tagger):
    """A var folder whose themes/ holds the shared encoder and the session's trained tagger."""
    var = tmp_path_factory.mktemp("var")
    tagger.save(link_encoder(encoder_dir, var / "themes") / "tagger.npz")
    return var


def run(var_dir, args, stdin="", engagement=None):
    env = {"COPRODUCE_VAR_DIR": str(var_dir)}
    if engagement is not None:
        env["COPRODUCE_ENGAGEMENT_FILE"] = str(engagement)
    return CliRunner(mix_stderr=False).invoke(themes, args, input=stdin, env=env)


def test_tag_keeps_every_field_and_adds_themes_and_scores(var_dir):
    lines = [{"text": "I want my own flat", "id": 7, "who": "self"},
             {"text": "", "id": 8, "themes": ["old"]},
             {"text": "Mae angen help arnaf", "nested": {"a": [1, 2]}}]
    result = run(var_dir, ["tag"], "\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    for original, tagged in zip(lines, out):
        for key, value in original.items():
            if key != "themes":
                assert tagged[key] == value
        assert isinstance(tagged["themes"], list)
        assert all(isinstance(score, (int, float)) for score in tagged["scores"].values())
    assert "security" in out[0]["themes"]
    assert out[1]["themes"] == []


NOT_FINITE = "line 2: not valid JSON (NaN and Infinity are not JSON numbers)"


@pytest.mark.parametrize("bad, message", [("not json", "line 2: not valid JSON"),
                                          ('{"id": 3}', 'line 2: missing a "text" string'),
                                          ('{"text": 5}', 'line 2: "text" must be a string, not int'),
                                          ('{"text": null}', 'line 2: "text" must be a string, not null'),
                                          ("[1, 2]", "line 2: expected a JSON object"),
                                          ('{"text": "hi", "n": NaN}', NOT_FINITE),
                                          ('{"text": "hi", "n": [-Infinity]}', NOT_FINITE),
                                          ('{"text": "hi", "n": {"big": 1e999}}', NOT_FINITE)])
def test_tag_stops_at_a_bad_line_with_one_clear_error(var_dir, bad, message):
    result = run(var_dir, ["tag"], f'{{"text": "hello"}}\n{bad}\n{{"text": "never read"}}\n')
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["hello"]


def test_tag_can_skip_bad_lines_with_a_warning(var_dir):
    result = run(var_dir, ["tag", "--skip-bad"], '{"text": "hello"}\nnot json\n{"text": "I want a job"}\n')
    assert result.exit_code == 0
    assert "skipped input line 2" in result.stderr
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["hello", "I want a job"]


def strict_json(line: str):
    """A line of output parsed as standard JSON (no NaN or Infinity)."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_tag_skips_lines_with_nan_or_infinity_and_never_writes_them(var_dir):
    result = run(var_dir, ["tag", "--skip-bad"],
                 '{"text": "hello", "n": 1}\n{"text": "x", "n": NaN}\n{"text": "y", "n": Infinity}\n'
                 '{"text": "I want a job"}\n')
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "Warning: skipped input line 2: not valid JSON (NaN and Infinity are not JSON numbers)",
        "Warning: skipped input line 3: not valid JSON (NaN and Infinity are not JSON numbers)"]
    assert [strict_json(line)["text"] for line in result.stdout.splitlines()] == ["hello", "I want a job"]


def test_eval_prints_per_theme_micro_and_macro(var_dir, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in [
        {"text": "I have waited two years for an autism assessment", "themes": ["access_to_diagnosis"]},
        {"text": "I want my own flat", "themes": ["security"]},
        {"text": "I don't know", "themes": []},
    ]))
    result = run(var_dir, ["eval", "--data", str(data)])
    assert result.exit_code == 0, result.stderr
    for word in ("precision", "recall", "f1", "access_to_diagnosis", "security", "micro", "macro"):
        assert word in result.stdout
    report = json.loads(run(var_dir, ["eval", "--data", str(data), "--json"]).stdout)
    assert report["examples"] == 3 and 0 <= report["macro"]["f1"] <= 1


def test_eval_shows_themes_with_no_examples_as_not_applicable(var_dir, tmp_path):
    """purpose (and the other themes) have no examples here: n/a, not 0.000, and not in macro."""
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in [
        {"text": "I have waited two years for an autism assessment", "themes": ["access_to_diagnosis"]},
        {"text": "I want my own flat", "themes": ["security"]},
    ]))
    report = json.loads(run(var_dir, ["eval", "--data", str(data), "--json"]).stdout)
    empty = {theme: row for theme, row in report["themes"].items() if not row["support"]}
    assert "purpose" in empty and all(row["recall"] is None for row in empty.values())
    unmeasured = [theme for theme, row in empty.items() if not row["predicted"]]
    assert "purpose" in unmeasured
    for theme in unmeasured:
        assert report["themes"][theme] == {"precision": None, "recall": None, "f1": None,
                                           "support": 0, "predicted": 0}
    scored = [row for row in report["themes"].values() if row["support"] or row["predicted"]]
    assert report["macro"]["f1"] == pytest.approx(sum(row["f1"] for row in scored) / len(scored))
    assert report["macro"]["themes"] == len(scored)

    text = run(var_dir, ["eval", "--data", str(data)]).stdout
    purpose_row = next(line for line in text.splitlines() if line.startswith("purpose "))
    assert purpose_row.split() == ["purpose", "n/a", "n/a", "n/a", "0"]
    assert f"macro: averaged over {len(scored)} themes with examples or predictions" in text


@pytest.mark.parametrize("content, message", [('{"text": "hi"}', '"themes" must be a list'),
                                              ("{oops", "not valid JSON"), ("", "No answers")])
def test_eval_reports_bad_data_in_one_line(var_dir, tmp_path, content, message):
    data = tmp_path / "bad.jsonl"
    data.write_text(content)
    result = run(var_dir, ["eval", "--data", str(data)])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_eval_of_a_missing_file_is_a_user_error(var_dir, tmp_path):
    result = run(var_dir, ["eval", "--data", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "Cannot read" in result.stderr


def test_train_writes_a_model_with_the_extra_examples(var_dir, tmp_path, encoder_dir, monkeypatch):
    import bot.themes.cli as cli

    monkeypatch.setattr(cli, "extra_examples", lambda settings: [("My parrot talks to me", ["pets"])])
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(json.dumps({"text": text, "themes": list(themes)})
                                   for text, themes in make_examples()))
    model = link_encoder(encoder_dir, tmp_path / "out") / "tagger.npz"
    result = run(var_dir, ["train", "--model", str(model), "--examples", str(examples)],
                 engagement=toy_engagement(tmp_path, ["pets", "weather"]))
    assert result.exit_code == 0, result.stderr
    assert model.exists() and "pets: threshold" in result.stdout
    assert "1 extra examples" in result.stdout
    assert f"Trained on {len(make_examples()) + 1} examples" in result.stdout


def test_train_reports_a_bad_examples_file_in_one_line(var_dir, tmp_path):
    bad = tmp_path / "examples.jsonl"
    bad.write_text('{"text": "no themes here"}\n')
    result = run(var_dir, ["train", "--model", str(tmp_path / "t.npz"), "--examples", str(bad)])
    assert result.exit_code == 1 and "line 1" in result.stderr and "Traceback" not in result.stderr


# ---- through the real `coproduce` command --------------------------------------------------
def coproduce(var_dir, tmp_path, args, stdin=b"", engagement=None):
    """Run `coproduce` in-process on a scratch SQLite store that is not set up."""
    from bot.cli import main

    where = ["--engagement", str(engagement)] if engagement is not None else []
    return CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", f"sqlite:///{tmp_path}/store.db", *where, *args], input=stdin,
        env={"COPRODUCE_VAR_DIR": str(var_dir), "COPRODUCE_HASH_KEY": "test-key"})


def assert_one_error(result, message):
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr == f"coproduce: {message}\n"  # as every coproduce command says it
    assert "Traceback" not in result.stdout + result.stderr


def test_tag_of_input_that_is_not_utf8_is_one_clear_line(var_dir, tmp_path):
    result = coproduce(var_dir, tmp_path, ["themes", "tag"], b'{"text": "hello"}\n{"text":"\xff"}\n')
    assert_one_error(result, "input line 2: not UTF-8 text")
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["hello"]


def test_tag_can_skip_a_line_that_is_not_utf8(var_dir, tmp_path):
    result = coproduce(var_dir, tmp_path, ["themes", "tag", "--skip-bad"],
                       b'\xef\xbb\xbf{"text": "hello"}\n{"text":"\xff"}\n{"text": "I want a job"}\n')
    assert result.exit_code == 0, result.stderr
    assert "Warning: skipped input line 2: not UTF-8 text" in result.stderr
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["hello", "I want a job"]


def test_eval_of_a_file_that_is_not_utf8_is_one_clear_line(var_dir, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_bytes(b'{"text": "ok", "themes": []}\n{"text":"\xff", "themes": []}\n')
    result = coproduce(var_dir, tmp_path, ["themes", "eval", "--data", str(data)])
    assert_one_error(result, f"{data} line 2: not UTF-8 text")
    assert result.stdout == ""


def test_eval_names_unknown_theme_ids_and_their_lines_before_scoring(var_dir, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in [
        {"text": "x", "themes": ["bogus"]},
        {"text": "I want my own flat", "themes": ["security"]},
        {"text": "y", "themes": ["bogus", "nope"]},
    ]))
    result = coproduce(var_dir, tmp_path, ["themes", "eval", "--data", str(data)])
    assert_one_error(result, f"{data} has unknown theme ids: 'bogus' (lines 1, 3); 'nope' (line 3). "
                             "The engagement's themes are: access_to_diagnosis, right_care_support, "
                             "security, skilled_supporters, accepted_valued, being_safe, purpose.")
    assert result.stdout == ""


def test_train_with_examples_that_are_not_utf8_is_one_clear_line(var_dir, tmp_path):
    bad = tmp_path / "examples.jsonl"
    bad.write_bytes(b'{"text":"\xff", "themes": []}\n')
    result = coproduce(var_dir, tmp_path, ["themes", "train", "--model", str(tmp_path / "t.npz"),
                                           "--examples", str(bad)])
    assert_one_error(result, f"{bad} line 1: not UTF-8 text")
    assert not (tmp_path / "t.npz").exists()


def test_train_on_a_store_not_set_up_yet_uses_the_repository_examples_only(var_dir, tmp_path, encoder_dir,
                                                                          caplog):
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(json.dumps({"text": text, "themes": list(themes)})
                                   for text, themes in make_examples()))
    model = link_encoder(encoder_dir, tmp_path / "out") / "tagger.npz"
    result = coproduce(var_dir, tmp_path, ["themes", "train", "--model", str(model),
                                           "--examples", str(examples)],
                       engagement=toy_engagement(tmp_path, ["pets", "weather"]))
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "(0 extra examples from the store)" in result.stdout and model.exists()
    assert "training on the repository's examples only" in caplog.text + result.stderr
    assert "Could not tag stored answers again" not in caplog.text + result.stderr


@pytest.mark.parametrize("command", [["tag"], ["eval", "--data", "{data}"]])
def test_a_model_path_with_no_tagger_is_an_error_not_a_new_tagger(var_dir, tmp_path, command):
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps({"text": "I want a job", "themes": ["purpose"]}) + "\n")
    missing = tmp_path / "typo" / "tagger.npz"
    args = [arg.format(data=data) for arg in command] + ["--model", str(missing)]
    result = run(var_dir, args, '{"text": "hello"}\n')
    assert result.exit_code == 1
    assert f"There is no theme tagger at {missing}" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not missing.parent.exists()  # nothing was trained or written there


@pytest.mark.parametrize("options", [[], ["--skip-bad"]])
def test_tag_replaces_a_lone_surrogate_and_tags_the_lines_after_it(var_dir, tmp_path, options):
    result = coproduce(var_dir, tmp_path, ["themes", "tag", *options],
                       b'{"text":"\\ud800 I want my own flat", "\\udfff": "\\ud83d\\ude00 ok"}\n'
                       b'{"text":"after"}\n')
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Traceback" not in result.stderr and result.stderr == ""
    first, second = [strict_json(line) for line in result.stdout.splitlines()]
    assert first["text"] == "\ufffd I want my own flat" and "security" in first["themes"]
    assert first["\ufffd"] == "\U0001F600 ok"  # a proper pair of escapes is one character, kept
    assert second["text"] == "after" and "themes" in second


def test_eval_with_a_lone_surrogate_in_the_data_does_not_fail(var_dir, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"text": "\\ud800 I want my own flat", "themes": ["security"]}\n'
                    '{"text": "after", "themes": []}\n')
    for extra in ([], ["--json"]):
        result = coproduce(var_dir, tmp_path, ["themes", "eval", "--data", str(data), *extra])
        assert result.exit_code == 0, (result.stderr, result.exception)
        assert "answers: 2" in result.stdout or json.loads(result.stdout)["examples"] == 2


# ---- train: only the tagger the assistant uses retags the store ------------------------------
@pytest.fixture
def store(tmp_path):
    """A store with answers the tagger tagged (a1: purpose and friends), and a staff tag (a5)."""
    from tests.staff.staff_data import build_world

    world = build_world(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    yield world
    world.services.engine.dispose()


def tags(world, key):
    """(theme, source, score) on one of the store's answers."""
    from bot.store import theme_queries

    with world.session() as session:
        return sorted((tag.theme_id, tag.source, tag.score)
                      for tag in theme_queries.tags_of(session, answer_id=world.answers[key]))


def train_on_the_store(world, var, model, tmp_path):
    """`coproduce themes train --model MODEL` on small made-up examples, with the store (whose
    confirmed tags add being_safe and friends, so the examples have a few of those too)."""
    from bot.cli import main

    # The made-up pets and weather examples stand for the store's engagement's friends and money.
    rows = [(text, tuple({"pets": "friends", "weather": "money"}[theme] for theme in themes))
            for text, themes in make_examples()] + [
        (text, ("being_safe",)) for text in ("I feel safe at home", "the street is safe at night")
    ] + [(text, ("purpose",)) for text in ("I love my job at the cafe", "I help at the food bank")]
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(json.dumps({"text": text, "themes": list(themes)})
                                   for text, themes in rows))
    return CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", world.settings.database_url,
               "--engagement", str(world.settings.engagement_file),
               "themes", "train", "--model", str(model), "--examples", str(examples)],
        env={"COPRODUCE_VAR_DIR": str(var), "COPRODUCE_HASH_KEY": "test-key"})


def test_train_of_another_model_leaves_the_stored_answers_alone(store, var_dir, tmp_path, encoder_dir):
    before = tags(store, "a1")
    model = link_encoder(encoder_dir, tmp_path / "experiment") / "tagger.npz"
    result = train_on_the_store(store, var_dir, model, tmp_path)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert model.exists() and "Tagged" not in result.stdout
    assert (f"Not applied to stored answers: the assistant uses the tagger at "
            f"{var_dir / 'themes' / 'tagger.npz'}, not this one.\n") in result.stdout
    assert tags(store, "a1") == before == [("friends", "auto", 0.6), ("purpose", "auto", 0.8)]


def test_train_of_the_assistants_model_tags_stored_answers_again(store, tmp_path, encoder_dir):
    var = tmp_path / "var"
    model = link_encoder(encoder_dir, var / "themes") / "tagger.npz"
    result = train_on_the_store(store, var, model, tmp_path)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "stored answers again (answers a person tagged keep their themes)" in result.stdout
    assert "Not applied" not in result.stdout
    retagged = tags(store, "a1")
    assert retagged != [("friends", "auto", 0.6), ("purpose", "auto", 0.8)]
    assert all(source == "auto" for _, source, _ in retagged)
    assert tags(store, "a5") == [("friends", "staff", None)]


def test_train_checks_where_it_will_save_before_training(var_dir, tmp_path):
    """A --model folder that does not exist, a folder given as the file, or one that cannot be
    written to stops train at once, before any training, and makes no folder."""
    missing = tmp_path / "nonexistent" / "dir" / "t.npz"
    for model, message in [
            (missing, f"The folder {missing.parent} does not exist."),
            (tmp_path, f"Cannot write {tmp_path}: it is a folder, not an ordinary file. "
                       "Choose a file name for --model."),
            (Path("/proc/t.npz"), "Cannot write /proc/t.npz: ")]:
        result = run(var_dir, ["train", "--model", str(model)])
        assert result.exit_code == 1, (result.stdout, result.stderr)
        assert result.stderr.startswith(f"Error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
        assert "Training" not in result.stdout
    assert not (tmp_path / "nonexistent").exists()


def test_every_command_uses_the_engagements_themes(var_dir, tmp_path, encoder_dir):
    """A theme the engagement adds without examples is named, with what to do; a tagger file for
    other themes is refused, not trained again in a file staff named; examples with an id the
    engagement does not have are refused before training."""
    seven_and_transport = toy_engagement(tmp_path / "eight", [
        "access_to_diagnosis", "right_care_support", "security", "skilled_supporters",
        "accepted_valued", "being_safe", "purpose", "transport"])
    model = link_encoder(encoder_dir, tmp_path / "out") / "tagger.npz"
    result = run(var_dir, ["train", "--model", str(model)], engagement=seven_and_transport)
    assert result.exit_code == 1 and not model.exists()
    assert "Could not train the theme tagger: Too few examples (fewer than 2) for: transport." \
        in result.stderr
    assert "`coproduce themes set ANSWER_ID --theme ID`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    pets_and_weather = toy_engagement(tmp_path / "toy", ["pets", "weather"])
    live = var_dir / "themes" / "tagger.npz"  # trained on the seven themes
    result = run(var_dir, ["tag", "--model", str(live)], '{"text": "my dog"}\n',
                 engagement=pets_and_weather)
    assert result.exit_code == 1 and result.stdout == ""
    assert f"The theme tagger at {live} knows other themes" in result.stderr
    assert "than the engagement's (pets, weather)" in result.stderr

    examples = tmp_path / "examples.jsonl"
    examples.write_text(json.dumps({"text": "the bus was late", "themes": ["transport"]}) + "\n")
    result = run(var_dir, ["train", "--model", str(model), "--examples", str(examples)])
    assert result.exit_code == 1 and "has unknown theme id: 'transport' (line 1)" in result.stderr


def test_tag_and_eval_list_the_themes_in_the_engagements_order(var_dir, tmp_path):
    """Whoever trained the tagger (the assistant, or `themes train`), in the engagement's order."""
    from bot.engagement import load_engagement
    from tests.themes.conftest import ENGAGEMENT

    order = [theme.id for theme in load_engagement(ENGAGEMENT).themes]
    result = run(var_dir, ["tag"], '{"text": "I want a job and to feel safe"}\n')
    tagged = json.loads(result.stdout)
    assert list(tagged["scores"]) == order
    assert tagged["themes"] == [theme for theme in order if theme in tagged["themes"]]
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps({"text": "I want a job", "themes": ["security"]}) + "\n")
    result = run(var_dir, ["eval", "--data", str(data), "--json"])
    assert list(json.loads(result.stdout)["themes"]) == order
