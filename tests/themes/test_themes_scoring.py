"""The nearest training answers are found exactly, however they are grouped."""
from __future__ import annotations

import numpy as np
import pytest

from bot.themes.scoring import _nearest


@pytest.mark.parametrize("count, k", [(2218, 10), (83, 10), (80, 10), (16, 10), (10, 10), (3, 3), (2219, 1)])
def test_nearest_are_those_a_full_search_finds(count, k):
    rng = np.random.default_rng(count)
    similarity = rng.standard_normal((300, count)).astype(np.float32)
    nearest = _nearest(similarity, k)
    expected = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(np.sort(nearest, axis=1), np.sort(expected, axis=1))


def test_nearest_finds_neighbours_that_share_a_group():
    # The three most similar answers all sit in one group (columns 5, 5 + groups, 5 + 2 groups).
    similarity = np.zeros((1, 40), np.float32)
    similarity[0, [5, 10, 15]] = [0.9, 0.8, 0.7]
    similarity[0, 1] = 0.5
    assert sorted(_nearest(similarity, 4)[0]) == [1, 5, 10, 15]
