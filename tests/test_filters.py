"""One Euro, EMA and pass-through filters for the on-screen point."""

from __future__ import annotations

import numpy as np
import pytest

from gazezoom.errors import InputValueError, ShapeError, UnknownNameError
from gazezoom.filters import FILTERS, OneEuroFilter, create_filter


def _run(f, pts, fps=30.0):
    return np.array([f(i / fps, p) for i, p in enumerate(pts)])


def test_registry_names_and_unknown():
    assert FILTERS.names() == ["ema", "none", "one_euro"]
    with pytest.raises(UnknownNameError, match="one_euro"):
        create_filter("kalman")


@pytest.mark.parametrize("name", ["one_euro", "ema", "none"])
def test_constant_input_is_fixed_point(name):
    out = _run(create_filter(name), np.full((20, 2), 123.0))
    np.testing.assert_allclose(out, 123.0, atol=1e-9)


def test_one_euro_reduces_jitter_at_rest():
    rng = np.random.default_rng(0)
    pts = 500 + rng.normal(0, 90, (300, 2))  # webcam gaze jitter at rest
    out = _run(create_filter("one_euro"), pts)
    assert out[30:].std(0).max() < 0.5 * pts[30:].std(0).min()


def test_one_euro_follows_a_jump_faster_than_a_slow_ema():
    """Speed raises the cutoff: after a 600 px saccade the 1€ output is closer than an EMA of equal rest jitter."""
    pts = np.concatenate([np.full((30, 2), 100.0), np.full((30, 2), 700.0)])
    one = _run(OneEuroFilter(min_cutoff=0.5, beta=0.01), pts)
    ema = _run(create_filter("ema", tau_s=1 / (2 * np.pi * 0.5)), pts)  # same cutoff as 1€ at rest
    k = 30 + 5  # 5 frames after the jump
    assert abs(one[k, 0] - 700) < 0.5 * abs(ema[k, 0] - 700)


def test_beta_zero_is_a_fixed_low_pass():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    a = _run(f, np.array([[0.0, 0.0], [100.0, 0.0]]))
    alpha = 1 / (1 + (1 / (2 * np.pi)) * 30)
    assert a[1, 0] == pytest.approx(alpha * 100)


def test_reset_forgets_history():
    f = create_filter("one_euro")
    f(0.0, [0, 0])
    f(0.1, [10, 10])
    f.reset()
    np.testing.assert_allclose(f(0.0, [50, 60]), [50, 60])


def test_bad_input():
    f = create_filter("one_euro")
    with pytest.raises(ShapeError, match=r"\(2,\)"):
        f(0.0, [1, 2, 3])
    f(1.0, [0, 0])
    with pytest.raises(InputValueError, match="timestamps must increase"):
        f(1.0, [1, 1])
    with pytest.raises(InputValueError, match="finite"):
        f(2.0, [np.nan, 1])
    with pytest.raises(InputValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0)
    with pytest.raises(InputValueError, match="beta"):
        OneEuroFilter(beta=-1)
