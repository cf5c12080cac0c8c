import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gan_study.config import load_config

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "workflows" / "studies" / "smoke.yaml"


def without_torch(code):
    """The output of Python `code` run in a fresh interpreter in which `import torch` fails."""
    done = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None\n" + code], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def data_dir():
    """MNIST/Fashion-MNIST for the tests: $GAN_STUDY_DATA_DIR, else ../shared/data beside the checkout."""
    path = Path(os.environ.get("GAN_STUDY_DATA_DIR") or REPO.parent / "shared" / "data")
    if not (path / "mnist").is_dir() and not (path / "MNIST").is_dir():
        pytest.fail(f"the tests need MNIST: set GAN_STUDY_DATA_DIR to a folder with mnist/*.gz (looked in {path})")
    return path


@pytest.fixture(scope="session")
def mnist_dir():
    return data_dir()


@pytest.fixture
def tiny_config(mnist_dir):
    """The smoke config with an even smaller budget: a few steps of the real MLP GAN on real MNIST."""
    config = load_config(SMOKE)
    config["data_dir"] = str(mnist_dir)
    config["models"]["mlp_gan"].update(epochs=2, train_limit=600, log_every=2)
    config["parzen"].update(n_samples=200, n_valid=50, n_test=100)
    return config


@pytest.fixture
def repo_copy(tmp_path):
    """The tracked files of the checkout (plus uncommitted edits) copied into a scratch dir."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    dest = tmp_path / "repo"
    for rel in files:
        src = REPO / rel
        if src.is_file() or src.is_symlink():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target, follow_symlinks=False)
    return dest


def finish_runs(results, model, dataset, seeds=range(5), names=("train.json", "parzen.json", "fid.json"),
                study="paper"):
    """Per-run result files (empty records) of a study's cell, as a finished run leaves them."""
    for seed in seeds:
        folder = results / study / "runs" / model / dataset / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text("{}")


@pytest.fixture
def committed(tiny_config, tmp_path):
    """A tiny study of seeds 0 and 1 trained together, evaluated and aggregated (results/tiny under tmp_path); its
    work dir then discarded, as a committed study's checkpoints are."""
    from gan_study.aggregate import aggregate
    from gan_study.evaluate import parzen
    from gan_study.sample import sample
    from gan_study.train import RunOutputs, train_seeds

    work, results = tmp_path / "gone", tmp_path / "results" / "tiny"
    runs = [(work / "runs" / "mlp_gan" / "mnist" / f"seed{s}", results / "runs" / "mlp_gan" / "mnist" / f"seed{s}")
            for s in (0, 1)]
    train_seeds(tiny_config, "mlp_gan", "mnist", [0, 1], work / "stack",
                [RunOutputs(w / "final.pt", r / "train_log.csv", r / "train.json") for w, r in runs])
    for seed, (w, r) in enumerate(runs):
        sample(tiny_config, "mlp_gan", "mnist", seed, w / "final.pt", w / "samples.pt", r / "samples.png")
        parzen(tiny_config, "mlp_gan", "mnist", seed, w / "samples.pt", r / "parzen.json")
    aggregate(tiny_config, [r / "parzen.json" for _, r in runs], [r / "train.json" for _, r in runs], results)
    return results
