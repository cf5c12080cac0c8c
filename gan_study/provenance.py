"""Where a number came from: code version, configuration, packages, device, seed, time."""

import datetime
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import time
from importlib import metadata
from pathlib import Path

from .commands import arg, command
from .config import REPO_ROOT
from .errors import GanStudyError

PACKAGES = ("torch", "torchvision", "numpy", "scipy", "pandas", "torch-fidelity", "snakemake")


def config_hash(config):
    """sha256 of the canonical JSON form of a (resolved) config; the first 12 hex digits."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _git(*args):
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_state():
    if os.environ.get("GAN_STUDY_GIT_COMMIT"):
        # A copy of the tree on a GPU machine: its .git, if any, is not the sender's (one lease found the session's
        # starting commit there, older than the tree sent), so the commit is the one `lease-run --git` was told.
        return {"git_commit": os.environ["GAN_STUDY_GIT_COMMIT"],
                "git_dirty": {"0": False, "1": True}.get(os.environ.get("GAN_STUDY_GIT_DIRTY"))}
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
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
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


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


def _restate(obj, recorded, sent):
    """`obj` (parsed JSON) with every git_commit / eval_git_commit equal to `recorded` set to `sent`, clean."""
    if isinstance(obj, list):
        return [_restate(item, recorded, sent) for item in obj]
    if not isinstance(obj, dict):
        return obj
    obj = {key: _restate(value, recorded, sent) for key, value in obj.items()}
    for prefix in ("", "eval_"):
        if obj.get(f"{prefix}git_commit") == recorded:
            obj[f"{prefix}git_commit"] = sent
            if f"{prefix}git_dirty" in obj:
                obj[f"{prefix}git_dirty"] = False
    return obj


def _restate_csv(path, recorded, sent):
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, changed = rows[0], False
    for prefix in ("", "eval_"):
        if f"{prefix}git_commit" in header:
            commit = header.index(f"{prefix}git_commit")
            dirty = header.index(f"{prefix}git_dirty") if f"{prefix}git_dirty" in header else None
            for row in rows[1:]:
                if row[commit] == recorded:
                    row[commit], changed = sent, True
                    if dirty is not None:
                        row[dirty] = "False"
    return rows if changed else None


def restate_commit(results_dir, recorded, sent, reason):
    """Correct the commit recorded in a results dir's files when the machine that made them misread it (a GPU
    machine whose .git was not the tree it was sent): `recorded` → `sent` (a clean checkout), in JSON fields, CSV
    columns and the LaTeX tables' short hashes. Appends the correction, with `reason`, to provenance-corrections.json
    there. Returns the files changed."""
    import csv

    from .atomic import atomic_path, write_json, write_text

    root, changed = Path(results_dir), []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".json", ".csv", ".tex") and p.is_file()):
        text = path.read_text()
        if recorded[:10] not in text or path.name == "provenance-corrections.json":
            continue
        if path.suffix == ".json":
            write_json(path, _restate(json.loads(text), recorded, sent))
        elif path.suffix == ".csv" and (rows := _restate_csv(path, recorded, sent)) is not None:
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(rows)
        elif path.suffix == ".tex":
            write_text(path, text.replace(f"{recorded[:10]}+dirty", sent[:10]).replace(recorded[:10], sent[:10]))
        changed.append(path.relative_to(root).as_posix())
    log = root / "provenance-corrections.json"
    entries = json.loads(log.read_text()) if log.is_file() else []
    write_json(log, entries + [{"recorded": recorded, "sent": sent, "sent_dirty": False, "reason": reason,
                                "files": changed, "date": now()}])
    return changed


@command("restate-commit", [
    arg("--results-dir", required=True), arg("--recorded", required=True, help="the full commit the files name"),
    arg("--sent", required=True, help="the full commit of the clean tree that really made them"),
    arg("--reason", required=True, help="why, for provenance-corrections.json")])
def restate_commit_command(config, args):
    for commit in (args.recorded, args.sent):
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise GanStudyError(f"restate-commit: {commit} is not a full 40-digit commit hash")
    changed = restate_commit(args.results_dir, args.recorded, args.sent, args.reason)
    print(f"{len(changed)} files of {args.results_dir} now name {args.sent[:10]}")
