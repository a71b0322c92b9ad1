"""How sure a classifier is, and whether its confidence matches how often it is right.

A network's confidence in an answer is the probability it gives its predicted class. It is
*calibrated* when, among the answers given with confidence about c, a fraction of about c is
right. The expected calibration error (ECE) averages the gap between confidence and accuracy over
bins of confidence, weighted by how many answers fall in each bin (Guo et al., 2017).

>>> probabilities = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
>>> round(expected_calibration_error(probabilities, torch.tensor([0, 1, 1]), bins=2), 3)
0.1
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import stats

EVAL_CHUNK = 4096


@torch.no_grad()
def predict_probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities of `model` in eval mode for the images `x`, on the model's device."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = [F.softmax(model(x[start:start + EVAL_CHUNK].to(device)), dim=1)
              for start in range(0, len(x), EVAL_CHUNK)]
    model.train(was_training)
    return torch.cat(chunks)


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor,
                               bins: int = 15) -> float:
    """The ECE: |accuracy − confidence| per equal-width confidence bin, weighted by bin size."""
    confidence, predicted = probabilities.max(dim=1)
    correct = (predicted == labels.to(predicted.device)).float()
    edges = torch.linspace(0, 1, bins + 1, device=confidence.device)
    total = torch.zeros((), device=confidence.device)
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.float().mean() * (correct[inside].mean() - confidence[inside].mean()).abs()
    return float(total)


def reliability(probabilities: torch.Tensor, labels: torch.Tensor,
                bins: int = 15) -> list[dict]:
    """Per non-empty confidence bin: its mean confidence, its accuracy and how many answers."""
    confidence, predicted = probabilities.max(dim=1)
    correct = (predicted == labels.to(predicted.device)).float()
    edges = torch.linspace(0, 1, bins + 1, device=confidence.device)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            rows.append({"confidence": float(confidence[inside].mean()),
                         "accuracy": float(correct[inside].mean()), "count": int(inside.sum())})
    return rows


def confidence_report(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      bins: int = 15) -> dict:
    """Accuracy, cross-entropy, ECE and mean confidence overall, on right and on wrong answers."""
    probabilities = predict_probabilities(model, x)
    labels = y.to(probabilities.device)
    confidence, predicted = probabilities.max(dim=1)
    right = predicted == labels
    picked = probabilities.gather(1, labels.unsqueeze(1)).squeeze(1)
    return {"accuracy": float(right.float().mean()),
            "loss": float(-picked.clamp_min(1e-12).log().mean()),
            "ece": expected_calibration_error(probabilities, labels, bins),
            "confidence": float(confidence.mean()),
            "confidence_right": float(confidence[right].mean()) if right.any() else float("nan"),
            "confidence_wrong": float(confidence[~right].mean()) if (~right).any() else float("nan")}


def paired_change(reports: dict[str, list[dict]], arm: str, metric: str,
                  against: str = "baseline", scale: float = 1.0) -> stats.Interval:
    """`metric` of `arm`'s reports minus `against`'s, paired by seed, with its 95% interval.

    `reports` maps each arm to its `confidence_report`s, one per seed in the same seed order.

    >>> reports = {"baseline": [{"loss": 0.30}, {"loss": 0.32}, {"loss": 0.31}],
    ...            "L2": [{"loss": 0.25}, {"loss": 0.28}, {"loss": 0.26}]}
    >>> round(paired_change(reports, "L2", "loss").mean, 3)
    -0.047
    """
    if len(reports[arm]) != len(reports[against]):
        raise ValueError(f"{arm!r} has {len(reports[arm])} reports and {against!r} "
                         f"{len(reports[against])}: pair them by seed, one report per seed each")
    return stats.paired_difference([report[metric] for report in reports[arm]],
                                   [report[metric] for report in reports[against]]).scaled(scale)
