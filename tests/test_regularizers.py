import copy
import math

import pytest
import torch

import regutils as ru
from regutils.regularizers import weights
from tests.helpers import tiny_model

BATCH = (torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(1)),
         torch.arange(16) % 10)


def one_step(model, optimizer, regularizers=()):
    """One training step through the hooks, exactly as fit takes it."""
    ru.train.train_step(model, optimizer, *BATCH, regularizers)
    return model


def assert_same_weights(first, second, atol=1e-7):
    for a, b in zip(first.parameters(), second.parameters()):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)


def only_weights(model, lr, weight_decay, kind):
    """An optimizer decaying weight matrices only, as the penalties do."""
    return kind(ru.train.parameter_groups(model, weight_decay), lr=lr)


def test_l2_penalty_is_half_lambda_squared_norm():
    model = tiny_model()
    expected = 0.5 * 0.1 * sum(w.pow(2).sum() for w in weights(model))
    assert ru.L2(0.1).penalty(model).item() == pytest.approx(expected.item())


def test_l1_penalty_is_lambda_abs_sum_and_skips_biases():
    model = tiny_model()
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 1:
                p.fill_(100.0)
    expected = 0.01 * sum(w.abs().sum() for w in weights(model))
    assert ru.L1(0.01).penalty(model).item() == pytest.approx(expected.item())


def test_sgd_weight_decay_equals_l2_penalty():
    with_penalty, with_decay = tiny_model(), tiny_model()
    one_step(with_penalty, torch.optim.SGD(with_penalty.parameters(), lr=0.1), [ru.L2(0.05)])
    one_step(with_decay, only_weights(with_decay, 0.1, 0.05, torch.optim.SGD))
    assert_same_weights(with_penalty, with_decay)


def test_coupled_decay_is_adams_own_weight_decay():
    ours, torchs = tiny_model(), tiny_model()
    one_step(ours, torch.optim.Adam(ours.parameters(), lr=0.01), [ru.CoupledWeightDecay(0.1)])
    one_step(torchs, only_weights(torchs, 0.01, 0.1, torch.optim.Adam))
    assert_same_weights(ours, torchs)


def test_decoupled_decay_is_adamw():
    ours, torchs = tiny_model(), tiny_model()
    adam_without_decay = torch.optim.Adam(ours.parameters(), lr=0.01)
    for _ in range(3):
        one_step(ours, adam_without_decay, [ru.DecoupledWeightDecay(0.5)])
    adamw = only_weights(torchs, 0.01, 0.5, torch.optim.AdamW)
    for _ in range(3):
        one_step(torchs, adamw)
    assert_same_weights(ours, torchs, atol=1e-6)


def test_coupled_and_decoupled_differ_for_adam():
    coupled, decoupled = tiny_model(), tiny_model()
    one_step(coupled, torch.optim.Adam(coupled.parameters(), lr=0.01), [ru.CoupledWeightDecay(0.5)])
    one_step(decoupled, torch.optim.Adam(decoupled.parameters(), lr=0.01),
             [ru.DecoupledWeightDecay(0.5)])
    assert not torch.allclose(coupled[1].weight, decoupled[1].weight)


def test_proximal_l1_makes_exact_zeros_plain_l1_does_not():
    plain, proximal = tiny_model(), tiny_model()
    for model, regularizer in ((plain, ru.L1(0.02)), (proximal, ru.ProximalL1(0.02))):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(20):
            one_step(model, optimizer, [regularizer])
    exact = lambda m: (m[1].weight == 0).float().mean().item()
    assert exact(proximal) > 0.5
    assert exact(plain) < 0.01
    assert (proximal[1].bias != 0).any()  # biases are not shrunk


def test_soft_threshold_by_lr_times_lambda():
    model = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.3, -0.05]]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ru.ProximalL1(1.0).after_step(model, optimizer)  # threshold 0.1
    torch.testing.assert_close(model[0].weight, torch.tensor([[0.2, 0.0]]))


def test_input_noise_changes_inputs_not_labels():
    x, y = BATCH
    noisy, same_y = ru.InputNoise(0.5).transform(x, y)
    assert torch.equal(same_y, y)
    assert (noisy - x).std().item() == pytest.approx(0.5, rel=0.1)
    assert torch.equal(ru.InputNoise(0.0).transform(x, y)[0], x)


