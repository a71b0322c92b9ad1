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
    ({"norm": "batch"}, "takes norm None or 'layer'"),
    ({"input_dropout": 0.1}, "no input dropout"),
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
