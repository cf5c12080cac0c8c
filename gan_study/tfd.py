"""The Toronto Face Database (licensed: the user supplies `TFD_48x48.mat`) and its Parzen protocol.

File format (as read by pylearn2's TFD loader in goodfeli/adversarial): a MATLAB file with `images`
(N × 48 × 48, uint8) and `folds` (N × 5; per fold 0 = unlabelled, 1 = train, 2 = validation, 3 = test).
Pixels are scaled to [0, 1]. The paper's TFD number is the mean over the five folds of the test
log-likelihood, each fold choosing its own σ on its validation images; the error is the standard error
over folds.
"""

import math
from pathlib import Path

import numpy as np
import torch

from .errors import GanStudyError
from .parzen import evaluate
from .commands import arg, command

N_FOLDS = 5
TRAIN, VALID, TEST = 1, 2, 3


def load_tfd(path):
    """(images (N, 1, 48, 48) float32 in [0, 1], folds (N, 5) int) from a TFD_48x48.mat file."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise GanStudyError(f"TFD file {path} does not exist; TFD is licensed: obtain TFD_48x48.mat and point to it")
    try:
        mat = loadmat(path)
    except Exception as err:  # scipy raises ValueError/TypeError/MatReadError for non-MATLAB input
        raise GanStudyError(f"{path} is not a MATLAB file ({type(err).__name__}); expected TFD_48x48.mat") from None
    missing = [k for k in ("images", "folds") if k not in mat]
    if missing:
        raise GanStudyError(f"{path} is not in the TFD_48x48.mat format: no {', '.join(missing)} variable")
    images, folds = np.asarray(mat["images"]), np.asarray(mat["folds"])
    if images.ndim != 3 or images.shape[1:] != (48, 48) or folds.shape != (images.shape[0], N_FOLDS):
        raise GanStudyError(
            f"{path} is not in the TFD_48x48.mat format: images {images.shape} (expected N×48×48), "
            f"folds {folds.shape} (expected N×{N_FOLDS})"
        )
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(folds.astype(np.int64))


def parzen_tfd(samples, images, folds, sigmas, block_size=1000):
    """Per fold: σ on that fold's validation images, log-likelihood of its test images; then mean and s.e. over folds."""
    per_fold = []
    for k in range(N_FOLDS):
        valid, test = images[folds[:, k] == VALID], images[folds[:, k] == TEST]
        if len(valid) == 0 or len(test) == 0:
            raise GanStudyError(f"TFD fold {k} has no validation or no test images")
        per_fold.append(evaluate(samples, valid, test, sigmas, block_size))
    lls = np.array([f["test_mean_ll"] for f in per_fold])
    return {
        "test_mean_ll": float(lls.mean()),
        "se_over_folds": float(lls.std() / math.sqrt(N_FOLDS)),
        "folds": per_fold,
        "units": "nats",
    }


@command("parzen-tfd", [
    arg("--samples", required=True, help="a gan-study samples file of 48×48 grayscale images"),
    arg("--tfd-file", required=True, help="TFD_48x48.mat (licensed; supply your own copy)"), arg("--out", required=True)])
def parzen_tfd_command(config, args):
    from .config import sigma_grid
    from .evaluate import load_samples
    from .provenance import StampedRecord

    record = StampedRecord(config, dataset="tfd", samples=str(args.samples), parzen_config=config["parzen"])
    images, folds = load_tfd(args.tfd_file)
    samples = load_samples(args.samples)["images"]
    record.update(parzen_tfd(samples, images, folds, sigma_grid(config["parzen"]), config["parzen"]["block_size"]))
    result = record.write(args.out, "cpu")
    print(f"TFD Parzen log-likelihood {result['test_mean_ll']:.1f} ± {result['se_over_folds']:.1f} nats "
          "(s.e. over folds)")
