"""FID/KID/PR through torch-fidelity: sanity checks on real data (small N, CPU) and the offline guarantee."""

import os
import socket
from pathlib import Path

import pytest
import torch

from gan_study import fidelity
from gan_study.data import load_splits
from gan_study.errors import GanStudyError
from tests.conftest import data_dir

N = 64
FCFG = {"batch_size": 64, "kid_subsets": 20, "kid_subset_size": 32, "prc": True}


def weights_path():
    path = Path(os.environ.get("GAN_STUDY_INCEPTION_WEIGHTS")
                or data_dir() / "inception" / "weights-inception-2015-12-05-fid2048-nofc.pth")
    if not path.is_file():
        pytest.fail(f"the FID tests need the Inception weights: set GAN_STUDY_INCEPTION_WEIGHTS (looked for {path})")
    return str(path)


@pytest.fixture(scope="module")
def no_network():
    """Any socket or download attempt fails the test: the offline path must not touch the network."""
    mp = pytest.MonkeyPatch()

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    mp.setattr(socket, "socket", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setattr(torch.hub, "load_state_dict_from_url", refuse)
    mp.setattr(torch.hub, "download_url_to_file", refuse)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def metrics(no_network, tmp_path_factory):
    """Three comparisons on 64-image sets, computed once for the module."""
    mnist = load_splits("mnist", data_dir()).test_x
    fashion = load_splits("fashion_mnist", data_dir()).test_x
    cache = tmp_path_factory.mktemp("fidelity_cache")
    weights = weights_path()
    run = lambda a, b, name: fidelity.fidelity_metrics(a, b, name, FCFG, "cpu", cache, weights)  # noqa: E731
    return {
        "self": run(mnist[:N], mnist[:N], "mnist-a"),
        "halves": run(mnist[N : 2 * N], mnist[:N], "mnist-a"),  # the second call reads mnist-a from the cache
        "cross": run(fashion[:N], mnist[:N], "mnist-a"),
        "cache": cache,
    }


def test_fid_of_a_set_with_itself_is_zero(metrics):
    assert metrics["self"]["fid"] == pytest.approx(0.0, abs=1e-2)
    assert metrics["self"]["precision"] == 1.0 and metrics["self"]["recall"] == 1.0


def test_fid_separates_datasets(metrics):
    same, cross = metrics["halves"]["fid"], metrics["cross"]["fid"]
    assert 0 < same < cross / 2, (same, cross)
    assert metrics["halves"]["kid_mean"] < metrics["cross"]["kid_mean"]
    assert metrics["cross"]["precision"] < metrics["halves"]["precision"]


def test_kid_is_unbiased_on_identical_sets(metrics):
    # The unbiased MMD² estimator has expectation 0 when both sets come from one distribution.
    kid = metrics["self"]
    assert abs(kid["kid_mean"]) < max(3 * kid["kid_std"], 1e-3)


def test_real_features_are_cached_under_the_named_input(metrics):
    assert any(p.name.startswith("mnist-a") for p in metrics["cache"].iterdir())


def test_small_samples_are_labelled_and_inception_score_is_never_a_number(metrics):
    result = metrics["halves"]
    assert "rank-deficient" in result["note"] and result["comparable_to_literature"] is False
    assert isinstance(result["inception_score"], str) and "unavailable" in result["inception_score"]
    assert "no classifier layer" in result["inception_score"]  # said of this FID-only file, not of every file
    assert "no classifier" not in fidelity.inception_score_note(None)  # torch-fidelity's release file has one


def test_grayscale_becomes_three_channel_uint8():
    x = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    out = fidelity.to_rgb_uint8(x)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 1, 3)
    assert out[0, :, 0, :].tolist() == [[0, 128, 255]] * 3


def test_kid_subset_larger_than_sample_is_refused():
    with pytest.raises(GanStudyError, match="kid_subset_size"):
        fidelity.check_sizes(10, 100, {**FCFG, "kid_subset_size": 50})


def test_missing_weights_file_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("GAN_STUDY_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(GanStudyError, match="Inception weights file .*nowhere.pth does not exist"):
        fidelity.resolve_weights(str(tmp_path / "nowhere.pth"))
    monkeypatch.setenv("GAN_STUDY_INCEPTION_WEIGHTS", weights_path())
    assert fidelity.resolve_weights(str(tmp_path / "nowhere.pth")) == weights_path()  # the environment wins


def test_no_weights_offline_names_the_fix(monkeypatch, tmp_path):
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", offline)
    images = torch.rand(4, 1, 28, 28)
    with pytest.raises(GanStudyError, match="set fid.weights_path or \\$GAN_STUDY_INCEPTION_WEIGHTS"):
        fidelity.fidelity_metrics(images, images, "x", {**FCFG, "kid_subset_size": 2}, "cpu", tmp_path, None)
