"""The checks of the penalties chapter accept the right answer and reject plausible wrong ones."""
import pytest
import torch

import regutils as ru
from regutils.coursework import penalties


def soft(w, t):
    return torch.sign(w) * (w.abs() - t).clamp_min(0.0)


# --- check_soft_threshold --------------------------------------------------------------------

def test_soft_threshold_accepts_two_ways_of_writing_it(capsys):
    penalties.check_soft_threshold(soft)
    penalties.check_soft_threshold(
        lambda w, t: torch.where(w.abs() > t, w - t * torch.sign(w), torch.zeros_like(w)))
    assert capsys.readouterr().out.count("✓ correct") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda w, t: (w.abs() - t).clamp_min(0.0), "sign is lost"),
    (lambda w, t: w - t * torch.sign(w), "overshoot"),
    (lambda w, t: w * (w.abs() > t), "hard thresholding"),
    (lambda w, t: w.sub_(t * torch.sign(w)), "changed its input"),
    (lambda w, t: soft(w, 2 * t), "differs from soft-thresholding"),
])
def test_soft_threshold_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        penalties.check_soft_threshold(wrong)


def test_soft_threshold_needs_a_function():
    with pytest.raises(AssertionError, match="expected a function"):
        penalties.check_soft_threshold(soft(torch.ones(3), 0.1))


# --- check_ridge -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regression():
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(50, 2, generator=generator, dtype=torch.float64)
    X[:, 1] = X[:, 0] + 0.1 * X[:, 1]
    y = X @ torch.tensor([1.0, 2.0], dtype=torch.float64) + torch.randn(
        50, generator=generator, dtype=torch.float64)
    return X, y, 0.1


def solve(X, y, strength):
    n = len(y)
    H = X.T @ X / n
    ridge = torch.linalg.solve(H + strength * torch.eye(2, dtype=H.dtype), X.T @ y / n)
    plain = torch.linalg.solve(H, X.T @ y / n)
    _, vectors = torch.linalg.eigh(H)
    return ridge, (vectors.T @ ridge) / (vectors.T @ plain), plain


def test_ridge_accepts_the_solution_and_its_factors(regression, capsys):
    X, y, strength = regression
    ridge, factors, _ = solve(X, y, strength)
    penalties.check_ridge(X, y, strength, ridge, factors)
    penalties.check_ridge(X, y, strength, ridge.tolist(), factors.numpy())
    out = capsys.readouterr().out
    assert out.count("✓ correct") == 2 and "direction the data determines least" in out


def test_ridge_rejects_least_squares_and_the_summed_convention(regression):
    X, y, strength = regression
    _, factors, plain = solve(X, y, strength)
    with pytest.raises(AssertionError, match="unpenalized"):
        penalties.check_ridge(X, y, strength, plain, factors)
    summed = torch.linalg.solve(X.T @ X + strength * torch.eye(2, dtype=X.dtype), X.T @ y)
    with pytest.raises(AssertionError, match="sum"):
        penalties.check_ridge(X, y, strength, summed, factors)


def test_ridge_rejects_reversed_and_inverted_factors(regression):
    X, y, strength = regression
    ridge, factors, _ = solve(X, y, strength)
    with pytest.raises(AssertionError, match="reverse order"):
        penalties.check_ridge(X, y, strength, ridge, factors.flip(0))
    with pytest.raises(AssertionError, match="inverse"):
        penalties.check_ridge(X, y, strength, ridge, 1 / factors)
    with pytest.raises(AssertionError, match="shape"):
        penalties.check_ridge(X, y, strength, ridge, factors[:1])


# --- check_near_best -------------------------------------------------------------------------

VALUES = [1e-4, 1e-2, 1.0]


@pytest.fixture(scope="module")
def quick_sweep():
    ru.use_profile("quick")
    try:
        yield ru.sweep("l2", VALUES)
    finally:
        ru.profiles._chosen = None


def expected_near_best(result):
    best = result.values[int(result.mean("val_loss").argmin())]
    return best, [v for v in result.values
                  if v == best or not result.paired("val_loss", v, best).excludes(0)]


def test_near_best_accepts_the_strengths_within_noise(quick_sweep, capsys):
    ru.use_profile("quick")
    try:
        _, near = expected_near_best(quick_sweep)
        penalties.check_near_best("l2", VALUES, near)
    finally:
        ru.profiles._chosen = None
    assert capsys.readouterr().out.startswith("✓ correct")


def test_near_best_rejects_a_strength_not_swept_and_a_missing_best(quick_sweep):
    ru.use_profile("quick")
    try:
        best, near = expected_near_best(quick_sweep)
        with pytest.raises(AssertionError, match="not one of the swept"):
            penalties.check_near_best("l2", VALUES, [*near, 0.5])
        others = [v for v in VALUES if v != best]
        with pytest.raises(AssertionError, match="best strength"):
            penalties.check_near_best("l2", VALUES, others)
        with pytest.raises(AssertionError, match="list of strengths"):
            penalties.check_near_best("l2", VALUES, "0.01")
    finally:
        ru.profiles._chosen = None


def test_near_best_leaves_the_callers_random_stream_alone(quick_sweep, tmp_path, monkeypatch):
    from tests.helpers import leaves_random_stream_alone

    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path))  # an empty cache: the check trains
    ru.use_profile("quick")
    try:
        _, near = expected_near_best(quick_sweep)
        assert leaves_random_stream_alone(lambda: penalties.check_near_best("l2", VALUES, near))
    finally:
        ru.profiles._chosen = None
