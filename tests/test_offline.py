"""With offline paths given (data dir, Inception weights), the smoke path makes no network access."""

import socket

import pytest
import torch

from gan_study.evaluate import fid, fid_reference, parzen
from gan_study.sample import sample
from gan_study.train import train
from tests.test_fidelity import weights_path


def test_data_training_parzen_and_fid_run_with_sockets_refused(tiny_config, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setenv("GAN_STUDY_INCEPTION_WEIGHTS", weights_path())
    tiny_config["fid"].update(n_samples=16, n_real=16, kid_subset_size=8, kid_subsets=5)
    d = tmp_path
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    assert parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")["status"] == "completed"
    ref = fid_reference(tiny_config, "mnist", d / "cache", d / "ref.json")
    assert ref["fid_test_vs_itself"] == pytest.approx(0.0, abs=1e-2)
    record = fid(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "ref.json", d / "fid.json")
    assert record["fid"] > 0 and record["n_generated"] == 16 and record["reference_cache_name"] == ref["cache_name"]
