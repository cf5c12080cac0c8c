import math

import numpy as np
import pytest
import torch
from scipy.io import savemat

from gan_study.errors import GanStudyError
from gan_study.parzen import evaluate
from gan_study.tfd import load_tfd, parzen_tfd


def write_fake_tfd(path, n=60, seed=0):
    """A tiny file in the TFD_48x48.mat format: images N×48×48 uint8, folds N×5 (0/1/2/3)."""
    rng = np.random.default_rng(seed)
    folds = np.stack([rng.permutation(np.repeat([0, 1, 2, 3], n // 4)) for _ in range(5)], axis=1)
    savemat(path, {"images": rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), "folds": folds,
                   "labs_ex": np.zeros((n, 1)), "labs_id": np.zeros((n, 1))})
    return path


def test_loads_the_mat_format(tmp_path):
    images, folds = load_tfd(write_fake_tfd(tmp_path / "TFD_48x48.mat"))
    assert images.shape == (60, 1, 48, 48) and images.min() >= 0 and images.max() <= 1
    assert folds.shape == (60, 5) and set(folds.unique().tolist()) == {0, 1, 2, 3}


def test_sigma_per_fold_and_standard_error_over_folds(tmp_path):
    images, folds = load_tfd(write_fake_tfd(tmp_path / "TFD_48x48.mat"))
    samples = torch.rand(40, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    sigmas = np.logspace(-1, 0, 10)
    result = parzen_tfd(samples, images, folds, sigmas, block_size=7)
    by_hand = [evaluate(samples, images[folds[:, k] == 2], images[folds[:, k] == 3], sigmas)["test_mean_ll"]
               for k in range(5)]
    assert [f["test_mean_ll"] for f in result["folds"]] == pytest.approx(by_hand)
    assert result["test_mean_ll"] == pytest.approx(np.mean(by_hand))
    assert result["se_over_folds"] == pytest.approx(np.std(by_hand) / math.sqrt(5))


@pytest.mark.parametrize("content, message", [
    ({"images": np.zeros((4, 32, 32), np.uint8), "folds": np.zeros((4, 5))}, "expected N×48×48"),
    ({"pixels": np.zeros((4, 48, 48), np.uint8)}, "no images, folds variable"),
    ({"images": np.zeros((4, 48, 48), np.uint8), "folds": np.zeros((4, 3))}, "expected N×5"),
])
def test_wrong_format_is_one_clear_error(tmp_path, content, message):
    savemat(tmp_path / "bad.mat", content)
    with pytest.raises(GanStudyError, match=message):
        load_tfd(tmp_path / "bad.mat")


def test_not_a_mat_file_or_missing(tmp_path):
    (tmp_path / "x.mat").write_bytes(b"definitely not matlab")
    with pytest.raises(GanStudyError, match="not a MATLAB file"):
        load_tfd(tmp_path / "x.mat")
    with pytest.raises(GanStudyError, match="licensed"):
        load_tfd(tmp_path / "nope.mat")


def test_parzen_tfd_command_writes_a_stamped_record(tmp_path, capsys):
    import json

    from gan_study.atomic import save_torch
    from gan_study.cli import main
    from gan_study.sample import SAMPLES_FORMAT

    tfd = write_fake_tfd(tmp_path / "TFD_48x48.mat")
    samples = tmp_path / "samples.pt"
    save_torch(samples, {"format": SAMPLES_FORMAT, "status": "completed",
                         "images": torch.rand(40, 1, 48, 48, generator=torch.Generator().manual_seed(2))})
    out = tmp_path / "tfd.json"
    assert main(["parzen-tfd", "--samples", str(samples), "--tfd-file", str(tfd), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert len(record["folds"]) == 5 and math.isfinite(record["test_mean_ll"])
    assert record["provenance"]["config_hash"] and record["wall_time_s"] >= 0
    assert f"{record['test_mean_ll']:.1f}" in capsys.readouterr().out
