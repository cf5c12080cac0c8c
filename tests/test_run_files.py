"""The checkpoint written in a thread (gan_study/run_files.py): frozen at the epoch's end, written while training goes
on, one at a time, errors surfaced. That a resumed run equals an uninterrupted one is tests/test_train.py's."""

import threading

import pytest
import torch

from gan_study import checkpoint, run_files
from gan_study.run_files import BackgroundCheckpoint, host_copy


def test_the_host_copy_is_frozen_when_training_changes_the_weights_in_place():
    weights = torch.zeros(3)
    state = {"generator": {"w": weights}, "rng": [torch.ones(2)], "epoch": 4}
    copy = host_copy(state)
    weights.add_(1)
    assert torch.equal(copy["generator"]["w"], torch.zeros(3)) and copy["epoch"] == 4
    assert copy["rng"][0] is not state["rng"][0]


def test_a_checkpoint_is_written_while_the_caller_goes_on_and_one_at_a_time(tmp_path, monkeypatch):
    release, writing, written = threading.Event(), threading.Event(), []
    save = checkpoint.save

    def slow_save(path, payload):
        writing.set()
        assert release.wait(timeout=60)  # a hang guard, not a timing
        save(path, payload)
        written.append(int(payload["epoch"]))

    monkeypatch.setattr(run_files.checkpoint, "save", slow_save)
    writer = BackgroundCheckpoint()
    weights = torch.zeros(2)
    writer.save(tmp_path / "checkpoint.pt", {"epoch": 1, "w": weights})
    assert writing.wait(timeout=60) and not written  # save returned while the write is held back
    weights.add_(5)  # training goes on, in place
    release.set()
    writer.save(tmp_path / "checkpoint.pt", {"epoch": 2, "w": weights})  # waits for the first write
    assert written[0] == 1
    writer.wait()
    assert written == [1, 2]
    assert torch.equal(checkpoint.load(tmp_path / "checkpoint.pt")["w"], torch.full((2,), 5.0))


def test_a_failed_write_is_raised_in_the_training_thread(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    writer = BackgroundCheckpoint()
    writer.save(tmp_path / "file" / "checkpoint.pt", {"epoch": 1})
    with pytest.raises(OSError):
        writer.wait()
    writer.wait()  # raised once
