"""MNIST and Fashion-MNIST, read from the original .gz files and checked against torchvision's md5s.

Layouts accepted under the data dir (the first that has the files wins):
  <data_dir>/mnist/*.gz, <data_dir>/fashion-mnist/*.gz          (a plain folder of the four files)
  <data_dir>/MNIST/raw/*.gz, <data_dir>/FashionMNIST/raw/*.gz  (torchvision's own layout, used by download)

The data dir is `$GAN_STUDY_DATA_DIR` if set, else the config's `data_dir`, else `./data`.
Splits follow the paper (pylearn2's MNIST in goodfeli/adversarial): train = train[0:50000],
validation = train[50000:60000], test = the 10,000 test images. Pixels are scaled to [0, 1].
"""

import functools
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import GanStudyError

DATA_DIR_ENV = "GAN_STUDY_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
N_TRAIN = 50_000  # the rest of the 60k training set is the validation split


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    folder: str  # plain layout
    torchvision_class: str  # torchvision layout: <data_dir>/<class>/raw
    image_shape: tuple


DATASETS = {
    "mnist": DatasetSpec("mnist", "MNIST", "mnist", "MNIST", (1, 28, 28)),
    "fashion_mnist": DatasetSpec("fashion_mnist", "Fashion-MNIST", "fashion-mnist", "FashionMNIST", (1, 28, 28)),
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


def resolve_data_dir(configured=None):
    value = os.environ.get(DATA_DIR_ENV) or configured
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data"


def _spec(name):
    if name not in DATASETS:
        raise GanStudyError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _resources(spec):
    import torchvision.datasets as tvd

    return getattr(tvd, spec.torchvision_class).resources


def _find_raw_dir(spec, data_dir):
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


@functools.lru_cache(maxsize=None)
def _load_uint8(name, data_dir, download):
    spec = _spec(name)
    data_dir = Path(data_dir)
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
    shape = _spec(name).image_shape

    def images(a):
        return torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, *shape)

    def labels(a):
        return torch.from_numpy(a.astype(np.int64))

    return Splits(
        name=name,
        train_x=images(train_img[:N_TRAIN]),
        train_y=labels(train_lbl[:N_TRAIN]),
        valid_x=images(train_img[N_TRAIN:]),
        valid_y=labels(train_lbl[N_TRAIN:]),
        test_x=images(test_img),
        test_y=labels(test_lbl),
    )
