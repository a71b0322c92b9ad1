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
