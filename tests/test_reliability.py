"""Misuse a user can run into: two trainers on one work dir, a full disk, killed writers and workflows, files in the
wrong place, and malformed input — each ends in one clear line (or a clean recovery), never a traceback."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gan_study import atomic, worklock
from gan_study.train import train
from tests.conftest import REPO
from tests.test_cli import assert_one_line_error, cli

RUN = ["--model", "mlp_gan", "--dataset", "mnist", "--seed", "0"]


def train_cli(config, work):
    return cli("--config", config, "train", *RUN, "--work-dir", work, "--final", work / "final.pt",
               "--log-csv", work / "log.csv", "--summary", work / "train.json")


@pytest.fixture
def config_file(tiny_config, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tiny_config))
    return path


def test_a_second_trainer_on_the_same_work_dir_is_refused(config_file, tmp_path):
    work = tmp_path / "work"
    with worklock.hold(work):  # the first trainer, as far as the OS is concerned
        done = train_cli(config_file, work)
    assert_one_line_error(done, f"{work} is in use by another trainer (pid {os.getpid()})", "kill")
    assert not (work / "train.json").exists() and not (work / "checkpoint.pt").exists()
    assert train_cli(config_file, work).returncode == 0  # the lock goes with its holder


def test_a_lock_held_by_a_killed_process_does_not_block(config_file, tmp_path):
    work = tmp_path / "work"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from gan_study import worklock\n"
                               f"with worklock.hold({str(work)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert train_cli(config_file, work).returncode == 0


def test_disk_full_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.pt"
    atomic.save_torch(target, {"old": torch.zeros(3)})

    real_write_bytes = atomic.Path.write_bytes

    def full(path, data):
        real_write_bytes(path, bytes(data[:7]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.Path, "write_bytes", full)
    with pytest.raises(atomic.GanStudyError, match=rf"no space left on the device writing {target} \(.* MiB free\)"):
        atomic.save_torch(target, {"new": torch.ones(3)})
    monkeypatch.undo()
    assert torch.equal(torch.load(target, weights_only=True)["old"], torch.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


def test_a_failed_write_holds_no_view_of_the_buffer_torch_saved_into(tmp_path, monkeypatch):
    """save_torch writes bytes, not a view of the BytesIO torch.save filled: under torch 2.11, after a failed write
    had been handed such a view the garbage collector crashed the process, and a full disk ended in a segmentation
    fault instead of the one line and exit status 2 (the tmpfs test below showed it)."""
    written = []

    def full(path, data):
        written.append(type(data))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.Path, "write_bytes", full)
    with pytest.raises(atomic.GanStudyError, match="no space left on the device"):
        atomic.save_torch(tmp_path / "checkpoint.pt", {"w": torch.ones(3)})
    assert written == [bytes]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")
def test_disk_full_on_a_real_tmpfs(config_file, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], check=True)
    try:
        done = train_cli(config_file, mount / "work")  # a checkpoint is ~30 MB: the first save fills the disk
        assert_one_line_error(done, "no space left on the device writing", "MiB free")
        assert not list((mount / "work").glob(".*tmp*"))
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_writer_killed_before_its_rename_leaves_a_temporary_that_the_next_run_removes(config_file, tmp_path):
    work = tmp_path / "work"
    killed = subprocess.run([sys.executable, "-c", "import os, signal; from gan_study.atomic import atomic_path\n"
                             f"with atomic_path({str(work / 'checkpoint.pt')!r}) as tmp:\n"
                             "    tmp.write_bytes(b'x' * 1000); os.kill(os.getpid(), signal.SIGKILL)"], cwd=REPO)
    assert killed.returncode == -signal.SIGKILL
    leftovers = list(work.glob(".checkpoint.pt.*.tmp.pt"))
    assert len(leftovers) == 1 and not (work / "checkpoint.pt").exists()
    done = train_cli(config_file, work)
    assert done.returncode == 0 and "removed 1 temporary file" in done.stdout
    assert not list(work.glob(".*tmp*"))


def test_a_snapshot_used_as_the_checkpoint_is_moved_aside(tiny_config, tmp_path, capsys):
    tiny_config["snapshots"]["every_n_epochs"] = 1
    d = tmp_path
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    (d / "checkpoint.pt").write_bytes((d / "snapshots" / "epoch0001.pt").read_bytes())
    capsys.readouterr()
    again = train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "again.json")
    stale = f"checkpoint.stale-{again['run_config_hash']}.pt"  # a snapshot names its run config, not a layout
    assert f"moved to {stale}, starting fresh" in capsys.readouterr().out
    assert again["status"] == "completed" and (d / stale).is_file()


def test_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  mlp_gan:\n    epochs: [3\n")
    assert_one_line_error(cli("--config", bad, "check-config"), str(bad), "line 4, column 1", "invalid YAML")


@pytest.mark.parametrize("change, fragments", [
    ({"batch_size": 700}, ["models.mlp_gan.batch_size (700) exceeds the 600 training images", "lower batch_size"]),
    ({"train_limit": 60_000}, ["models.mlp_gan.train_limit (60000) exceeds the 50,000 training images", "null"]),
])
def test_training_sizes_name_the_key_to_change(tiny_config, tmp_path, change, fragments):
    tiny_config["models"]["mlp_gan"].update(change)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(tiny_config))
    assert_one_line_error(train_cli(path, tmp_path / "w"), *fragments)


def test_a_data_dir_that_is_a_file(tiny_config, tmp_path):
    (tmp_path / "data").write_text("not a folder")
    tiny_config["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(tiny_config))
    done = subprocess.run([sys.executable, "-m", "gan_study", "--config", str(path), "train", *RUN, "--work-dir",
                           str(tmp_path / "w"), "--final", str(tmp_path / "w/f.pt"), "--log-csv",
                           str(tmp_path / "w/l.csv"), "--summary", str(tmp_path / "w/t.json")],
                          cwd=REPO, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert_one_line_error(done, f"the data dir {tmp_path / 'data'} is a file, not a folder")


def test_outputs_honour_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        atomic.write_text(tmp_path / "group.txt", "x")
        os.umask(0o077)
        atomic.write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "group.txt").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600


def test_the_umask_is_read_without_being_set(monkeypatch):
    """The checkpoint is written by a thread while training writes other files: reading the umask through os.umask
    would set it to 0 for a moment, long enough for another thread's new file to come out world-writable."""
    expected = os.umask(0o027)
    os.umask(0o027)
    try:
        monkeypatch.setattr(atomic.os, "umask", lambda mask: pytest.fail("the umask was set to read it"))
        assert atomic._umask() == 0o027
    finally:
        monkeypatch.undo()
        os.umask(expected)
