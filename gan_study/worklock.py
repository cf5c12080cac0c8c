"""One trainer per work dir: an OS-level lock (flock) that the kernel releases when its holder dies.

Two trainers writing one work dir would interleave checkpoints and outputs, and the last writer would win
silently. The lock file records the holder's pid so the refusal can name it. A lock held by a process killed
with SIGKILL disappears with it, so a killed run never blocks the next attempt.
"""

import contextlib
import fcntl
import os
from pathlib import Path

from .errors import GanStudyError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def hold(work_dir):
    """Hold `work_dir`'s lock for the duration of the block, or raise a GanStudyError naming its holder."""
    path = Path(work_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise GanStudyError(
                f"{work_dir} is in use by another trainer (pid {holder}); wait for it to finish, or stop it "
                f"(kill {holder}) and re-run: this run resumes from its checkpoint"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
