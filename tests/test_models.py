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
