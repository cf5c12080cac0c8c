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

from .dag import DATA_DIR_ENV, resolve_data_dir
from .datasets import get_dataset
from .errors import GanStudyError

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


def _resources(spec):
    import torchvision.datasets as tvd

    return getattr(tvd, spec.torchvision_class).resources


def _find_raw_dir(spec, data_dir):
    if data_dir.exists() and not data_dir.is_dir():
        raise GanStudyError(f"the data dir {data_dir} is a file, not a folder; point data_dir or ${DATA_DIR_ENV} at the "
                            f"folder that holds {spec.folders[0]}/")
    found = spec.folder_with_files(data_dir)
    if found is not None:
        return found
    # Name the first missing file of the most complete candidate: that is the one to fix.
    candidates = [data_dir / folder for folder in spec.folders]
    best = max(candidates, key=lambda f: sum((f / n).is_file() for n in spec.files))
    missing = next(n for n in spec.files if not (best / n).is_file())
    raise GanStudyError(
        f"{spec.title} file {best / missing} is missing. Put the {len(spec.files)} {spec.title} files "
        f"({', '.join(spec.files)}) in {data_dir / spec.folders[0]}/, point the config key data_dir or "
        f"${DATA_DIR_ENV} at a folder that holds {spec.folders[0]}/, or set download: true (needs internet)."
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


def _read_cifar_batches(spec, folder):
    parts = [_read_cifar_batch(folder / fname, md5) for fname, md5 in _cifar_files()]
    train, test = parts[:-1], parts[-1]
    return np.concatenate([p[0] for p in train]), np.concatenate([p[1] for p in train]), test[0], test[1]


def _read_idx_files(spec, folder):
    return tuple(_read_idx(folder / fname, md5) for fname, md5 in _resources(spec))


# How each registered dataset's files are read (DatasetSpec.reader): (spec, folder) → train images, train labels,
# test images, test labels as uint8 arrays.
READERS = {"idx": _read_idx_files, "cifar_batches": _read_cifar_batches}


@functools.lru_cache(maxsize=None)
def _load_uint8(name, data_dir, download):
    spec = get_dataset(name)
    data_dir = Path(data_dir)
    if download and spec.folder_with_files(data_dir) is None:
        _download(spec, data_dir)  # into torchvision's layout, one of the spec's folders
    return READERS[spec.reader](spec, _find_raw_dir(spec, data_dir))


def load_uint8(name, data_dir=None, download=False):
    """(train_images, train_labels, test_images, test_labels) as uint8/uint8 numpy arrays, cached per process."""
    return _load_uint8(name, str(resolve_data_dir(data_dir)), bool(download))


def load_splits(name, data_dir=None, download=False):
    """The paper splits of `name`, read once per process."""
    return _load_splits(name, str(resolve_data_dir(data_dir)), bool(download))


@functools.lru_cache(maxsize=None)
def _load_splits(name, data_dir, download):
    train_img, train_lbl, test_img, test_lbl = _load_uint8(name, data_dir, download)
    spec = get_dataset(name)
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
