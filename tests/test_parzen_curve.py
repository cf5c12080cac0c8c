"""Parzen per checkpoint and the checkpoint chosen on validation images (never on test images)."""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from gan_study import data as data_module
from gan_study.evaluate import parzen, parzen_curve
from gan_study.sample import sample
from gan_study.train import train
from tests.conftest import REPO


@pytest.fixture
def run(tiny_config, tmp_path):
    """A 3-epoch MLP GAN run with a snapshot after epochs 1 and 2, sampled and scored like the DAG does."""
    tiny_config["models"]["mlp_gan"]["epochs"] = 3
    tiny_config["snapshots"]["every_n_epochs"] = 1
    d = tmp_path
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")
    return tiny_config, d


def test_snapshot_parzen_equals_the_normal_path(run):
    config, d = run
    final = json.loads((d / "parzen.json").read_text())
    summary = json.loads((d / "train.json").read_text())
    assert [s["epoch"] for s in summary["snapshots"]] == [1, 2]
    # The final weights listed as a snapshot are scored through the curve's path: the same numbers, to the bit.
    as_snapshot = {**summary, "snapshots": [{"epoch": 3, "path": str(d / "final.pt")}]}
    (d / "as_snapshot.json").write_text(json.dumps(as_snapshot))
    again = parzen_curve(config, "mlp_gan", "mnist", 0, d / "as_snapshot.json", d / "parzen.json", d / "again.json")
    snap, last = again["points"]
    for key in ("sigma", "test_mean_ll", "test_se", "select_mean_ll"):
        assert snap[key] == last[key] == final[key]

    curve = parzen_curve(config, "mlp_gan", "mnist", 0, d / "train.json", d / "parzen.json", d / "curve.json")
    assert [(p["epoch"], p["source"]) for p in curve["points"]] == [(1, "snapshot"), (2, "snapshot"), (3, "final")]
    assert len({p["test_mean_ll"] for p in curve["points"]}) == 3  # different weights, different numbers
    assert curve["selected"] == max(curve["points"], key=lambda p: p["select_mean_ll"])


def test_selection_never_reads_test_images(run, monkeypatch):
    config, d = run
    honest = parzen_curve(config, "mlp_gan", "mnist", 0, d / "train.json", d / "parzen.json", d / "honest.json")
    original = data_module.load_splits

    def poisoned(*args, **kwargs):
        # Uniform noise in place of the test images: every test number changes; the selection must not.
        return dataclasses.replace(original(*args, **kwargs), test_x=torch.rand(10_000, 1, 28, 28))

    monkeypatch.setattr("gan_study.evaluate.load_splits", poisoned)
    dirty = parzen_curve(config, "mlp_gan", "mnist", 0, d / "train.json", d / "parzen.json", d / "dirty.json")
    assert [p["test_mean_ll"] for p in dirty["points"][:2]] != [p["test_mean_ll"] for p in honest["points"][:2]]
    assert dirty["selected"]["epoch"] == honest["selected"]["epoch"]
    assert [p["select_mean_ll"] for p in dirty["points"][:2]] == [p["select_mean_ll"] for p in honest["points"][:2]]


def test_a_snapshot_samples_and_scores_by_hand(run):
    """`sample --final snapshots/epochNNNN.pt` is a valid generator: images, then a Parzen number, never an empty
    success."""
    config, d = run
    (d / "config.json").write_text(json.dumps(config))
    snapshot = d / "snapshots" / "epoch0001.pt"
    common = [sys.executable, "-m", "gan_study", "--config", str(d / "config.json")]
    run_args = ["--model", "mlp_gan", "--dataset", "mnist", "--seed", "0"]
    subprocess.run([*common, "sample", *run_args, "--final", str(snapshot), "--samples", str(d / "snap.pt"),
                    "--grid", str(d / "snap.png")], cwd=REPO, check=True, capture_output=True)
    payload = torch.load(d / "snap.pt", weights_only=True)
    assert payload["generator"] == "snapshot" and payload["images"].shape[0] == config["parzen"]["n_samples"]
    done = subprocess.run([*common, "parzen", *run_args, "--samples", str(d / "snap.pt"), "--out", str(d / "snap.json")],
                          cwd=REPO, check=True, capture_output=True, text=True)
    assert "Parzen test log-likelihood" in done.stdout
    assert isinstance(json.loads((d / "snap.json").read_text())["test_mean_ll"], float)


def test_selection_images_must_fit_the_validation_split(run):
    from gan_study.errors import GanStudyError

    config, d = run
    config["parzen"].update(n_valid=6000, n_select=6000)
    with pytest.raises(GanStudyError, match="n_valid \\+ parzen.n_select = 12000 exceeds the 10000 validation images"):
        parzen(config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "bad.json")
    assert not (d / "bad.json").exists()
