"""FID, KID and precision/recall through torch-fidelity (never hand-written), offline when weights are given.

Protocol (Lucic et al. 2018): generated images vs the test set, both as uint8 RGB (grayscale copied to three
channels), features from torch-fidelity's `inception-v3-compat` (the TF-Inception port, 2048-d pool features).
Precision/recall use the same Inception features (torch-fidelity's default for PRC is VGG16, whose weights
cannot be had offline). The Inception batch size is fixed by the config and recorded, because features shift
slightly with it. The Inception Score is not computed: it needs the classifier layer, which an FID-only weights file
(`*-nofc.pth`) lacks, and the study's protocol reports FID, KID and precision/recall; `fid.json` says which.

The real images' features are computed once per dataset (rule `fid_reference`) into torch-fidelity's cache
under a name that encodes the dataset, the number of images, the batch size and the weights file.
"""

import functools
import hashlib
import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .errors import GanStudyError

WEIGHTS_ENV = "GAN_STUDY_INCEPTION_WEIGHTS"
FEATURE_EXTRACTOR = "inception-v3-compat"
MIN_FULL_RANK = 2048  # below this many images the 2048-d covariance is rank-deficient


def inception_score_note(weights):
    """Why a FID record carries no Inception Score, true of the weights file that scored it."""
    if weights is not None and "nofc" in Path(weights).name:
        return (f"unavailable: {Path(weights).name} has no classifier layer (an FID-only weights file); the study "
                "reports FID, KID and precision/recall")
    return "not computed: the study reports FID, KID and precision/recall"


def resolve_weights(configured):
    """The Inception weights file: $GAN_STUDY_INCEPTION_WEIGHTS, else the config's fid.weights_path, else None
    (torch-fidelity then downloads its release file, for users who are online)."""
    value = os.environ.get(WEIGHTS_ENV) or configured
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise GanStudyError(
            f"Inception weights file {path} does not exist; set fid.weights_path or ${WEIGHTS_ENV} to the "
            f"torch-fidelity FID weights (weights-inception-2015-12-05-*.pth), or unset both to let torch-fidelity "
            f"download them (needs internet)"
        )
    return str(path)


@functools.lru_cache(maxsize=4)
def _sha256(path, size, mtime_ns):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path):
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def weights_record(weights):
    """Which Inception weights scored the images: their source, path and sha256 (for every FID record)."""
    if weights is None:
        import torch

        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

        path = Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
        return {"source": f"torch-fidelity release file ({URL_INCEPTION_V3})", "path": str(path),
                "sha256": file_sha256(path) if path.is_file() else None}
    return {"source": f"local file (fid.weights_path or ${WEIGHTS_ENV})", "path": str(weights),
            "sha256": file_sha256(weights)}


def weights_tag(weights):
    """Part of the reference cache's name: features from other weights never share a cache entry."""
    return "release" if weights is None else file_sha256(weights)[:12]


def to_rgb_uint8(images):
    """[0, 1] floats (N, C, H, W) → uint8 RGB, as torch-fidelity expects; grayscale is copied to 3 channels."""
    out = (images * 255).round().clamp(0, 255).to(torch.uint8)
    return out.repeat(1, 3, 1, 1) if out.shape[1] == 1 else out


class UInt8Images(Dataset):
    def __init__(self, images):
        self.images = to_rgb_uint8(images)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        return self.images[i]


def reference_cache_name(dataset, n_real, fcfg, weights):
    return f"gan_study-{dataset}-test{n_real}-bs{fcfg['batch_size']}-{weights_tag(weights)}"


def check_sizes(n_generated, n_real, fcfg):
    if fcfg["kid_subset_size"] > min(n_generated, n_real):
        raise GanStudyError(
            f"fid.kid_subset_size ({fcfg['kid_subset_size']}) exceeds the number of images "
            f"({min(n_generated, n_real)}); lower it or raise fid.n_samples / fid.n_real"
        )


def fidelity_metrics(generated, real, real_cache_name, fcfg, device, cache_root, weights, generated_cache_name=None):
    """torch-fidelity's FID, KID and (optionally) precision/recall of `generated` vs `real` ([0, 1] images).

    `generated_cache_name` caches the first input too; the reference step passes the real set's own name so
    that FID(test, test) extracts the features once.
    """
    check_sizes(len(generated), len(real), fcfg)
    try:
        raw = _calculate(UInt8Images(generated), UInt8Images(real), real_cache_name, fcfg, device, cache_root, weights,
                         generated_cache_name)
    except OSError as err:  # URLError is an OSError: a download attempted without network
        raise GanStudyError(
            f"torch-fidelity could not load the Inception weights ({err}); offline, set fid.weights_path or "
            f"${WEIGHTS_ENV} to a local copy"
        ) from None
    return summarise_metrics(raw, len(generated), len(real), fcfg, weights)


def _calculate(input1, input2, input2_cache_name, fcfg, device, cache_root, weights, input1_cache_name=None):
    import torch_fidelity

    return torch_fidelity.calculate_metrics(
        input1=input1,
        input1_cache_name=input1_cache_name,
        input2=input2,
        input2_cache_name=input2_cache_name,
        cache_root=str(cache_root),
        cache=True,
        fid=True,
        kid=True,
        prc=fcfg["prc"],
        feature_extractor=FEATURE_EXTRACTOR,
        feature_extractor_weights_path=weights,
        cuda=torch.device(device).type == "cuda",
        batch_size=fcfg["batch_size"],
        kid_subsets=fcfg["kid_subsets"],
        kid_subset_size=fcfg["kid_subset_size"],
        save_cpu_ram=True,  # no DataLoader worker processes: the images are already in memory
        verbose=False,
    )


def summarise_metrics(raw, n_generated, n_real, fcfg, weights=None):
    result = {
        "fid": raw["frechet_inception_distance"],
        "kid_mean": raw["kernel_inception_distance_mean"],
        "kid_std": raw["kernel_inception_distance_std"],
        "n_generated": n_generated,
        "n_real": n_real,
        "batch_size": fcfg["batch_size"],
        "kid_subset_size": fcfg["kid_subset_size"],
        "kid_subsets": fcfg["kid_subsets"],
        "feature_extractor": f"{FEATURE_EXTRACTOR} (2048-d pool features)",
        "inception_score": inception_score_note(weights),
        "comparable_to_literature": min(n_generated, n_real) >= 10_000,
    }
    if min(n_generated, n_real) < MIN_FULL_RANK:
        result["note"] = (f"only {min(n_generated, n_real)} images: the 2048-d covariance is rank-deficient and "
                          f"FID is biased upwards; a smoke-test number, not a measurement")
    if fcfg["prc"]:
        result.update(precision=raw["precision"], recall=raw["recall"], f_score=raw["f_score"],
                      prc_features=FEATURE_EXTRACTOR)
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "f_score"):
        if key in result and result[key] != result[key]:  # NaN: never reported as a number
            raise GanStudyError(f"torch-fidelity returned NaN for {key}; check the Inception weights file")
    return result
