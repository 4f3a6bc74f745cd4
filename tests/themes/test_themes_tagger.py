"""The tagger's contract: known ids only, several themes or none, any input, saving and loading."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bot.themes import TaggerError, ThemeTagger, load_or_train, train_tagger
from tests.themes.conftest import link_encoder, make_examples

SEVEN = {"access_to_diagnosis", "right_care_support", "security", "skilled_supporters",
         "accepted_valued", "being_safe", "purpose"}


def test_themes_are_those_of_the_examples(tagger, examples):
    assert set(tagger.theme_ids) == {theme for example in examples for theme in example.themes} == SEVEN


def test_tags_only_known_ids_with_a_score_for_every_theme(tagger):
    results = tagger.tag(["I want my own flat and a job", "My support worker is kind", "ok"])
    assert len(results) == 3
    for result in results:
        assert set(result.themes) <= set(tagger.theme_ids)
        assert set(result.scores) == set(tagger.theme_ids)
        assert all(0.0 <= score <= 1.0 for score in result.scores.values())
        # listed highest score first, and each listed theme reached its threshold
        listed = [result.scores[theme] for theme in result.themes]
        assert listed == sorted(listed, reverse=True)


def test_clear_answers_get_their_theme(tagger):
    answers = {
        "I have been waiting three years for an autism assessment": "access_to_diagnosis",
        "The boys on my street shout at me and throw stones": "being_safe",
        "I want to live in my own flat and pay my own rent": "security",
        "I love my art class, it makes me proud": "purpose",
    }
    for result, (answer, theme) in zip(tagger.tag(list(answers)), answers.items()):
        assert theme in result.themes, (answer, result)


def test_an_answer_can_have_several_themes(tagger):
    (result,) = tagger.tag(["My job at the cafe pays my rent, and the staff there are kind and patient. "
                            "But on the bus home some boys shout at me and push me, and I am scared."])
    assert len(result.themes) >= 2, result


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "I don't know", "hello", "?"])
def test_empty_and_non_answers_get_no_theme(tagger, text):
    (result,) = tagger.tag([text])
    assert result.themes == []


def test_empty_answer_scores_zero(tagger):
    (result,) = tagger.tag([""])
    assert set(result.scores.values()) == {0.0}


def test_huge_input_is_tagged(tagger):
    huge = ("My support worker helps me with money and shopping. " * 200)[:10_000]
    results = tagger.tag([huge, "x" * 10_000, "🙂" * 10_000])
    assert len(results) == 3
    assert "right_care_support" in results[0].themes or "security" in results[0].themes


@pytest.mark.parametrize("text", ["Je veux vivre dans mon propre appartement.", "我想要自己的房子",
                                  "Мне нужна помощь", "أريد أن أعيش بأمان", "😀😀😀", "\x00\x01 \u200b"])
def test_non_english_and_odd_input_does_not_crash(tagger, text):
    (result,) = tagger.tag([text])
    assert set(result.themes) <= set(tagger.theme_ids)


def test_no_answers_gives_no_results(tagger):
    assert tagger.tag([]) == []


def test_non_string_answers_count_as_empty(tagger):
    (result,) = tagger.tag([None])
    assert result.themes == []


def test_save_and_load_give_the_same_scores(tagger, tmp_path, encoder_dir):
    path = link_encoder(encoder_dir, tmp_path) / "copy.npz"
    tagger.save(path)
    loaded = ThemeTagger.load(path)
    texts = ["I want my own flat", "Staff are kind", "I was bullied at school. Now I am safe."]
    assert loaded.theme_ids == tagger.theme_ids
    np.testing.assert_allclose(loaded.score(texts), tagger.score(texts), atol=1e-3)


def test_loading_a_file_that_is_not_a_model_fails_clearly(tmp_path):
    path = tmp_path / "tagger.npz"
    path.write_text("not a model")
    with pytest.raises(TaggerError, match="is not a theme model this version can read") as error:
        ThemeTagger.load(path)
    assert "pickle" not in str(error.value)
    with pytest.raises(TaggerError, match="There is no theme model at"):
        ThemeTagger.load(tmp_path / "nothing.npz")


def test_any_theme_ids_can_be_learned(tmp_path, encoder_dir):
    model = link_encoder(encoder_dir, tmp_path) / "tagger.npz"
    tagger = train_tagger(make_examples(), model)
    assert tagger.theme_ids == ["pets", "weather"]
    pets, weather, both, none = tagger.tag(["my dog is lovely", "it snowed all day",
                                            "the cat got wet in the storm", "I don't know"])
    assert pets.themes == ["pets"]
    assert weather.themes == ["weather"]
    assert set(both.themes) == {"pets", "weather"}
    assert none.themes == []


def test_training_needs_examples_of_every_theme(tmp_path, encoder_dir):
    link_encoder(encoder_dir, tmp_path)
    with pytest.raises(TaggerError, match="Too few examples"):
        train_tagger(make_examples(), tmp_path / "tagger.npz", themes=["pets", "weather", "music"])
    with pytest.raises(TaggerError, match="no themes"):
        train_tagger([("hello", []), ("yes", [])], tmp_path / "tagger.npz")


def test_extra_examples_may_be_plain_pairs(tmp_path, encoder_dir):
    link_encoder(encoder_dir, tmp_path)
    pairs = [(example.text, list(example.themes)) for example in make_examples()]
    tagger = train_tagger(pairs, tmp_path / "tagger.npz")
    assert tagger.trained_on == len(pairs)


def test_load_or_train_trains_on_first_use_then_loads(tmp_path, encoder_dir):
    model = link_encoder(encoder_dir, tmp_path) / "themes" / "tagger.npz"
    link_encoder(encoder_dir, model.parent)
    examples_file = tmp_path / "examples.jsonl"
    examples_file.write_text("\n".join(json.dumps({"text": example.text, "themes": list(example.themes)})
                                       for example in make_examples()))
    first = load_or_train(model, examples_file=examples_file, extra_examples=[("my parrot talks", ["pets"])])
    assert model.exists() and first.trained_on == len(make_examples()) + 1
    second = load_or_train(model, examples_file=examples_file)
    assert second.trained_on == first.trained_on
    # The same themes in another order: the saved tagger is used as it is (its results name
    # each theme); other themes: it is trained again for them.
    third = load_or_train(model, examples_file=examples_file, themes=["weather", "pets"])
    assert third.theme_ids == ["pets", "weather"] and third.trained_on == first.trained_on
    fourth = load_or_train(model, examples_file=examples_file, themes=["weather"])
    assert fourth.theme_ids == ["weather"]


def test_load_or_train_trains_again_when_the_examples_change(tmp_path, encoder_dir):
    model = link_encoder(encoder_dir, tmp_path) / "tagger.npz"
    examples_file = tmp_path / "examples.jsonl"
    lines = [json.dumps({"text": example.text, "themes": list(example.themes)}) for example in make_examples()]
    examples_file.write_text("\n".join(lines))
    first = load_or_train(model, examples_file=examples_file)
    assert load_or_train(model, examples_file=examples_file).examples_digest == first.examples_digest
    # an update to the repository's examples: the saved tagger is stale, and confirmed tags come too
    examples_file.write_text("\n".join([*lines, json.dumps({"text": "sunny and warm", "themes": ["weather"]})]))
    second = load_or_train(model, examples_file=examples_file, extra_examples=[("my parrot talks", ["pets"])])
    assert second.trained_on == first.trained_on + 2
    assert second.examples_digest != first.examples_digest
    assert ThemeTagger.load(model).examples_digest == second.examples_digest


def test_a_tagger_saved_with_an_older_encoder_is_trained_again(tmp_path, encoder_dir):
    """After an update that changes the encoder, the old encoder file goes and the tagger is retrained."""
    from bot.themes.encoder import ENCODER_FILE, OLD_ENCODER_FILES

    model = link_encoder(encoder_dir, tmp_path) / "tagger.npz"
    examples_file = tmp_path / "examples.jsonl"
    examples_file.write_text("\n".join(json.dumps({"text": example.text, "themes": list(example.themes)})
                                       for example in make_examples()))
    first = load_or_train(model, examples_file=examples_file)
    # What an earlier version left: its own encoder file, and a tagger that names that encoder.
    with np.load(model) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(str(arrays["meta"]))
    meta["encoder_id"] = "all-MiniLM-L6-v2/onnx-int8-per-channel/1"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(model, **arrays)
    (tmp_path / ENCODER_FILE).unlink()  # a link to the shared encoder: this folder builds its own
    (tmp_path / OLD_ENCODER_FILES[0]).write_bytes(b"an old encoder")
    with pytest.raises(TaggerError, match="another version"):
        ThemeTagger.load(model)
    again = load_or_train(model, examples_file=examples_file)
    assert again.trained_on == first.trained_on
    assert (tmp_path / ENCODER_FILE).exists() and not (tmp_path / OLD_ENCODER_FILES[0]).exists()
    assert ThemeTagger.load(model).theme_ids == first.theme_ids


def test_a_running_assistant_reads_a_retrained_tagger_without_training(tagger, tmp_path, encoder_dir):
    import dataclasses

    from bot.app import read_tagger
    from bot.engagement import load_engagement
    from bot.themes.tagger import TaggerError
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, themes_model=tmp_path / "themes" / "tagger.npz")
    link_encoder(encoder_dir, settings.themes_model.parent)
    tagger.save(settings.themes_model)  # trained on other examples: load_or_train would retrain
    stamp = settings.themes_model.stat().st_mtime_ns
    engagement = load_engagement(settings.engagement_file)
    # It learned the themes in the examples' order, not the engagement's: the same themes.
    assert tagger.theme_ids != [theme.id for theme in engagement.themes]
    read = read_tagger(settings, engagement)
    assert read.theme_ids == tagger.theme_ids
    assert read.tag(["I want a job"])[0].themes == tagger.tag(["I want a job"])[0].themes
    assert settings.themes_model.stat().st_mtime_ns == stamp  # read, not trained and saved
    other = dataclasses.replace(engagement, themes=engagement.themes[:3])
    with pytest.raises(TaggerError, match="other themes"):
        read_tagger(settings, other)
