"""Write files so that readers see either the complete new file or nothing.

Every writer in the package goes through `atomic_path`: the content is written to a temporary file
in the same directory and renamed over the target only after it was closed successfully. A killed
job therefore never leaves a truncated JSON/CSV/PT behind for a later rule to read.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path next to `target`; rename it onto `target` if the block succeeds.

    The temporary name keeps the target's suffix, so writers that infer a format from it still work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(target, text):
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_json(target, obj):
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_torch(target, obj):
    import torch

    with atomic_path(target) as tmp:
        torch.save(obj, tmp)


def write_csv(target, frame):
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
