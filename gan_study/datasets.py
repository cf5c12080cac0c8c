"""The datasets a study can train on: one registry entry each, torch-free (the DAG reads it before any job runs).

An entry says everything the rest of the study asks of a dataset: its title, image shape and paper split (the first
`n_train` official training images train, the rest validate, the official test set tests), the folders under the
data dir that may hold its files and their names, how they are read (`reader`, in gan_study.data; the md5s are
torchvision's, read from its dataset class), whether a study leaves it out when its files are absent (`optional`),
and the methods' sentence on its split. Adding a dataset: one `register(DatasetSpec(...))` here, plus a reader in
gan_study.data if its file format is new (docs/layout.md).
"""

from dataclasses import dataclass
from pathlib import Path

IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
# The python-version CIFAR-10 batches (torchvision's CIFAR10 file list).
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the config's name (runs[].datasets)
    title: str  # as tables and figures print it
    image_shape: tuple
    folders: tuple  # under the data dir, in order: our plain layout, then torchvision's
    files: tuple  # the files each folder must hold
    reader: str  # "idx" (MNIST's gzipped IDX files) or "cifar_batches" (CIFAR-10's python-version pickles)
    torchvision_class: str  # for the md5s and the download
    n_official_train: int
    n_test: int
    n_train: int  # the paper split: the first n_train official training images; the rest validate
    optional: bool = False  # left out of a study (one line says so) when its files are absent and download is off
    split_source: str = "the paper's split"  # whose split this is, for the methods

    @property
    def n_valid(self):
        return self.n_official_train - self.n_train

    def folder_with_files(self, data_dir):
        """The first of `folders` under `data_dir` that holds every file, else None."""
        for folder in self.folders:
            if all((Path(data_dir) / folder / name).is_file() for name in self.files):
                return Path(data_dir) / folder
        return None

    def split_sentence(self):
        """The methods' words for the split (LaTeX)."""
        return (f"training images 1--{self.n_train:,} of the official training set, validation images "
                f"{self.n_train + 1:,}--{self.n_official_train:,}, and the {self.n_test:,} official test images")


REGISTRY = {}


def register(spec):
    REGISTRY[spec.name] = spec
    return spec


def get_dataset(name):
    from .errors import GanStudyError

    if name not in REGISTRY:
        raise GanStudyError(f"unknown dataset '{name}'; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


register(DatasetSpec("mnist", "MNIST", (1, 28, 28), ("mnist", "MNIST/raw"), IDX_FILES, "idx", "MNIST",
                     n_official_train=60_000, n_test=10_000, n_train=50_000))
register(DatasetSpec("fashion_mnist", "Fashion-MNIST", (1, 28, 28), ("fashion-mnist", "FashionMNIST/raw"), IDX_FILES,
                     "idx", "FashionMNIST", n_official_train=60_000, n_test=10_000, n_train=50_000))
register(DatasetSpec("cifar10", "CIFAR-10", (3, 32, 32), ("cifar-10-batches-py",), CIFAR10_FILES, "cifar_batches",
                     "CIFAR10", n_official_train=50_000, n_test=10_000, n_train=45_000, optional=True,
                     split_source="our split (the 2014 paper did not train on CIFAR-10)"))
