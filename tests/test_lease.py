"""The GPU-lease script, tested on a CPU: carries, their check, the deadline, the packing, and one whole lease with
a tiny profile run twice (stopped at its deadline, then resumed to the end)."""

import json
import os
import subprocess
import sys
import tarfile

import pytest

from gan_study import lease
from gan_study.errors import GanStudyError
from tests.conftest import REPO, data_dir


def test_the_wheels_to_carry_are_what_the_image_lacks():
    missing = lease.missing_packages()
    assert {"snakemake", "torch-fidelity", "jsonschema", "snakemake-interface-common"} <= set(missing)
    assert not {"torch", "numpy", "pandas", "scipy", "triton"} & set(missing)  # the image has them
    assert all(v for v in missing.values())


def fake_inputs(tmp_path, weight_bytes=2500):
    data = tmp_path / "data"
    for folder in ("mnist", "fashion-mnist"):
        (data / folder).mkdir(parents=True)
        (data / folder / "train-images-idx3-ubyte.gz").write_bytes(os.urandom(300))
    weights = tmp_path / "weights.pth"
    weights.write_bytes(os.urandom(weight_bytes))
    return data, weights


def test_carries_round_trip_and_refuse_an_altered_part(tmp_path):
    data, weights = fake_inputs(tmp_path)
    manifest = lease.prepare(data, weights, tmp_path / "dev", wheels=False, limit=1000)
    assert manifest["weights"]["parts"] == ["w1/weights.pth.part00", "w2/weights.pth.part01", "w3/weights.pth.part02"]
    assert all((tmp_path / "dev" / rel).stat().st_size <= 1000 for rel in manifest["weights"]["parts"])
    data_dir, rebuilt, wheels = lease.restore(tmp_path / "dev", tmp_path / "there")
    assert rebuilt.read_bytes() == weights.read_bytes() and wheels == []
    assert (data_dir / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == \
        (data / "mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    part = tmp_path / "dev" / "w2" / "weights.pth.part01"
    part.write_bytes(b"x" + part.read_bytes()[1:])
    with pytest.raises(GanStudyError, match="w2/weights.pth.part01 is missing or altered"):
        lease.restore(tmp_path / "dev", tmp_path / "there")


def test_the_deadline_stops_a_command_and_its_children():
    outcome, code, seconds = lease.run_until([sys.executable, "-c", "import subprocess, sys; subprocess.run(["
                                              "sys.executable, '-c', 'import time; time.sleep(60)'])"], 1, grace_s=5)
    assert outcome == "deadline" and seconds < 10
    assert lease.run_until([sys.executable, "-c", "print()"], 30)[:2] == ("finished", 0)


def test_results_are_packed_into_returnable_parts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "blob").write_bytes(os.urandom(40_000))
    parts = lease.pack(["results/x", "missing/is/fine"], tmp_path / "out", limit=10_000)
    assert 4 <= len(parts) <= 8 and all(p.stat().st_size <= 10_000 for p in parts)
    whole = tmp_path / "whole.tar.gz"
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(whole) as tar:
        assert tar.extractfile("results/x/blob").read() == (tmp_path / "results" / "x" / "blob").read_bytes()


def test_a_whole_lease_stops_at_its_deadline_and_the_next_call_finishes(repo_copy, tmp_path):
    shared = data_dir()
    weights = shared / "inception" / "weights-inception-2015-12-05-fid2048-nofc.pth"
    lease.prepare(shared, weights, repo_copy / ".dev", wheels=False)
    (repo_copy / "longer.yaml").write_text("models: {mlp_gan: {epochs: 30}}\n")
    target = "results/smoke/runs/mlp_gan/mnist/seed0/train.json"

    def call(deadline, out):
        return subprocess.run([sys.executable, "-m", "gan_study", "lease-run", "--carry", ".dev", "--out", str(out),
                               "--deadline-s", str(deadline), "--profile", "workflows/profiles/smoke",
                               "--configfile", "longer.yaml", "--", target],
                              cwd=repo_copy, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "GAN_STUDY_DATA_DIR": "/nonexistent"})

    first = call(25, tmp_path / "out1")
    status = json.loads((tmp_path / "out1" / "lease-status.json").read_text())
    assert first.returncode == 0 and status["steps"][-1]["outcome"] == "deadline" and not status["complete"], first.stdout
    assert (repo_copy / "work/smoke/runs/mlp_gan/mnist/seed0/checkpoint.pt").is_file()
    second = call(600, tmp_path / "out2")
    status = json.loads((tmp_path / "out2" / "lease-status.json").read_text())
    assert status["complete"], second.stdout[-2000:] + second.stderr[-2000:]
    with tarfile.open(tmp_path / "out2" / "results.tar.gz") as tar:
        summary = json.load(tar.extractfile(target))
    assert summary["status"] == "completed" and len(summary["trained_by"]) == 2  # resumed, not restarted
