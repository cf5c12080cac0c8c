"""FID per checkpoint: every kept generator snapshot scored exactly like the final weights."""

import json

import pytest

from gan_study.evaluate import fid, fid_curve, fid_reference
from gan_study.sample import sample
from gan_study.train import train
from tests.test_fidelity import weights_path


def test_fid_curve_scores_snapshots_like_the_final_weights(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDY_INCEPTION_WEIGHTS", weights_path())
    tiny_config["fid"].update(n_samples=16, n_real=16, kid_subset_size=8, kid_subsets=5)
    tiny_config["snapshots"]["every_n_epochs"] = 1
    d = tmp_path
    summary = train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    fid_reference(tiny_config, "mnist", d / "cache", d / "ref.json")
    final = fid(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "ref.json", d / "fid.json")

    curve = fid_curve(tiny_config, "mlp_gan", "mnist", 0, d / "train.json", d / "fid.json", d / "ref.json", d / "curve.json")
    assert [(p["epoch"], p["source"]) for p in curve["points"]] == [(1, "snapshot"), (2, "final")]
    assert curve["points"][-1]["fid"] == final["fid"]
    assert curve["points"][0]["fid"] != final["fid"] and curve["points"][0]["fid"] > 0
    assert curve["best"]["fid"] == min(p["fid"] for p in curve["points"])
    assert json.loads((d / "curve.json").read_text())["provenance"]["seed"] == 0

    # Scoring the final weights through the snapshot path reproduces the final FID: same samples, same features.
    as_snapshot = {**summary, "snapshots": [{"epoch": 2, "path": str(d / "final.pt")}]}
    (d / "final_as_snapshot.json").write_text(json.dumps(as_snapshot))
    again = fid_curve(tiny_config, "mlp_gan", "mnist", 0, d / "final_as_snapshot.json", d / "fid.json", d / "ref.json",
                      d / "again.json")
    assert again["points"][0]["fid"] == pytest.approx(final["fid"], rel=1e-6)
