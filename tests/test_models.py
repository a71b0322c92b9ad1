import pytest
import torch
from torch import nn

import regutils as ru


def test_mlp_output_and_layer_order():
    model = ru.mlp(hidden=(64, 32), dropout=0.5, norm="layer", input_dropout=0.1)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Flatten", "Dropout", "Linear", "LayerNorm", "ReLU", "Dropout",
                     "Linear", "LayerNorm", "ReLU", "Dropout", "Linear"]
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)


def test_no_dropout_layers_at_zero():
    assert not any(isinstance(m, nn.Dropout) for m in ru.mlp(hidden=(8,)))


@pytest.mark.parametrize("options, message", [
    ({"dropout": -0.1}, "dropout must be a probability in \\[0, 1\\), got -0.1"),
    ({"dropout": 1.0}, "dropout must be a probability"),
    ({"input_dropout": float("nan")}, "input_dropout must be a probability"),
    ({"norm": "group"}, "unknown norm 'group'"),
    ({"hidden": (0,)}, "hidden must be a sequence of positive ints"),
    ({"hidden": (12.5,)}, "hidden must be a sequence of positive ints"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        ru.mlp(**options)


def test_single_int_width_is_one_layer():
    assert sum(isinstance(m, nn.Linear) for m in ru.mlp(hidden=16)) == 2


def test_row_transformer_reads_rows_and_layer_norm_is_optional():
    with_norm = ru.models.row_transformer((32, 32), norm="layer")
    without = ru.models.row_transformer((32, 32))
    count = lambda model: sum(isinstance(m, nn.LayerNorm) for m in model.modules())
    assert count(with_norm) == 5 and count(without) == 0  # two per block, one at the end
    assert with_norm(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("options, message", [
    ({"hidden": (32, 64)}, "share one width"),
    ({"norm": "group"}, "takes norm None, 'layer', 'rms' or 'batch'"),
    ({"input_dropout": 0.1}, "no input dropout"),
    ({"ghost_batch": 4}, "no ghost batch norm"),
])
def test_row_transformer_refuses_what_it_cannot_do(options, message):
    with pytest.raises(ValueError, match=message):
        ru.models.row_transformer(**{"hidden": (32, 32), **options})


def test_experiment_builds_the_model_it_names():
    exp = ru.Experiment("layer_norm", model="row_transformer", hidden=(32, 32), profile="quick")
    assert isinstance(exp.build_model(), ru.models.RowTransformer)
    with pytest.raises(ValueError, match="unknown model 'cnn'"):
        ru.Experiment(model="cnn")


def test_activation_and_initial_weights_are_options_of_the_mlp():
    torch.manual_seed(0)
    network = ru.mlp((30,), activation="sigmoid", init_std=1.0)
    assert isinstance(network[2], torch.nn.Sigmoid)
    first = network[1]
    assert abs(first.weight.std().item() - 1.0) < 0.01 and abs(first.bias.std().item() - 1.0) < 0.3
    assert isinstance(ru.mlp((8,), activation="tanh")[2], torch.nn.Tanh)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        ru.mlp((8,), activation="gelu")
    with pytest.raises(ValueError, match="init_std must be > 0"):
        ru.mlp((8,), init_std=0.0)


def test_experiment_builds_the_mlp_it_describes_and_refuses_what_it_cannot():
    experiment = ru.Experiment(hidden=(30,), activation="sigmoid", init_std=1.0, optimizer="sgd",
                               momentum=0.9, lr=0.5, profile="quick")
    torch.manual_seed(0)
    assert isinstance(experiment.build_model()[2], torch.nn.Sigmoid)
    with pytest.raises(ValueError, match="momentum applies to optimizer 'sgd' only"):
        ru.Experiment(momentum=0.9)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        ru.Experiment(optimizer="sgd", momentum=1.0)
    with pytest.raises(ValueError, match="options of the MLP"):
        ru.Experiment(model="row_transformer", activation="tanh")


def test_ghost_batch_norm_with_one_group_is_batch_norm():
    torch.manual_seed(0)
    x = 3 * torch.randn(32, 6) + 1
    ghost, plain = ru.models.GhostBatchNorm1d(6, ghost_batch=32), nn.BatchNorm1d(6)
    for layer in (ghost, plain):
        with torch.no_grad():
            layer.weight.uniform_(0.5, 1.5), layer.bias.normal_()
    plain.load_state_dict(ghost.state_dict())
    assert torch.allclose(ghost(x), plain(x), atol=1e-6)
    assert torch.allclose(ghost.running_var, plain.running_var)
    ghost.eval(), plain.eval()
    assert torch.allclose(ghost(x), plain(x), atol=1e-6)


@pytest.mark.parametrize("batch", [32, 30])  # equal groups, and a smaller last group
def test_ghost_batch_norm_normalizes_each_group_on_its_own(batch):
    torch.manual_seed(1)
    x = torch.randn(batch, 5) * torch.arange(1.0, 6.0) + 2
    layer = ru.models.GhostBatchNorm1d(5, ghost_batch=8)
    out = layer(x)
    for group, normalized in zip(x.split(8), out.split(8)):
        by_hand = (group - group.mean(0)) / torch.sqrt(group.var(0, unbiased=False) + 1e-5)
        assert torch.allclose(normalized, by_hand, atol=1e-5)
    # the running averages move once per batch, by the batch mean and the groups' variances
    within = torch.stack([group.var(0) for group in x.split(8)]).mean(0)
    assert torch.allclose(layer.running_mean, 0.1 * x.mean(0), atol=1e-6)
    assert torch.allclose(layer.running_var, 0.9 + 0.1 * within, atol=1e-5)
    assert int(layer.num_batches_tracked) == 1
    out.sum().backward()  # gradients flow through every group's statistics
    assert layer.weight.grad is not None


def test_ghost_batch_norm_refuses_a_group_of_one_and_bad_sizes():
    with pytest.raises(ValueError, match="group of one example"):
        ru.models.GhostBatchNorm1d(3, ghost_batch=4)(torch.randn(9, 3))
    for bad in (1, 2.5, True):
        with pytest.raises(ValueError, match="ghost_batch must be a whole number >= 2"):
            ru.mlp((8,), norm="batch", ghost_batch=bad)
    with pytest.raises(ValueError, match="ghost_batch is an option of batch norm"):
        ru.mlp((8,), norm="layer", ghost_batch=4)


def test_ghost_batch_norm_is_a_technique_with_the_group_size_as_strength():
    model = ru.Experiment("ghost_batch_norm", 4, hidden=(16, 16), profile="quick").build_model()
    ghosts = [layer for layer in model if isinstance(layer, ru.models.GhostBatchNorm1d)]
    assert [layer.ghost_batch for layer in ghosts] == [4, 4]
    assert all(isinstance(layer, nn.BatchNorm1d) for layer in ghosts)  # a batch norm to its users
    with pytest.raises(ValueError, match="whole number"):
        ru.Experiment("ghost_batch_norm", 4.5)


def test_rms_norm_divides_by_the_root_mean_square_and_matches_torch():
    torch.manual_seed(2)
    x = torch.randn(4, 7, 16) + 3
    ours = ru.models.RMSNorm(16)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
    by_hand = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * ours.weight
    assert torch.allclose(ours(x), by_hand, atol=1e-6)
    if hasattr(nn, "RMSNorm"):  # torch >= 2.4
        theirs = nn.RMSNorm(16, eps=1e-5)
        theirs.load_state_dict(ours.state_dict())
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    kinds = [type(m).__name__ for m in ru.Experiment("rms_norm", hidden=(8,), profile="quick")
             .build_model()]
    assert kinds == ["Flatten", "Linear", "RMSNorm", "ReLU", "Linear"]


@pytest.mark.parametrize("norm, kind", [("layer", nn.LayerNorm), ("rms", ru.models.RMSNorm),
                                        ("batch", ru.models.TokenBatchNorm)])
def test_row_transformer_takes_each_norm_before_or_after_the_residual_sum(norm, kind):
    pre = ru.models.RowTransformer(16, 2, 2, norm=norm)
    post = ru.models.RowTransformer(16, 2, 2, norm=norm, norm_position="post")
    count = lambda model: sum(isinstance(m, kind) for m in model.modules())
    assert count(pre) == 5 and count(post) == 4  # post-norm has no final norm
    images = torch.randn(6, 1, 28, 28)
    assert pre(images).shape == post(images).shape == (6, 10)
    block = post.blocks[0]  # post-norm: each block's output is normalized
    tokens = torch.randn(6, 28, 16)
    if norm == "layer":
        out = block(tokens)
        assert torch.allclose(out.mean(-1), torch.zeros(6, 28), atol=1e-5)
    with pytest.raises(ValueError, match="norm_position must be 'pre' or 'post'"):
        ru.models.RowTransformer(16, 1, 2, norm=norm, norm_position="middle")


def test_token_batch_norm_pools_the_batch_and_the_positions():
    tokens = torch.randn(5, 7, 3) * torch.tensor([1.0, 4.0, 0.1]) + 2
    out = ru.models.TokenBatchNorm(3)(tokens)
    pooled = out.reshape(-1, 3)
    assert torch.allclose(pooled.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(pooled.var(0, unbiased=False), torch.ones(3), atol=1e-3)
    model = ru.Experiment("batch_norm", model="row_transformer", hidden=(16, 16),
                          profile="quick").build_model()
    assert sum(isinstance(m, ru.models.TokenBatchNorm) for m in model.modules()) == 5
