"""The sanity anchor: the classic small MNIST network on all 48,000 training images, through `fit`.

784 → 128 (batch norm, ReLU, dropout 0.5) → 10, Adam with lr 1e-3 and weight decay 1e-4 on the
weight matrices, batches of 64, on the whole training pool of full MNIST, scored on MNIST's
10,000 test images after 10 and after 20 epochs. On a CPU, 10 epochs take about 10 s. It checks
that the training core reaches what this network is known to reach (about 97-98% test accuracy),
so a slow or broken loop cannot hide behind the book's small training sets.

    python benchmarks/anchor.py                  # 20 epochs on the best device
    python benchmarks/anchor.py --quick          # a smoke run: 2,000 images, 2 epochs

Prints a line per checkpoint and, on its last line, JSON.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import regutils as ru
from regutils.train import evaluate


class TestAt(ru.Callback):
    """Scores the model on the test set after the given epochs (it never changes the training)."""

    def __init__(self, data: ru.MNISTSplit, epochs: set[int]):
        self.data, self.epochs, self.scores = data, epochs, {}

    def on_epoch_end(self, model, history):
        if len(history) in self.epochs:
            self.scores[len(history)] = evaluate(model, self.data.x_test, self.data.y_test)[1]
        return False


def main(argv: list[str] | None = None) -> dict:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--epochs", type=int, default=20)
    options.add_argument("--checkpoints", default="10,20", help="epochs to score the test set at")
    options.add_argument("--quick", action="store_true", help="2,000 images, 2 epochs")
    options.add_argument("--device", default=None, help="default: the best one")
    arguments = options.parse_args(argv)
    train_size, epochs = (2000, 2) if arguments.quick else (None, arguments.epochs)
    checkpoints = {int(e) for e in arguments.checkpoints.split(",") if int(e) <= epochs} | {epochs}
    data = ru.load_mnist(train_size, seed=0, device=arguments.device)
    scorer = TestAt(data, checkpoints)
    model = ru.mlp((128,), dropout=0.5, norm="batch")
    started = time.perf_counter()
    history = ru.fit(model, data, epochs, lr=1e-3, weight_decay=1e-4, batch_size=64,
                     callbacks=[scorer])
    seconds = time.perf_counter() - started
    for epoch, accuracy in sorted(scorer.scores.items()):
        print(f"after {epoch:2d} epochs: test accuracy {accuracy:.4f}")
    summary = {"device": str(data.device), "data_source": data.source,
               "train_images": len(data.y_train), "epochs": epochs,
               "test_acc": {str(epoch): round(acc, 4) for epoch, acc in sorted(scorer.scores.items())},
               "median_epoch_seconds": round(statistics.median(history["seconds"]), 3),
               "seconds": round(seconds, 1)}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
