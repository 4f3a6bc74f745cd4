"""The `themes` command group: tag round-trips fields, eval prints the metrics, train writes a model."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.themes.cli import themes
from tests.themes.conftest import link_encoder, make_examples


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory, encoder_dir, tagger):
    """A var folder whose themes/ holds the shared encoder and the session's trained tagger."""
    var = tmp_path_factory.mktemp("var")
    tagger.save(link_encoder(encoder_dir, var / "themes") / "tagger.npz")
    return var


def run(var_dir, args, stdin=""):
    return CliRunner(mix_stderr=False).invoke(themes, args, input=stdin,
                                              env={"COPRODUCE_VAR_DIR": str(var_dir)})


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


@pytest.mark.parametrize("bad, message", [("not json", "line 2: not valid JSON"),
                                          ('{"id": 3}', 'line 2: missing a "text" string'),
                                          ('{"text": 5}', 'line 2: missing a "text" string'),
                                          ("[1, 2]", "line 2: expected a JSON object")])
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
    result = run(var_dir, ["train", "--model", str(model), "--examples", str(examples)])
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
def coproduce(var_dir, tmp_path, args, stdin=b""):
    """Run `coproduce` in-process on a scratch SQLite store that is not set up."""
    from bot.cli import main

    return CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", f"sqlite:///{tmp_path}/store.db", *args], input=stdin,
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
                                           "--examples", str(examples)])
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
