"""What a run recorded: a record per epoch, the test result, and which epoch's weights it kept."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """What happened in a run, one record per epoch, plus the test result at the end.

    Each record holds `objective` (the training loss as optimized, penalty included, averaged over
    the epoch's batches in train mode), `penalty` (its regularization part), `train_loss` and
    `train_acc` (the data loss and accuracy on the clean training set in eval mode), `val_loss`,
    `val_acc`, `weight_norm` (‖w‖₂ over the weight matrices at the epoch's end) and `seconds`
    (the epoch's wall time). `history["val_loss"]` is one metric's list.

    The three epochs early stopping sets live here, not on the callback, because a history recalled
    from the run cache must still say which weights its model ended with.

    >>> history = History([{"epoch": 1, "val_loss": 0.5}, {"epoch": 2, "val_loss": 0.4}])
    >>> history["val_loss"], len(history)
    ([0.5, 0.4], 2)
    """

    records: list[dict] = field(default_factory=list)
    test_loss: float | None = None
    test_acc: float | None = None
    best_epoch: int | None = None      # the epoch early stopping judged best
    stopped_epoch: int | None = None   # the epoch after which early stopping ended training
    restored_epoch: int | None = None  # the epoch whose weights the model was given back
    interrupted: bool = False
    data_source: str = ""

    def __getitem__(self, metric: str) -> list[float]:
        if self.records and metric not in self.records[0]:
            raise KeyError(f"no metric {metric!r}; the history has {', '.join(self.records[0])}")
        return [record[metric] for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def generalization_gap(self) -> list[float]:
        """Training minus validation accuracy, per epoch."""
        return [r["train_acc"] - r["val_acc"] for r in self.records]

    def final(self) -> dict:
        """The metrics of the weights the model ends with (the restored epoch if any), and the test."""
        if not self.records:
            raise ValueError("the history is empty: no epoch finished")
        epoch = self.restored_epoch or len(self.records)
        record = self.records[epoch - 1]
        return {
            "train_loss": record["train_loss"], "val_loss": record["val_loss"],
            "train_acc": record["train_acc"], "val_acc": record["val_acc"],
            "test_loss": self.test_loss, "test_acc": self.test_acc,
            "generalization_gap": record["train_acc"] - record["val_acc"],
            "loss_gap": record["val_loss"] - record["train_loss"],
            "epochs": len(self.records), "seconds": sum(self["seconds"]),
            "data_source": self.data_source,
        }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> "History":
        return cls(**saved)
