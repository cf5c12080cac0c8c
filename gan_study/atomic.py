"""Write files so that readers see either the complete new file or nothing (and read CSVs back exactly).

Every writer in the package goes through `atomic_path`: the content is written to a temporary file
in the same directory and renamed over the target only after it was closed successfully. A killed
job therefore never leaves a truncated JSON/CSV/PT behind for a later rule to read.
"""

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import GanStudyError

TMP_MARK = ".tmp"  # temporary files are named .<target name>.<random>.tmp<suffix>


def _umask():
    """The process's umask, read where Linux shows it: reading it through os.umask sets it for a moment, and a file
    another thread creates meanwhile (the checkpoint is written by one while training goes on) would get the wrong
    permissions."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _disk_full(target):
    try:
        free = f"{shutil.disk_usage(Path(target).parent).free / 2**20:,.1f} MiB free"
    except OSError:
        free = "free space unknown"
    return GanStudyError(f"no space left on the device writing {target} ({free}); free some space (or move work/ "
                         "and results/ to a larger disk) and re-run: the previous version of the file is intact")


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path next to `target`; rename it onto `target` if the block succeeds.

    The temporary name keeps the target's suffix, so writers that infer a format from it still work. The file
    gets the permissions a plain `open()` would give it (0666 less the umask), not mkstemp's 0600, so results stay
    readable by the group. A full disk becomes one GanStudyError naming the file and the free space.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f"{TMP_MARK}{target.suffix}", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _disk_full(target) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temporaries(folder, name=None):
    """Delete temporary files that killed writers left in `folder` (not recursive), all of them or only those of
    target `name`. Call it only while no live writer can be using them (e.g. holding the folder's lock).
    Returns the number removed."""
    removed = 0
    for path in Path(folder).glob(f".{name or '*'}.*{TMP_MARK}*"):
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def write_text(target, text):
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_json(target, obj):
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_torch(target, obj):
    """torch.save, atomically. The bytes are built in memory and written with a plain write, so a full disk raises
    OSError(ENOSPC) (torch's own zip writer reports it as an opaque RuntimeError)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    # Bytes, not a view of the buffer (getvalue does not copy): after a failed write handed such a view, the garbage
    # collector crashed the process later, even with the view released (seen with torch 2.11 on Python 3.12).
    data = buffer.getvalue()
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_csv(target, frame):
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)


def read_csv(path, **kwargs):
    """pd.read_csv with every float read back exactly as write_csv wrote it. pandas 3 does so by default; pandas 2's
    default parser misses by one ulp in about one value of six, and a study re-aggregated from its CSVs then differs
    in the last digits (pandas 3 deprecates the option that fixes it)."""
    import pandas as pd

    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, **exact, **kwargs)


def write_figure_pdf(fig, target):
    """A matplotlib figure saved as a PDF, atomically and without a creation date: the same results rebuild the same
    file, so a re-aggregated study shows no change where none was made."""
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
