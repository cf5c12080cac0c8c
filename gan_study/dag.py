"""The DAG's bookkeeping, importable without torch: what the Snakefile needs to lay out a study.

The study's paths, the data dir, whether CIFAR-10 is present, the run grid, the per-checkpoint runs, the config
digests that make Snakemake re-run a job when its config section changes, and the resolved config the commands
read. `workflows/rules/common.smk` only calls these; parsing the workflow (`snakemake -n`, `--lint`) writes nothing.
"""

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_text
from .config import REPO_ROOT, grid, snapshot_epochs

DATA_DIR_ENV = "GAN_STUDY_DATA_DIR"
# The python-version CIFAR-10 batches (torchvision's CIFAR10 file list).
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
# Per dataset: the folders (under the data dir) that may hold its files — our plain layout, then torchvision's — and
# the files (tests/test_dag.py checks them against gan_study.data and torchvision).
DATA_LAYOUT = {
    "mnist": (("mnist", "MNIST/raw"), IDX_FILES),
    "fashion_mnist": (("fashion-mnist", "FashionMNIST/raw"), IDX_FILES),
    "cifar10": ((CIFAR10_FOLDER,), CIFAR10_FILES),
}


def resolve_data_dir(configured=None):
    """$GAN_STUDY_DATA_DIR, else the config's `data_dir`, else data/ in the checkout."""
    value = os.environ.get(DATA_DIR_ENV) or configured
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data"


def data_files(config, dataset):
    """The dataset's files, declared as inputs of the rules that read them: those of the first folder that holds
    them all. None there: [] (the job itself then names the missing file in one line, or downloads it when
    `download: true`)."""
    root = resolve_data_dir(config["data_dir"])
    folders, names = DATA_LAYOUT[dataset]
    for folder in folders:
        files = [root / folder / name for name in names]
        if all(f.is_file() for f in files):
            return [str(f) for f in files]
    return []


def cifar10_present(config):
    """CIFAR-10 is in the study when its files are there, or may be downloaded."""
    folder = resolve_data_dir(config["data_dir"]) / CIFAR10_FOLDER
    return bool(config["download"]) or all((folder / name).is_file() for name in CIFAR10_FILES)


def cifar10_note(config):
    """One line when the study's runs ask for CIFAR-10 but it is left out, else None."""
    wanted = any("cifar10" in entry["datasets"] for entry in config["runs"])
    if not wanted or cifar10_present(config):
        return None
    folder = resolve_data_dir(config["data_dir"]) / CIFAR10_FOLDER
    return (f"gan-study: CIFAR-10 is left out of this study: {folder} has no python-version batches (put them "
            "there, or set download: true when online, to include it)")


def study_paths(config):
    """Where a study's files go: results (committed), work (checkpoints, samples: not Snakemake outputs, so a
    failed job never deletes them), logs, and its report (one per study)."""
    study = config["study"]
    return {"results": f"results/{study}", "work": f"work/{study}", "logs": f"logs/{study}",
            "report_pdf": f"report/{study}/gan_study.pdf", "config_json": f"work/{study}/config.json"}


def runs(config):
    """Every run of the study as {model, dataset, seed}, in a stable order."""
    return [dict(model=m, dataset=d, seed=s) for m, d, s in grid(config, cifar10_present(config))]


def snapshot_runs(config, evaluator):
    """The runs scored at every generator snapshot by `evaluator` ("parzen" or "fid")."""
    section = config[evaluator]
    if not section["per_snapshot"] or not section.get("enabled", True):
        return []
    return [run for run in runs(config) if snapshot_epochs(config, run["model"])]


def config_digest(config, *keys):
    """A digest of the config section a job depends on; Snakemake re-runs the job when it changes."""
    section = config
    for key in keys:
        section = section[key]
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:12]


def write_resolved_config(path, config):
    """The merged, validated config as JSON for the commands; rewritten (atomically) only when it changes."""
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    path = Path(path)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path
