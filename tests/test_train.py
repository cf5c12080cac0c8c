import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gan_study import checkpoint
from gan_study.models import variant_class
from gan_study.train import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(config, tmp, name, seed=0, **kw):
    d = tmp / name
    summary = train(config, "mlp_gan", "mnist", seed, d, d / "final.pt", d / "log.csv", d / "train.json", **kw)
    return summary, d


def weights(path):
    state = checkpoint.load(path)
    return {**state["generator"], **{"D." + k: v for k, v in state["discriminator"].items()}}


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def test_same_seed_gives_identical_results_and_another_seed_does_not(tiny_config, tmp_path):
    a, da = run(tiny_config, tmp_path, "a")
    b, db = run(tiny_config, tmp_path, "b")
    c, dc = run(tiny_config, tmp_path, "c", seed=1)
    assert a["status"] == "completed" and a["steps"] == 12 and a["epochs_completed"] == 2
    assert_same_weights(da / "final.pt", db / "final.pt")
    assert (da / "log.csv").read_text() == (db / "log.csv").read_text()
    assert not torch.equal(weights(da / "final.pt")["net.0.weight"], weights(dc / "final.pt")["net.0.weight"])


def test_training_logs_schedules_and_moves_the_discriminator(tiny_config, tmp_path):
    tiny_config["models"]["mlp_gan"].update(epochs=3, train_limit=2000, log_every=20)
    summary, d = run(tiny_config, tmp_path, "a")
    import pandas as pd

    log = pd.read_csv(d / "log.csv")
    assert list(log.columns) == ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "lr", "momentum"]
    assert log["lr"].iloc[0] == pytest.approx(0.1 / 1.000004**19)  # lr of the 20th update (step index 19)
    # At init D outputs ≈ ½ everywhere (D loss ≈ log 2); with the 2014 init (U(±0.005)) and lr 0.1 the
    # first epochs move it slowly but steadily down on real MNIST.
    assert log["d_loss"].iloc[-1] < math.log(2) - 1e-4
    assert log["d_loss"].iloc[-1] < log["d_loss"].iloc[0] - 1e-4
    assert log["d_real"].iloc[-1] > log["d_fake"].iloc[-1]


def test_update_orders(tiny_config, tmp_path):
    sim, _ = run(tiny_config, tmp_path, "sim")
    assert sim["generator_updates"] == sim["steps"] == 12
    tiny_config["models"]["mlp_gan"].update(update_order="alternating", d_steps=3)
    alt, d = run(tiny_config, tmp_path, "alt")
    assert alt["steps"] == 12 and alt["generator_updates"] == 4  # every 3rd minibatch also updates G
    assert alt["status"] == "completed"
    assert not torch.equal(weights(d / "final.pt")["net.0.weight"], weights(tmp_path / "sim" / "final.pt")["net.0.weight"])


def test_resume_between_epochs_is_bitwise_identical(tiny_config, tmp_path):
    tiny_config["models"]["mlp_gan"].update(epochs=3)
    run(tiny_config, tmp_path, "straight")
    assert run(tiny_config, tmp_path, "resumed", until_epoch=1)[0] is None
    assert (tmp_path / "resumed" / "checkpoint.pt").exists() and not (tmp_path / "resumed" / "final.pt").exists()
    summary, _ = run(tiny_config, tmp_path, "resumed")
    assert summary["epochs_completed"] == 3
    assert_same_weights(tmp_path / "straight" / "final.pt", tmp_path / "resumed" / "final.pt")
    assert (tmp_path / "straight" / "log.csv").read_text() == (tmp_path / "resumed" / "log.csv").read_text()


