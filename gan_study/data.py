"""MNIST, Fashion-MNIST and CIFAR-10 from their original files, checked against torchvision's md5s.

Layouts accepted under the data dir (the first that has the files wins):
  <data_dir>/mnist/*.gz, <data_dir>/fashion-mnist/*.gz          (a plain folder of the four files)
  <data_dir>/MNIST/raw/*.gz, <data_dir>/FashionMNIST/raw/*.gz  (torchvision's own layout, used by download)
  <data_dir>/cifar-10-batches-py/{data_batch_1..5,test_batch}   (the "python version" of CIFAR-10)

The data dir is `$GAN_STUDY_DATA_DIR` if set, else the config's `data_dir`, else `./data`.
Splits follow the paper (pylearn2's MNIST in goodfeli/adversarial): train = train[0:50000],
validation = train[50000:60000], test = the 10,000 test images. CIFAR-10 (no Parzen number in the paper):
train = its first 45,000 training images, validation = the last 5,000, test = the 10,000 test images.
Pixels are scaled to [0, 1].
"""

import functools
import gzip
import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .dag import CIFAR10_FILES, CIFAR10_FOLDER, DATA_DIR_ENV, resolve_data_dir
from .errors import GanStudyError

N_TRAIN = 50_000  # the rest of the 60k training set is the validation split


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    folder: str  # plain layout
    torchvision_class: str  # torchvision layout: <data_dir>/<class>/raw
    image_shape: tuple
    n_train: int = N_TRAIN  # the rest of the official training set is the validation split


DATASETS = {
    "mnist": DatasetSpec("mnist", "MNIST", "mnist", "MNIST", (1, 28, 28)),
    "fashion_mnist": DatasetSpec("fashion_mnist", "Fashion-MNIST", "fashion-mnist", "FashionMNIST", (1, 28, 28)),
    "cifar10": DatasetSpec("cifar10", "CIFAR-10", "cifar-10-batches-py", "CIFAR10", (3, 32, 32), n_train=45_000),
}


@dataclass(frozen=True)
class Splits:
    """One dataset's paper splits as float32 tensors in [0, 1], shape (N, C, H, W); labels int64."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def image_shape(self):
        return tuple(self.train_x.shape[1:])




def _spec(name):
    if name not in DATASETS:
        raise GanStudyError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _resources(spec):
    import torchvision.datasets as tvd

    return getattr(tvd, spec.torchvision_class).resources


def _find_raw_dir(spec, data_dir):
    if data_dir.exists() and not data_dir.is_dir():
        raise GanStudyError(f"the data dir {data_dir} is a file, not a folder; point data_dir or ${DATA_DIR_ENV} at the "
                            f"folder that holds {spec.folder}/")
    candidates = [data_dir / spec.folder, data_dir / spec.torchvision_class / "raw"]
    names = [fname for fname, _ in _resources(spec)]
    for folder in candidates:
        if all((folder / n).is_file() for n in names):
            return folder
    # Name the first missing file of the most complete candidate: that is the one to fix.
    best = max(candidates, key=lambda f: sum((f / n).is_file() for n in names))
    missing = next(n for n in names if not (best / n).is_file())
    raise GanStudyError(
        f"{spec.title} file {best / missing} is missing. Put the four {spec.title} .gz files "
        f"({', '.join(names)}) in {data_dir / spec.folder}/, point the config key data_dir or ${DATA_DIR_ENV} "
        f"at a folder that holds {spec.folder}/, or set download: true (needs internet)."
    )


def _download(spec, data_dir):
    import torchvision.datasets as tvd

    try:
        getattr(tvd, spec.torchvision_class)(root=str(data_dir), download=True)
    except Exception as err:  # torchvision raises RuntimeError/URLError variants
        raise GanStudyError(f"downloading {spec.title} into {data_dir} failed: {err}") from None


def _read_idx(path, md5):
    raw = path.read_bytes()
    digest = hashlib.md5(raw).hexdigest()
    if digest != md5:
        raise GanStudyError(
            f"{path} is corrupt or not the original file (md5 {digest}, expected {md5}); "
            f"replace it with the original from the dataset's publisher (or delete it and use download: true)"
        )
    data = gzip.decompress(raw)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch dicts and nothing else: only numpy's array reconstruction is allowed."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how Python 3 pickles bytes at protocol 2

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch file")


def cifar10_present(data_dir=None):
    folder = resolve_data_dir(data_dir) / CIFAR10_FOLDER
    return all((folder / name).is_file() for name in CIFAR10_FILES)


def _cifar_files():
    import torchvision.datasets as tvd

    return [tuple(entry) for entry in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list]


def _read_cifar_batch(path, md5):
    raw = path.read_bytes()
    digest = hashlib.md5(raw).hexdigest()
    if digest != md5:
        raise GanStudyError(f"{path} is corrupt or not the original CIFAR-10 file (md5 {digest}, expected {md5}); "
                            f"replace it with the original python-version batch")
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError) as err:
        raise GanStudyError(f"{path} is not a CIFAR-10 python-version batch ({err})") from None
    return images, labels


def _load_cifar10(data_dir):
    folder = data_dir / DATASETS["cifar10"].folder
    files = _cifar_files()
    for fname, _ in files:
        if not (folder / fname).is_file():
            raise GanStudyError(
                f"CIFAR-10 file {folder / fname} is missing. Put the python-version batches (cifar-10-python.tar.gz, "
                f"extracted) in {folder}/, or point data_dir / ${DATA_DIR_ENV} at a folder that holds them."
            )
    parts = [_read_cifar_batch(folder / fname, md5) for fname, md5 in files]
    train, test = parts[:-1], parts[-1]
    return np.concatenate([p[0] for p in train]), np.concatenate([p[1] for p in train]), test[0], test[1]


@functools.lru_cache(maxsize=None)
def _load_uint8(name, data_dir, download):
    spec = _spec(name)
    data_dir = Path(data_dir)
    if name == "cifar10":
        if download and not cifar10_present(data_dir):
            _download(spec, data_dir)  # torchvision extracts into <data_dir>/cifar-10-batches-py
        return _load_cifar10(data_dir)
    if download:
        try:
            _find_raw_dir(spec, data_dir)
        except GanStudyError:
            _download(spec, data_dir)
    raw_dir = _find_raw_dir(spec, data_dir)
    arrays = [_read_idx(raw_dir / fname, md5) for fname, md5 in _resources(spec)]
    return tuple(arrays)  # train images, train labels, test images, test labels


def load_uint8(name, data_dir=None, download=False):
    """(train_images, train_labels, test_images, test_labels) as uint8/uint8 numpy arrays, cached per process."""
    return _load_uint8(name, str(resolve_data_dir(data_dir)), bool(download))


def load_splits(name, data_dir=None, download=False):
    """The paper splits of `name`, read once per process."""
    return _load_splits(name, str(resolve_data_dir(data_dir)), bool(download))


@functools.lru_cache(maxsize=None)
def _load_splits(name, data_dir, download):
    train_img, train_lbl, test_img, test_lbl = _load_uint8(name, data_dir, download)
    spec = _spec(name)
    shape, n_train = spec.image_shape, spec.n_train

    def images(a):
        return torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, *shape)

    def labels(a):
        return torch.from_numpy(a.astype(np.int64))

    return Splits(
        name=name,
        train_x=images(train_img[:n_train]),
        train_y=labels(train_lbl[:n_train]),
        valid_x=images(train_img[n_train:]),
        valid_y=labels(train_lbl[n_train:]),
        test_x=images(test_img),
        test_y=labels(test_lbl),
    )
