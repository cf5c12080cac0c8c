"""Published generator weights re-score to the committed numbers without retraining."""

import json
import shutil

import pandas as pd
import pytest
import torch

from gan_study.aggregate import aggregate
from gan_study.errors import GanStudyError
from gan_study.atomic import write_json
from gan_study.evaluate import parzen, parzen_curve
from gan_study.publish import publish_weights, rescore
from gan_study.sample import sample
from gan_study.train import train


def test_publish_then_rescore_reproduces_the_reported_numbers(tiny_config, tmp_path):
    tiny_config["models"]["mlp_gan"]["epochs"] = 3
    tiny_config["snapshots"]["every_n_epochs"] = 1
    work, results = tmp_path / "work", tmp_path / "results" / "tiny"
    run_dir, out = work / "runs" / "mlp_gan" / "mnist" / "seed0", results / "runs" / "mlp_gan" / "mnist" / "seed0"
    train(tiny_config, "mlp_gan", "mnist", 0, run_dir, run_dir / "final.pt", out / "train_log.csv", out / "train.json")
    sample(tiny_config, "mlp_gan", "mnist", 0, run_dir / "final.pt", run_dir / "samples.pt", out / "samples.png")
    parzen(tiny_config, "mlp_gan", "mnist", 0, run_dir / "samples.pt", out / "parzen.json")
    curve = parzen_curve(tiny_config, "mlp_gan", "mnist", 0, out / "train.json", out / "parzen.json",
                         out / "parzen_curve.json")
    aggregate(tiny_config, [out / "parzen.json"], [out / "train.json"], results,
              parzen_curve_files=[out / "parzen_curve.json"])
    entries = publish_weights(results, work)
    kinds = [e["checkpoint"] for e in entries]
    assert kinds == (["final"] if curve["selected"]["source"] == "final" else ["final", "selected"])
    manifest = json.loads((results / "weights" / "weights.json").read_text())
    assert [e["file"] for e in manifest["weights"]] == [e["file"] for e in entries]
    for entry, recomputed in rescore(results, tmp_path / "rescore"):
        assert recomputed == pytest.approx(entry["reported_test_mean_ll"], abs=1e-9)


def test_rescore_refuses_altered_weights(tiny_config, tmp_path):
    results = tmp_path / "results" / "tiny"
    (results / "weights").mkdir(parents=True)
    (results / "weights" / "x.pt").write_bytes(b"altered")
    write_json(results / "config.json", tiny_config)
    write_json(results / "weights" / "weights.json", {"study": "tiny", "weights": [
        {"file": "weights/x.pt", "sha256": "0" * 64, "model": "mlp_gan", "dataset": "mnist", "seed": 0, "epoch": 1,
         "checkpoint": "final", "reported_test_mean_ll": 0.0}]})
    with pytest.raises(GanStudyError, match="does not match its sha256"):
        rescore(results, tmp_path / "out")


def test_a_rescore_on_another_device_says_its_samples_are_other_ones(committed, tmp_path, capsys):
    config = json.loads((committed / "config.json").read_text())
    config["device"] = "cuda"  # as the paper study, sampled on a GPU
    (committed / "config.json").write_text(json.dumps(config))
    publish_weights(committed, tmp_path / "gone")
    if not torch.cuda.is_available():  # the study's device, absent: one clear error, not a silent CPU rescore
        with pytest.raises(GanStudyError, match="no usable CUDA GPU"):
            rescore(committed, tmp_path / "on-the-study-device")
    results = rescore(committed, tmp_path / "rescore", device="cpu")
    said = capsys.readouterr().out
    assert "these are other samples; expect each number within a few standard errors" in said
    assert said.count("standard errors)") == len(results) == 2


def test_rescore_weights_from_another_study_of_the_same_runs_against_its_numbers(committed, tmp_path, capsys):
    publish_weights(committed, tmp_path / "gone")
    other = tmp_path / "results" / "other"  # the same runs, scored by another study (its own numbers)
    shutil.copytree(committed, other, ignore=shutil.ignore_patterns("weights"))
    with pytest.raises(GanStudyError, match="this study published no weights .*--weights-from RESULTS_DIR"):
        rescore(other, tmp_path / "out")
    runs = pd.read_csv(other / "parzen_runs.csv")
    runs.loc[runs.seed == 1, "test_mean_ll"] = 12.5
    runs.to_csv(other / "parzen_runs.csv", index=False)
    rescored = rescore(other, tmp_path / "out", weights_from=committed)
    assert [entry["reported_test_mean_ll"] for entry, _ in rescored][1] == 12.5  # the other study's number
    assert [entry["file"] for entry, _ in rescored] == ["weights/mlp_gan-mnist-seed0-final.pt",
                                                      "weights/mlp_gan-mnist-seed1-final.pt"]
    assert rescored[0][1] == pytest.approx(rescored[0][0]["reported_test_mean_ll"], abs=1e-9)
    manifest = json.loads((committed / "weights" / "weights.json").read_text())
    manifest["weights"][0]["epoch"] = 7  # an epoch the other study scored no checkpoint of
    (committed / "weights" / "weights.json").write_text(json.dumps(manifest))
    rescore(other, tmp_path / "out", weights_from=committed)
    assert "seed0-final.pt (epoch 7): not reported by this study, recomputed" in capsys.readouterr().out
    runs.loc[runs.seed == 1, "run_config_hash"] = "0123456789ab"  # another run of seed 1
    runs.to_csv(other / "parzen_runs.csv", index=False)
    with pytest.raises(GanStudyError, match="seed 1, which .*other did not score; --weights-from needs a study of"):
        rescore(other, tmp_path / "out", weights_from=committed)
