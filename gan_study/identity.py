"""Every per-run file is checked against the run it is used for, and every image batch before it is scored.

A replication's numbers are only as good as the check that each one belongs to the run it is reported for: a samples
file, a metrics record or a checkpoint names its model, dataset, seed and the hash of the run config that trained it,
and a step that reads one refuses it, in one line naming the fix, when any of them is not the run it was asked for.
"""

import json
from pathlib import Path

from .errors import GanStudyError

RUN_KEYS = ("model", "dataset", "seed")


def read_record(path, what="metrics file", required=RUN_KEYS):
    """A JSON record (a mapping with the `required` keys), or one clear error naming the file and the fix."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else f"not valid JSON: {err}"
        raise GanStudyError(f"cannot read {what} {path} ({reason}); re-run the step that writes it") from None
    if not isinstance(record, dict):
        raise GanStudyError(f"{what} {path} holds a JSON {type(record).__name__}, not a record; re-run the step that "
                            "writes it")
    missing = [key for key in required if key not in record]
    if missing:
        raise GanStudyError(f"{what} {path} has no {', '.join(missing)}; it is not a gan-study {what} (re-run its step)")
    return record


def check_run(record, path, model, dataset, seed, run_hash=None, what="file"):
    """Refuse `record` (read from `path`) unless it belongs to run model/dataset/seed (and, when both are known, was
    trained under the run config `run_hash`)."""
    asked = {"model": model, "dataset": dataset, "seed": seed}
    got = {key: record.get(key) for key in RUN_KEYS}
    if got != asked:
        raise GanStudyError(f"{what} {path} belongs to {_run(got)}, not {_run(asked)}; pass that run's own {what}")
    recorded = record.get("run_config_hash")
    if run_hash is not None and recorded is not None and recorded != run_hash:
        raise GanStudyError(f"{what} {path} was made under run config {recorded}, not this config's {run_hash}; "
                            "re-run its steps with this config, or pass the config it was made with (--config)")


def _run(keys):
    return f"{keys['model']}/{keys['dataset']}/seed{keys['seed']}"


def check_images(images, image_shape, needed, path):
    """Refuse samples that cannot be scored as images of this dataset: wrong shape, too few, not floating point,
    non-finite, or outside [0, 1] (e.g. stored as 0–255)."""
    import torch  # here only: reading and checking records stays torch-free (gan_study.run_table)

    if not isinstance(images, torch.Tensor):
        raise GanStudyError(f"samples file {path} holds no image tensor; re-run the sample step")
    shape = tuple(image_shape)
    if images.dim() != 1 + len(shape) or tuple(images.shape[1:]) != shape:
        raise GanStudyError(f"samples file {path} holds images of shape {tuple(images.shape[1:])}, not this "
                            f"dataset's {shape}; re-run the sample step for this run")
    if images.shape[0] < needed:
        raise GanStudyError(f"samples file {path} holds {images.shape[0]:,} images, fewer than the {needed:,} the "
                            "config asks for; re-run the sample step with this config")
    if not images.is_floating_point():
        raise GanStudyError(f"samples file {path} holds {images.dtype} images, not floats in [0, 1]; re-run the sample "
                            "step (it writes floats in [0, 1])")
    if not torch.isfinite(images).all():
        raise GanStudyError(f"samples file {path} holds NaN or infinite pixels; the generator is broken: re-train or "
                            "mark the run diverged")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 1:
        raise GanStudyError(f"samples file {path} holds pixels in [{low:g}, {high:g}], not [0, 1] (stored as 0–255?); "
                            "re-run the sample step")
