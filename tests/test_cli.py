"""Bad input: one clear line on stderr, exit status 2, nothing half-written."""

import json
import subprocess
import sys

import pytest
import torch

from gan_study import checkpoint
from gan_study.errors import GanStudyError
from gan_study.runtime import resolve_device
from tests.conftest import REPO


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "gan_study", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def assert_one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan-study: error:"), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_config_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  mlp_gan:\n    epochz: 3\n")
    assert_one_line_error(cli("--config", bad, "check-config"), "epochz", "schema.yaml")


def test_missing_data_leaves_no_outputs(tmp_path, tiny_config):
    tiny_config["data_dir"] = str(tmp_path / "no-data")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(tiny_config))
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "gan_study", "--config", str(cfg), "train", "--model", "mlp_gan", "--dataset", "mnist",
         "--seed", "0", "--work-dir", str(out), "--final", str(out / "final.pt"), "--log-csv", str(out / "log.csv"),
         "--summary", str(out / "train.json")],
        cwd=REPO, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert_one_line_error(done, "train-images-idx3-ubyte.gz is missing")
    assert not out.exists() or [p.name for p in out.iterdir()] == [".lock"]  # the work dir's lock, no output


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b"PK\x03\x04truncated"])
def test_corrupt_checkpoint(tmp_path, content):
    bad = tmp_path / "final.pt"
    bad.write_bytes(content)
    done = cli("sample", "--model", "mlp_gan", "--dataset", "mnist", "--seed", "0", "--final", bad,
               "--samples", tmp_path / "s.pt", "--grid", tmp_path / "g.png")
    assert_one_line_error(done, "corrupt")
    assert not (tmp_path / "s.pt").exists() and not (tmp_path / "g.png").exists()


def test_checkpoint_of_another_model_or_run(tmp_path):
    other = tmp_path / "final.pt"
    checkpoint.save(other, {"model": "dcgan", "dataset": "mnist", "seed": 0, "status": "completed"})
    done = cli("sample", "--model", "mlp_gan", "--dataset", "mnist", "--seed", "0", "--final", other,
               "--samples", tmp_path / "s.pt", "--grid", tmp_path / "g.png")
    assert_one_line_error(done, "model='dcgan'")


def test_foreign_pickle_is_not_executed(tmp_path):
    # A pickle that would run code on load: weights_only loading refuses it.
    import pickle

    class Evil:
        def __reduce__(self):
            return (exec, ("open('" + str(tmp_path / "pwned") + "', 'w').write('x')",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(GanStudyError, match="corrupt or not a gan-study checkpoint"):
        checkpoint.load(path)
    assert not (tmp_path / "pwned").exists()


def test_cuda_requested_without_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(GanStudyError, match="device: cuda was requested but this machine has no usable CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_every_listed_command_is_registered_by_its_module_with_its_arguments():
    import importlib

    from gan_study.cli import COMMANDS, build_parser
    from gan_study.commands import registered

    for name, (module, _) in COMMANDS.items():
        importlib.import_module(f"gan_study.{module}")
        arguments, run = registered(name)
        assert callable(run) and run.__module__ == f"gan_study.{module}", name
        build_parser(name)  # its arguments parse into a valid argparse parser