def _train_cli(config_path, d):
    return [sys.executable, "-m", "gan_study", "--config", str(config_path), "train", "--model", "mlp_gan",
            "--dataset", "mnist", "--seed", "3", "--work-dir", str(d), "--final", str(d / "final.pt"),
            "--log-csv", str(d / "log.csv"), "--summary", str(d / "train.json")]


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tiny_config, tmp_path):
    tiny_config["models"]["mlp_gan"].update(epochs=4, train_limit=3000, log_every=5)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(tiny_config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}
    subprocess.run(_train_cli(cfg, tmp_path / "straight"), env=env, check=True, capture_output=True)

    d = tmp_path / "killed"
    proc = subprocess.Popen(_train_cli(cfg, d), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (d / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed; raise its budget"
    assert not (d / "final.pt").exists() and not (d / "train.json").exists()
    done = subprocess.run(_train_cli(cfg, d), env=env, check=True, capture_output=True, text=True)
    assert "resuming" in done.stdout
    assert_same_weights(tmp_path / "straight" / "final.pt", d / "final.pt")
    assert (tmp_path / "straight" / "log.csv").read_text() == (d / "log.csv").read_text()


def test_divergence_is_recorded_not_raised(tiny_config, tmp_path, monkeypatch):
    variant = variant_class("mlp_gan")
    original = variant.generator_loss
    monkeypatch.setattr(variant, "generator_loss", lambda self, d_fake: original(self, d_fake) * float("nan"))
    summary, d = run(tiny_config, tmp_path, "nan")
    assert summary["status"] == "diverged"
    assert summary["diverged"]["step"] == 2  # the first log row (log_every=2) sees the NaN
    assert checkpoint.load(d / "final.pt")["status"] == "diverged"
    assert json.loads((d / "train.json").read_text())["status"] == "diverged"


def test_config_change_restarts_instead_of_resuming(tiny_config, tmp_path, capsys):
    run(tiny_config, tmp_path, "a", until_epoch=1)
    tiny_config["models"]["mlp_gan"]["lr_initial"] = 0.05
    summary, d = run(tiny_config, tmp_path, "a")
    assert "another config" in capsys.readouterr().out
    assert summary["steps"] == 12 and list(d.glob("checkpoint.stale-*.pt"))


def test_generator_snapshots_every_n_epochs(tiny_config, tmp_path):
    tiny_config["models"]["mlp_gan"].update(epochs=3)
    tiny_config["snapshots"]["every_n_epochs"] = 1
    summary, d = run(tiny_config, tmp_path, "a")
    assert [s["epoch"] for s in summary["snapshots"]] == [1, 2]  # epoch 3 is the final weights
    snap = checkpoint.load(summary["snapshots"][1]["path"], expect={"model": "mlp_gan", "seed": 0, "epoch": 2})
    # The epoch-2 snapshot is exactly the generator a 2-epoch run ends with (the schedules do not depend on the budget).
    tiny_config["models"]["mlp_gan"].update(epochs=2)
    tiny_config["snapshots"]["every_n_epochs"] = None
    short, ds = run(tiny_config, tmp_path, "short")
    assert short["snapshots"] == []
    final = checkpoint.load(ds / "final.pt")["generator"]
    assert all(torch.equal(snap["generator"][k], final[k]) for k in final)
    # A fresh start (here: another config) drops the snapshots of the old weights.
    tiny_config["models"]["mlp_gan"].update(epochs=3, lr_initial=0.05)
    tiny_config["snapshots"]["every_n_epochs"] = 2
    again, _ = run(tiny_config, tmp_path, "a")
    assert [s["epoch"] for s in again["snapshots"]] == [2]
    assert sorted(p.name for p in (d / "snapshots").iterdir()) == ["epoch0002.pt"]


def test_checkpoint_of_an_older_layout_restarts_instead_of_crashing(tiny_config, tmp_path, capsys):
    run(tiny_config, tmp_path, "a", until_epoch=1)
    ckpt = tmp_path / "a" / "checkpoint.pt"
    state = checkpoint.load(ckpt)
    del state["state_version"]  # as written before the layout was versioned
    checkpoint.save(ckpt, {k: v for k, v in state.items() if k != "format"})
    summary, d = run(tiny_config, tmp_path, "a")
    assert "code version" in capsys.readouterr().out and summary["steps"] == 12
    assert list(d.glob("checkpoint.stale-*.pt"))


def test_progress_and_log_rows_appear_while_training(tiny_config, tmp_path, capsys):
    """A long run is never silent: progress lines with the losses, and the log rows in the work dir as they are
    made (before the final CSV exists)."""
    import pandas as pd

    import gan_study.progress as progress

    tiny_config["models"]["mlp_gan"]["epochs"] = 3
    d = tmp_path
    original = progress.Progress.__init__
    progress.Progress.__init__ = lambda self, *a, **k: original(self, *a, **{**k, "every_s": 0.0})
    try:
        train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json",
              until_epoch=1)
    finally:
        progress.Progress.__init__ = original
    assert not (d / "log.csv").exists()
    live = pd.read_csv(d / "train_log.seed0.csv")
    assert len(live) == 3 and live["epoch"].iloc[-1] == 1.0  # 6 steps per epoch, a row every 2
    out = capsys.readouterr().out
    assert "[gan-study] mlp_gan/mnist/seed0: epoch 1.00, step 6/18" in out and "d_loss" in out
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    assert pd.read_csv(d / "train_log.seed0.csv").equals(pd.read_csv(d / "log.csv"))
