"""reaggregate: a study's tables rebuilt from its finished cells, nothing trained."""

import json
import subprocess
import sys

import pytest

from gan_study.errors import GanStudyError
from gan_study.reaggregate import finished_cells, finished_overlay, unfinished_runs
from tests.conftest import REPO, finish_runs


def test_a_cell_is_finished_when_every_seed_has_every_per_run_file(tmp_path):
    from gan_study.config import load_config
    from gan_study.metrics import per_run_files

    overlay = tmp_path / "runs.yaml"
    overlay.write_text(json.dumps({"runs": [{"model": "mlp_gan", "datasets": ["mnist", "fashion_mnist"]},
                                            {"model": "cgan", "datasets": ["mnist"]}]}))
    config = load_config("workflows/studies/paper.yaml", overlay)
    assert {"train.json", "parzen.json", "fid.json"} <= set(per_run_files(config))
    finish_runs(tmp_path, "mlp_gan", "mnist", names=per_run_files(config))
    finish_runs(tmp_path, "cgan", "mnist", seeds=range(4), names=per_run_files(config))  # a seed short
    finish_runs(tmp_path, "mlp_gan", "fashion_mnist", names=("train.json", "parzen.json"))  # no FID yet
    assert finished_cells(config, tmp_path) == [("mlp_gan", "mnist")]
    assert unfinished_runs(config, tmp_path) == [{"model": "mlp_gan", "datasets": ["fashion_mnist"]},
                                                  {"model": "cgan", "datasets": ["mnist"]}]


def test_runs_trained_under_other_settings_than_the_study_file_now_gives_are_refused(tmp_path):
    """A study file edited after its runs trained (here: the noise) would relabel them; reaggregate trains nothing, so
    it refuses, naming the run and the fix."""
    from gan_study.config import load_config

    config = load_config("workflows/studies/cpu-failures.yaml")
    finish_runs(tmp_path, "mlp_gan", "mnist", seeds=config["seeds"], names=("train.json", "parzen.json"),
                study="cpu-failures")
    committed = json.loads((REPO / "results/cpu-failures/runs/mlp_gan/mnist/seed0/train.json").read_text())
    for seed in config["seeds"]:
        path = tmp_path / "cpu-failures" / "runs" / "mlp_gan" / "mnist" / f"seed{seed}" / "train.json"
        path.write_text(json.dumps({"run_config_hash": committed["run_config_hash"]}))
    assert finished_overlay(config, tmp_path / "ok.yaml", tmp_path) == [("mlp_gan", "mnist")]
    config["models"]["mlp_gan"]["noise"] = "gaussian"
    with pytest.raises(GanStudyError, match=r"seed0/train.json was trained under run config e3f38752bbb9, but the "
                                            r"study's config now gives \w+ for mlp_gan/mnist"):
        finished_overlay(config, tmp_path / "edited.yaml", tmp_path)
    assert not (tmp_path / "edited.yaml").exists()


def test_reaggregate_plans_the_tables_of_the_finished_cells_without_training(repo_copy, tmp_path):
    """The committed paper cells, re-aggregated by Snakemake with --allowed-rules (no training)."""
    dry = subprocess.run([sys.executable, "-m", "gan_study", "reaggregate", "--study", "paper", "--dry-run"],
                         cwd=repo_copy, capture_output=True, text=True, timeout=600)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert "1 finished cells of results/paper: mlp_gan/mnist" in dry.stdout
    assert "aggregate" in dry.stdout and "train_seeds" not in dry.stdout and "rule fid:" not in dry.stdout
    # results/paper: Table 1's cell, trained from CUDA graphs (its train.json files say so)
    assert json.loads((repo_copy / "work" / "paper-finished.yaml").read_text()) == {
        "runs": [{"model": "mlp_gan", "datasets": ["mnist"]}], "cuda_graphs": ["mlp_gan"]}
    refused = subprocess.run([sys.executable, "-m", "gan_study", "reaggregate", "--profile", str(tmp_path)],
                             cwd=repo_copy, capture_output=True, text=True)
    assert refused.returncode == 2 and "names no study" in refused.stderr
    unknown = subprocess.run([sys.executable, "-m", "gan_study", "reaggregate", "--study", "nope"],
                             cwd=repo_copy, capture_output=True, text=True)
    assert unknown.returncode == 2 and "no study file workflows/studies/nope.yaml" in unknown.stderr
    assert "paper" in unknown.stderr.split("(")[-1]  # the known studies are listed
