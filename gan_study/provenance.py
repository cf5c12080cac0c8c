"""Where a number came from: code version, configuration, packages, device, seed, time."""

import datetime
import hashlib
import json
import os
import platform
import socket
import subprocess
import time
from importlib import metadata
from pathlib import Path

from .config import REPO_ROOT

PACKAGES = ("torch", "torchvision", "numpy", "scipy", "pandas", "torch-fidelity", "snakemake")


def config_hash(config):
    """sha256 of the canonical JSON form of a (resolved) config; the first 12 hex digits."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# What a study writes into the tree (results/<study>/, committed): a run that adds seeds to a committed study changes
# those files while its later jobs start, and that is data, not code, so it does not make the code "dirty".
OUTPUT_DIRS = ("results",)


def _git(*args, root=REPO_ROOT):
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_state(root=REPO_ROOT):
    """The commit of the code and whether tracked files outside the study outputs (OUTPUT_DIRS) differ from it."""
    if os.environ.get("GAN_STUDY_GIT_COMMIT"):
        # A copy of the working tree made elsewhere: its .git, if any, need not be the tree's own commit, so the
        # commit is the one the copy was made at, stated by whoever made it.
        return {"git_commit": os.environ["GAN_STUDY_GIT_COMMIT"],
                "git_dirty": {"0": False, "1": True}.get(os.environ.get("GAN_STUDY_GIT_DIRTY"))}
    commit = _git("rev-parse", "HEAD", root=root)
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  *(f":(exclude){d}" for d in OUTPUT_DIRS), root=root)
    return {"git_commit": commit or "unknown", "git_dirty": bool(status) if status is not None else None}


def package_versions():
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_name(device):
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    # The instruction set torch dispatches to changes float rounding: runs repeat bitwise only on the same one. So
    # does the vendor: MKL takes other code paths on AMD's AVX-512 than on Intel's.
    model, threads = _cpu_model(), torch.get_num_threads()
    return (f"cpu ({f'{model}, ' if model else ''}{platform.processor() or platform.machine()}, "
            f"{torch.backends.cpu.get_cpu_capability()}, {threads} thread{'' if threads == 1 else 's'})")


def _cpu_model():
    """The processor's model name as Linux reports it (e.g. "AMD EPYC"), or None elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return None


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def provenance(config, seed=None, device="cpu", started=None):
    """The provenance record written into every metrics file."""
    record = {
        **git_state(),
        "config_hash": config_hash(config),
        "seed": seed,
        "packages": package_versions(),
        "device": device_name(device),
        "host": socket.gethostname(),
        "started": started or now(),
        "finished": now(),
    }
    return record


class StampedRecord(dict):
    """A result record every evaluator writes the same way: its fields, then the wall time since it was opened and
    its provenance (git, config hash, packages, device, seed), written atomically as JSON."""

    def __init__(self, config, seed=None, /, **fields):  # positional-only: a record may have a "seed" field too
        super().__init__(fields)
        self._config, self._seed, self._started, self._t0 = config, seed, now(), time.time()

    def write(self, out_json, device):
        from .atomic import write_json

        self["wall_time_s"] = round(time.time() - self._t0, 3)
        self["provenance"] = provenance(self._config, seed=self._seed, device=device, started=self._started)
        write_json(out_json, self)
        return self
