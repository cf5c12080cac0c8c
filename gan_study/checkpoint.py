"""Our checkpoint format: plain dicts of tensors and numbers, loaded with `weights_only=True`.

Nothing in a checkpoint needs pickle to load, so a resumed run never executes code from a file.
"""

from pathlib import Path

import torch

from .atomic import save_torch
from .errors import GanStudyError

FORMAT = "gan_study.checkpoint/1"


def save(path, payload):
    save_torch(path, {"format": FORMAT, **payload})


def load(path, expect=None):
    """Load a checkpoint; `expect` maps keys (model, dataset, seed, …) to required values."""
    path = Path(path)
    if not path.is_file():
        raise GanStudyError(f"checkpoint {path} does not exist; run the train step first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign pickle, …
        raise GanStudyError(
            f"checkpoint {path} is corrupt or not a gan-study checkpoint ({type(err).__name__}); "
            f"delete it and re-run to train from scratch"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GanStudyError(f"{path} is not a gan-study checkpoint (format {FORMAT}); delete it and re-run")
    for key, value in (expect or {}).items():
        if payload.get(key) != value:
            raise GanStudyError(
                f"checkpoint {path} belongs to {key}={payload.get(key)!r}, not {value!r}; "
                f"point to the right checkpoint or delete this one"
            )
    return payload
