import gzip
import shutil

import pytest
import torch

from gan_study import data
from gan_study.data import load_splits, resolve_data_dir
from gan_study.errors import GanStudyError


@pytest.fixture(autouse=True)
def explicit_data_dir_only(monkeypatch):
    """These tests pass the data dir explicitly; the environment override would hide it."""
    monkeypatch.delenv("GAN_STUDY_DATA_DIR", raising=False)


def test_paper_splits(mnist_dir):
    s = load_splits("mnist", mnist_dir)
    assert s.train_x.shape == (50_000, 1, 28, 28) and s.valid_x.shape == (10_000, 1, 28, 28)
    assert s.test_x.shape == (10_000, 1, 28, 28) and s.image_shape == (1, 28, 28)
    assert s.train_x.dtype == torch.float32 and s.train_x.min() == 0 and s.train_x.max() == 1
    assert s.train_y[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first MNIST labels
    assert s.valid_y[:3].tolist() == [3, 8, 6]  # training images 50,000… are the validation split
    assert load_splits("mnist", mnist_dir) is s  # loaded once per process


def test_fashion_mnist(mnist_dir):
    s = load_splits("fashion_mnist", mnist_dir)
    assert s.train_x.shape == (50_000, 1, 28, 28)
    assert torch.bincount(s.test_y).tolist() == [1000] * 10


def _copy(mnist_dir, dest):
    shutil.copytree(mnist_dir / "mnist", dest)


def test_missing_file_names_the_file_and_the_fix(tmp_path, mnist_dir):
    _copy(mnist_dir, tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(GanStudyError, match=r"t10k-labels-idx1-ubyte.gz is missing.*GAN_STUDY_DATA_DIR.*download"):
        load_splits("mnist", tmp_path)
    with pytest.raises(GanStudyError, match="missing"):
        load_splits("mnist", tmp_path / "nowhere")


def test_truncated_or_altered_file_is_refused(tmp_path, mnist_dir):
    _copy(mnist_dir, tmp_path / "mnist")
    f = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(GanStudyError, match=r"train-labels-idx1-ubyte.gz is corrupt.*md5"):
        load_splits("mnist", tmp_path)


def test_torchvision_layout_and_env_override(tmp_path, mnist_dir, monkeypatch):
    _copy(mnist_dir, tmp_path / "MNIST" / "raw")
    monkeypatch.setenv("GAN_STUDY_DATA_DIR", str(tmp_path))
    assert resolve_data_dir("/somewhere/else") == tmp_path
    train, labels, *_ = data.load_uint8("mnist", "/somewhere/else")
    assert train.shape == (60_000, 28, 28)
    with gzip.open(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz") as fh:
        assert fh.read()[8] == labels[0]


def test_unknown_dataset():
    with pytest.raises(GanStudyError, match="unknown dataset"):
        load_splits("svhn")


def write_fake_cifar(folder, n_per_batch=20, seed=0):
    """Tiny CIFAR-10 batches in the real python-version format (pickled dicts of a uint8 array and a label list)."""
    import hashlib
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    md5s = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n_per_batch).tolist(),
                 b"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8), b"filenames": []}
        raw = pickle.dumps(batch, protocol=2)
        (folder / name).write_bytes(raw)
        md5s.append([name, hashlib.md5(raw).hexdigest()])
    return md5s


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    md5s = write_fake_cifar(tmp_path / "cifar-10-batches-py")
    monkeypatch.setattr(tvd.CIFAR10, "train_list", md5s[:5])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", md5s[5:])
    return tmp_path


def test_cifar10_loader_reads_the_python_batches(fake_cifar):
    import pickle

    s = load_splits("cifar10", fake_cifar)
    assert s.image_shape == (3, 32, 32)
    # 5 × 20 training images: the split keeps CIFAR's last 5,000 (here: none beyond 45,000) for validation
    assert s.train_x.shape == (100, 3, 32, 32) and s.test_x.shape == (20, 3, 32, 32)
    batch = pickle.loads((fake_cifar / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    assert torch.equal((s.train_x[0] * 255).round().to(torch.uint8).flatten(), torch.from_numpy(batch[b"data"][0]))
    assert s.train_y[:20].tolist() == batch[b"labels"]


def test_cifar10_altered_or_foreign_pickle_is_refused(fake_cifar, monkeypatch):
    import hashlib
    import pickle

    import torchvision.datasets as tvd

    evil = pickle.dumps({b"data": __import__("os").system, b"labels": []})
    (fake_cifar / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
    with pytest.raises(GanStudyError, match="test_batch is corrupt or not the original"):
        load_splits("cifar10", fake_cifar)
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", hashlib.md5(evil).hexdigest()]])
    data._load_uint8.cache_clear()
    with pytest.raises(GanStudyError, match="not a CIFAR-10 python-version batch.*not allowed"):
        load_splits("cifar10", fake_cifar)


def test_cifar10_missing_names_the_folder(tmp_path):
    with pytest.raises(GanStudyError, match="cifar-10-batches-py/data_batch_1 is missing"):
        load_splits("cifar10", tmp_path)


def test_download_true_fetches_the_files_through_torchvision(tmp_path, mnist_dir, monkeypatch):
    """Online users' path (`download: true`), with the network replaced at its boundary: every URL torchvision opens
    is answered from a local copy of the publisher's file, so torchvision's own download, md5 check and layout run."""
    import io
    import urllib.request

    requested = []

    class Response(io.BytesIO):
        def __init__(self, url, payload):
            super().__init__(payload)
            self.url, self.length = url, len(payload)

    def urlopen(request, *args, **kwargs):
        url = request.full_url if hasattr(request, "full_url") else request
        requested.append(url)
        return Response(url, (mnist_dir / "fashion-mnist" / url.rsplit("/", 1)[-1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    s = load_splits("fashion_mnist", tmp_path / "online", download=True)
    assert s.train_x.shape == (50_000, 1, 28, 28) and torch.bincount(s.test_y).tolist() == [1000] * 10
    assert all(u.startswith("http") for u in requested)
    assert {u.rsplit("/", 1)[-1] for u in requested} == set(data.get_dataset("fashion_mnist").files)
    assert (tmp_path / "online" / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").is_file()
    requested.clear()
    data._load_uint8.cache_clear()
    data._load_splits.cache_clear()
    load_splits("fashion_mnist", tmp_path / "online", download=True)
    assert requested == []  # present now: nothing is fetched again
