"""Retrained runs checked against their committed logs; only identical ones publish under the study's numbers."""

import json

import pandas as pd
import pytest

from gan_study.errors import GanStudyError
from gan_study.publish import publish_weights, rescore
from gan_study.reproduce import compare_logs, reproduce


def test_a_retrained_study_matches_its_logs_and_publishes_weights_that_rescore(committed, tmp_path):
    report = reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work")
    assert [(r["seed"], r["identical"]) for r in report["runs"]] == [(0, True), (1, True)]
    assert report["committed_by"]["devices"] == [report["retrained_by"]["device"]]
    assert json.loads((committed / "reproduced-mlp_gan-mnist.json").read_text()) == report
    entries = publish_weights(committed, tmp_path / "work", committed / "reproduced-mlp_gan-mnist.json")
    assert [e["seed"] for e in entries] == [0, 1] and all("retrained_by_commit" in e for e in entries)
    for entry, recomputed in rescore(committed, tmp_path / "rescore"):
        assert recomputed == pytest.approx(entry["reported_test_mean_ll"], abs=1e-9)


def test_a_seed_retrained_apart_from_its_log_is_named_and_not_published(committed, tmp_path, capsys):
    log = committed / "runs" / "mlp_gan" / "mnist" / "seed1" / "train_log.csv"
    rows = pd.read_csv(log)
    rows.loc[1, "d_loss"] += 1e-6  # as if the committed run's arithmetic had parted at the second logged step
    rows.to_csv(log, index=False)
    report = reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work", tmp_path / "report.json")
    seed1 = report["runs"][1]
    assert seed1["identical"] is False and seed1["first_step_apart"] == int(rows["step"][1])
    assert seed1["max_abs_difference"] == pytest.approx(1e-6, rel=1e-3)
    entries = publish_weights(committed, tmp_path / "work", tmp_path / "report.json")
    assert [e["seed"] for e in entries] == [0] and "seed 1: not published" in capsys.readouterr().out


def test_seeds_trained_together_are_reproduced_together(committed, tmp_path):
    with pytest.raises(GanStudyError, match=r"trained in a stack of seeds \[0, 1\]: reproduce them together"):
        reproduce(committed, "mlp_gan", "mnist", [1], tmp_path / "work")


def test_logs_of_another_length_are_not_identical(tmp_path):
    (tmp_path / "a.csv").write_text("step,d_loss\n1,0.5\n2,0.4\n")
    (tmp_path / "b.csv").write_text("step,d_loss\n1,0.5\n")
    assert compare_logs(tmp_path / "a.csv", tmp_path / "b.csv")["identical"] is False
    assert compare_logs(tmp_path / "a.csv", tmp_path / "a.csv") == {"identical": True, "rows": 2}


def test_a_config_that_now_makes_another_run_is_refused_before_training(committed, tmp_path):
    config = json.loads((committed / "config.json").read_text())
    config["models"]["mlp_gan"]["lr_initial"] *= 2
    (committed / "config.json").write_text(json.dumps(config))
    with pytest.raises(GanStudyError, match="this code cannot retrain it"):
        reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_the_command_reproduces_and_publishes(committed, tmp_path, capsys):
    from gan_study.cli import main

    main(["reproduce", "--results-dir", str(committed), "--model", "mlp_gan", "--dataset", "mnist", "--seeds", "0",
          "1", "--work-dir", str(tmp_path / "work"), "--publish"])
    said = capsys.readouterr().out
    assert said.count("its committed log, row for row") == 2 and "published 2 generator file(s)" in said
    manifest = json.loads((committed / "weights" / "weights.json").read_text())
    assert [e["retrained_log"] for e in manifest["weights"]] == [
        "identical to the committed training log, row for row"] * 2


def test_a_stack_parted_from_its_logs_in_its_first_epoch_is_not_trained_further(committed, tmp_path):
    for seed in (0, 1):
        log = committed / "runs" / "mlp_gan" / "mnist" / f"seed{seed}" / "train_log.csv"
        rows = pd.read_csv(log)
        rows.loc[0, "g_loss"] += 1e-3
        rows.to_csv(log, index=False)
    report = reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work")
    assert [(r["identical"], r["first_step_apart"]) for r in report["runs"]] == [(False, int(rows["step"][0]))] * 2
    assert all(r["stopped_after_rows"] < len(rows) for r in report["runs"])  # one epoch of two, then stopped
    assert not (tmp_path / "work" / "runs" / "mlp_gan" / "mnist" / "seed0" / "final.pt").exists()
    with pytest.raises(GanStudyError, match="no seed of mlp_gan on mnist was retrained identically"):
        publish_weights(committed, tmp_path / "work", committed / "reproduced-mlp_gan-mnist.json")


def test_a_study_is_retrained_with_the_source_of_another_commit(committed, tmp_path):
    """--code: the training runs from another checkout's source (here this commit's, exported without .git) and
    reads the config that code understands; the commit named is what the retrained runs record."""
    import subprocess
    import tarfile

    from gan_study.reproduce import OtherCode
    from tests.conftest import REPO

    archive = tmp_path / "code.tar"
    subprocess.run(["git", "archive", "-o", str(archive), "HEAD", "gan_study", "workflows"], cwd=REPO, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "code", filter="data")
    code = OtherCode(tmp_path / "code", committed / "config.json", commit="0123456789abcdef")
    report = reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work", code=code)
    assert [r["identical"] for r in report["runs"]] == [True, True]
    assert report["trained_with_code_of"] == "0123456789abcdef"
    assert {r["retrained"]["git_commit"] for r in report["runs"]} == {"0123456789abcdef"}
    assert (tmp_path / "work" / "runs" / "mlp_gan" / "mnist" / "reproduce-seeds0-1-first1" / "config.json").is_file()
    with pytest.raises(GanStudyError, match="holds no gan_study package"):
        OtherCode(tmp_path, committed / "config.json")


def test_code_older_than_seed_stacks_retrains_one_seed_a_call(tmp_path):
    """The committed CPU study was trained by code whose CLI has `train` (one seed) but no `train-seeds`."""
    from gan_study.reproduce import OtherCode

    package = tmp_path / "gan_study"
    package.mkdir()
    (package / "__main__.py").write_text("from .cli import main\n")
    (package / "cli.py").write_text('sub.add_parser("train")\n')
    older = OtherCode(tmp_path, tmp_path / "config.json")
    assert older._train_command([1]) == ["train", "--seed", "1"]
    with pytest.raises(GanStudyError, match=r"trains one seed at a time, so it cannot have trained the stack \[0, 1\]"):
        older._train_command([0, 1])
    (package / "cli.py").write_text('sub.add_parser("train-seeds")\n')
    assert older._train_command([0, 1]) == ["train-seeds", "--seeds", "0", "1"]


def test_a_seed_trained_in_a_stack_of_cells_is_refused(committed, tmp_path):
    summary = committed / "runs" / "mlp_gan" / "mnist" / "seed0" / "train.json"
    record = json.loads(summary.read_text())
    summary.write_text(json.dumps({**record, "stacked_datasets": ["mnist", "fashion_mnist"]}))
    with pytest.raises(GanStudyError, match="trained in a stack of cells"):
        reproduce(committed, "mlp_gan", "mnist", [0, 1], tmp_path / "work")