def test_weight_noise_is_gone_before_the_step():
    noisy, clean = tiny_model(), tiny_model()
    before = copy.deepcopy(noisy)
    one_step(noisy, torch.optim.SGD(noisy.parameters(), lr=0.0), [ru.WeightNoise(0.5)])
    assert_same_weights(noisy, before)  # lr 0: restored exactly
    # with a real step, the gradient was taken at perturbed weights: the update differs
    one_step(noisy, torch.optim.SGD(noisy.parameters(), lr=0.1), [ru.WeightNoise(0.5)])
    one_step(clean, torch.optim.SGD(clean.parameters(), lr=0.1))
    assert not torch.allclose(noisy[1].weight, clean[1].weight)


def test_augmentation_is_random_per_sample():
    image = BATCH[0][:1]
    batch = image.repeat(8, 1, 1, 1)
    moved, _ = ru.RandomAffine(1.0).transform(batch, torch.zeros(8))
    flat = moved.flatten(1)
    distinct = {tuple(row.round(decimals=4).tolist()) for row in flat}
    assert len(distinct) == 8


def test_augmentation_keeps_black_background_and_zero_is_identity(data):
    x = data.x_train[:16]
    same, _ = ru.RandomAffine(0.0).transform(x, None)
    assert torch.equal(same, x)
    moved, _ = ru.RandomAffine(2.0).transform(x, None)
    assert not torch.equal(moved, x)
    black = torch.full((8, 1, 28, 28), ru.data.BACKGROUND)
    padded, _ = ru.RandomAffine(2.0).transform(black, None)  # shifted-in border stays black
    torch.testing.assert_close(padded, black)


def test_small_augmentation_keeps_the_digit_recognizable(data):
    x = data.x_train[:64]
    moved, _ = ru.RandomAffine(0.5).transform(x, None)
    correlation = torch.nn.functional.cosine_similarity(moved.flatten(1) - ru.data.BACKGROUND,
                                                        x.flatten(1) - ru.data.BACKGROUND)
    assert correlation.mean() > 0.5


def test_flip_mirrors_each_image_on_its_own_and_keeps_the_labels():
    x, y = BATCH
    mirrored, same_y = ru.RandomFlip(1.0).transform(x, y)
    assert torch.equal(mirrored, torch.flip(x, dims=(3,))) and torch.equal(same_y, y)
    assert torch.equal(ru.RandomFlip(0.0).transform(x, y)[0], x)
    torch.manual_seed(0)
    batch = torch.randn(400, 1, 28, 28)
    some, _ = ru.RandomFlip(0.5).transform(batch, None)
    flipped = (some == torch.flip(batch, dims=(3,))).flatten(1).all(1)
    kept = (some == batch).flatten(1).all(1)
    assert bool((flipped ^ kept).all())  # each image whole: mirrored or as it was
    assert 150 < int(flipped.sum()) < 250  # about half of them, drawn per image


@pytest.mark.parametrize("make, bad, message", [
    (ru.L1, -1e-3, r"L1 strength λ must be in \[0, inf\), got -0.001"),
    (ru.L2, math.nan, "L2 strength λ must be in"),
    (ru.L2, math.inf, "L2 strength λ must be in"),
    (ru.InputNoise, -0.1, "input noise σ must be in"),
    (ru.WeightNoise, -1, "weight noise σ must be in"),
    (ru.RandomAffine, 6.0, r"augmentation strength must be in \[0, 5\], got 6.0"),
    (ru.RandomFlip, 1.5, r"flip probability p must be in \[0, 1\], got 1.5"),
    (ru.DecoupledWeightDecay, -2, "decoupled weight decay λ must be in"),
])
def test_bad_strengths_name_the_value_and_range(make, bad, message):
    with pytest.raises(ValueError, match=message):
        make(bad)


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.1]])
def test_non_numbers_are_refused(bad):
    with pytest.raises(TypeError, match="must be a number"):
        ru.L2(bad)


def test_max_norm_clips_long_units_and_leaves_short_ones():
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0, 0.0], [0.1, 0.0, 0.0]]))
    ru.MaxNorm(2.0).after_step(layer, None)
    assert torch.allclose(layer.weight[0], torch.tensor([1.2, 1.6, 0.0]), atol=1e-5)
    assert torch.equal(layer.weight[1], torch.tensor([0.1, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"max-norm radius c must be in \(0, inf\)"):
        ru.MaxNorm(0.0)


def test_sgd_momentum_is_what_torch_does():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    optimizer = ru.train.make_optimizer(model, "sgd", lr=0.1, momentum=0.9)
    assert optimizer.param_groups[0]["momentum"] == 0.9
