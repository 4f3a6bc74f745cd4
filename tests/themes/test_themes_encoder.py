"""The WordPiece tokenizer and the int8 MiniLM encoder give what the original model gives."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from safetensors.numpy import load_file

from bot.themes.encoder import ENCODER_FILE, SentenceEncoder, _bert_graph, bundled_model_dir
from bot.themes.wordpiece import WordPieceTokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_file(bundled_model_dir() / "vocab.txt")


@pytest.mark.parametrize("text, ids", [
    # ids as Hugging Face's tokenizers 0.23 gives them for this model's tokenizer.json
    ("My support worker helps me with money.", [2026, 2490, 7309, 7126, 2033, 2007, 2769, 1012]),
    ("Café naïve résumé", [7668, 15743, 13746]),
    ("r u ok?? lol :)", [1054, 1057, 7929, 1029, 1029, 8840, 2140, 1024, 1007]),
    ("I don’t like staff who shout!!", [1045, 2123, 1521, 1056, 2066, 3095, 2040, 11245, 999, 999]),
    ("我喜欢 cats", [1855, 100, 100, 8870]),
    ("", []),
])
def test_tokenizer_matches_the_reference(tokenizer, text, ids):
    assert tokenizer.encode(text) == ids


def test_tokenizer_limits_pieces(tokenizer):
    assert len(tokenizer.encode("word " * 1000, max_pieces=50)) == 50


@pytest.fixture(scope="module")
def encoder(encoder_dir):
    return SentenceEncoder.load(encoder_dir / ENCODER_FILE)


def test_vectors_have_unit_length(encoder):
    vectors = encoder.encode(["hello", "", "x" * 10_000, "word " * 3000])
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_similarities_match_the_published_model(encoder):
    # sentence-transformers' documentation gives 0.7553 for this pair with all-MiniLM-L6-v2
    first, second = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(first @ second) == pytest.approx(0.755, abs=0.03)


def test_paraphrases_lie_closer_than_other_answers(encoder):
    home, paraphrase, other = encoder.encode(["I want to live in my own flat",
                                              "I would like a home of my own",
                                              "The staff at the day centre are kind to me"])
    assert home @ paraphrase > home @ other + 0.2


def test_repeated_answers_get_the_same_vector(encoder):
    vectors = encoder.encode(["same", "other", "same"])
    np.testing.assert_allclose(vectors[0], vectors[2])


def test_an_answer_gets_the_same_vector_whatever_its_batch(encoder):
    # Activations are scaled per word piece, never per batch, so the tag an answer gets cannot
    # depend on which other answers were tagged with it.
    answer = "I need staff who know me and a home of my own"
    others = ["ok", "THE NOISE IS TOO MUCH AND NOBODY LISTENS TO ME AT ALL " * 5, "café ☕ 12345 !!!"]
    alone = encoder.encode([answer])[0]
    batched = encoder.encode([*others, answer])[-1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_int8_vectors_stay_close_to_float32(encoder, tmp_path):
    # The same graph with float32 matrix products gives the reference.
    onnx.save(_bert_graph(load_file(str(bundled_model_dir() / "model.safetensors")), int8=False),
              str(tmp_path / "float32.onnx"))
    reference = SentenceEncoder.load(tmp_path / "float32.onnx", bundled_model_dir() / "vocab.txt")
    texts = ["My support worker helps me with money.", "I was scared on the bus.",
             "Nobody listens to my mum when she phones the doctor about my fits."]
    cosines = (encoder.encode(texts) * reference.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.98


def test_batches_run_at_once_give_the_vectors_of_one_at_a_time(encoder_dir):
    # Enough answers of different lengths for several batches, so the workers share them out.
    texts = [f"answer {index}: " + "my support worker helps me " * (index % 7) for index in range(100)]
    one_at_a_time = SentenceEncoder.load(encoder_dir / ENCODER_FILE, threads=1)
    at_once = SentenceEncoder.load(encoder_dir / ENCODER_FILE, threads=3)
    assert (one_at_a_time.workers, at_once.workers) == (1, 3)
    np.testing.assert_allclose(at_once.encode(texts), one_at_a_time.encode(texts), atol=1e-6)
