"""Running the study on a remote GPU machine that has a time limit per command and a transfer limit per call.

The remote machine starts bare (Python and torch, no snakemake or torch-fidelity, no network), receives a copy of the
working tree plus at most a few tens of MiB per call, runs one command for at most ~10 minutes, and sends back a few
files of limited size. Hence two halves:
- here (`prepare`): the data and the Inception weights cut into bundles (one folder per call) of at most what a call
  leaves beside the working tree, wheels for the packages the study needs beyond the machine's image, a manifest of
  sha256s;
- there (`run`): check and reassemble the bundles, install the wheels into a target dir, run the benchmark, the graph
  check and the study's stages under a deadline that stops them cleanly before the per-command limit (training
  resumes from its checkpoints on the next call), and pack what they made into returnable parts under the output dir.
"""

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from gan_study.errors import GanStudyError
from gan_study.fidelity import file_sha256
from gan_study.reaggregate import unfinished_runs

BUNDLED_DATASETS = ("mnist", "fashion_mnist")  # what `prepare` bundles by default: the datasets we may send
BUNDLE_LIMIT = 48 * 2**20
CALL_LIMIT = 64 * 2**20  # the working tree and the bundle folder of one call, together
RETURN_LIMIT = 16 * 2**20  # one file that comes back
RETURN_FILES = 8  # files that come back, the status file among them
RETURN_TOTAL = 64 * 2**20  # all of them together
STATUS_ROOM = 2**20
MANIFEST = "bundle-manifest.json"
IMAGE_PACKAGES = Path(__file__).with_name("image_packages.txt")
DEVICE_PYTHON = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
                 "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
                 "implementation_name": "cpython", "platform_python_implementation": "CPython"}
WHEEL_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                   "manylinux1_x86_64"]


def _key(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_packages(roots=("snakemake", "torch-fidelity", "jsonschema"), image=None):
    """{name: version} of the installed distributions that `roots` need on the device (Python 3.12, Linux) and that
    the device image lacks: the wheels to send, at the versions this machine runs."""
    from packaging.markers import Marker

    image = image if image is not None else {_key(line) for line in IMAGE_PACKAGES.read_text().split()
                                             if not line.startswith("#")}
    needed, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if _key(name) in needed or _key(name) in image:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise GanStudyError(f"{name} is needed on the GPU machine but not installed here; pip install it first") from None
        needed[_key(name)] = dist.version
        for requirement in dist.requires or []:
            spec, _, marker = requirement.partition(";")
            if marker and ("extra" in marker or not Marker(marker).evaluate(DEVICE_PYTHON)):
                continue
            todo.append(re.match(r"[A-Za-z0-9_.\-]+", spec.strip()).group(0))
    return dict(sorted(needed.items()))


def _split(path, dest_dirs, limit):
    """Cut `path` into parts of ≤ limit bytes, one per destination folder; returns the parts' relative names."""
    parts, data = [], path.open("rb")
    with data:
        for i, folder in enumerate(dest_dirs):
            chunk = data.read(limit)
            if not chunk:
                break
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"{path.name}.part{i:02d}"
            part.write_bytes(chunk)
            parts.append(part)
        if data.read(1):
            raise GanStudyError(f"{path} needs more than {len(dest_dirs)} bundles of {limit} bytes")
    return parts


def travelling_tree_bytes(repo=".", as_set_aside=True):
    """Bytes of the working tree that travels with every call: tracked and untracked-not-ignored files. Calls travel
    with the committed weights set aside, so by default a weight file `set-aside` would move counts as the link it
    would leave; as_set_aside=False counts the tree as it is now."""
    from .aside import aside_folder, still_in_place

    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    movable = set(still_in_place(repo)) if as_set_aside else set()
    link_bytes = {name: len(str(aside_folder(repo) / name).encode()) for name in movable}  # a link's size: its target
    paths = {name: Path(repo) / name for name in listed if name}
    return sum(link_bytes[name] if name in movable else path.lstat().st_size for name, path in paths.items()
               if path.is_symlink() or path.is_file())  # a link travels as one


def bundle_limit(tree_bytes):
    """The largest bundle that still fits one call beside the travelling tree (64 MiB together, 1 MiB to spare)."""
    limit = min(BUNDLE_LIMIT, CALL_LIMIT - tree_bytes - 2**20)
    if limit < 8 * 2**20:
        raise GanStudyError(f"the working tree ({tree_bytes / 2**20:.1f} MiB) leaves under 8 MiB per bundle of a "
                            f"{CALL_LIMIT // 2**20} MiB call; commit published weights, then "
                            "`python -m tools.remote_gpu set-aside`")
    return limit


def code_archive(commit, config_spec, dest):
    """The source of `commit` (gan_study/, workflows/) and the config that code reads (`config_spec`, REV:PATH) as
    one gzipped tar at `dest`, for a stage that retrains with the code that trained a committed study."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shown = subprocess.run(["git", "show", config_spec], capture_output=True)
    archived = subprocess.run(["git", "archive", "--format=tar.gz", "-o", str(dest), commit, "gan_study", "workflows"],
                              capture_output=True, text=True)
    if shown.returncode != 0 or archived.returncode != 0:
        raise GanStudyError(f"cannot export commit {commit} or {config_spec} from this checkout's git history "
                            "(a shallow clone? fetch the history first)")
    config = dest.with_name(dest.name.replace(".tar.gz", ".config.json"))
    config.write_bytes(shown.stdout)
    return [dest, config]


def _dataset_files(data_dir, datasets):
    """(file, name in the bundle) of each dataset's gzipped files, in its plain folder (mnist/, fashion-mnist/), and
    the datasets that have any; `datasets` None: every one found, else each named one must be there."""
    from gan_study.datasets import get_dataset

    found = {}
    for name in BUNDLED_DATASETS if datasets is None else datasets:
        folder = get_dataset(name).folders[0]
        found[name] = [(gz, f"{folder}/{gz.name}") for gz in sorted((Path(data_dir) / folder).glob("*.gz"))]
        if datasets is not None and not found[name]:
            raise GanStudyError(f"prepare --datasets {name}: no *.gz files under {Path(data_dir) / folder}; "
                                "set $GAN_STUDY_DATA_DIR to the folder that holds them")
    return [f for files in found.values() for f in files], [name for name, files in found.items() if files]


def prepare(data_dir, weights, out, wheels=True, limit=None, codes=(), datasets=None):
    """Write the bundles under `out` (d1…: data, the source of each (commit, config) in `codes` and the manifest,
    w1…: weights, p1…: wheels), each ≤ `limit` bytes (by default what a call leaves beside this checkout's
    travelling tree). `weights` None: no weight bundles (the calls then run `--without-fid-weights`); `datasets`:
    only these datasets' files (default: MNIST's and Fashion-MNIST's), so that a call needing less sends less."""
    out, data_dir = Path(out), Path(data_dir)
    limit = bundle_limit(travelling_tree_bytes()) if limit is None else limit
    if out.exists():
        shutil.rmtree(out)
    for commit, config_spec in codes:
        code_archive(commit, config_spec, out / "d1" / f"code-{commit}.tar.gz")
    data, bundled = _dataset_files(data_dir, datasets)
    code_bytes = sum(p.stat().st_size for p in (out / "d1").glob("code-*")) if codes else 0
    _bin_pack(data, out, "d", limit - min(2**16, limit // 10) - code_bytes, copy=True)  # room in d1: manifest, code
    parts = [] if weights is None else _split(Path(weights), [out / f"w{i}" for i in range(1, 9)], limit)
    if wheels:
        _download_wheels(missing_packages(), out / "wheels-all")
        _bin_pack([(w, w.name) for w in (out / "wheels-all").iterdir()], out, "p", limit)
        (out / "wheels-all").rmdir()
    files = {path.relative_to(out).as_posix(): file_sha256(path)
             for path in sorted(p for p in out.rglob("*") if p.is_file())}
    manifest = {"files": files, "limit": limit, "datasets": bundled,
                "weights": None if weights is None else {"name": Path(weights).name, "sha256": file_sha256(weights),
                                                         "parts": [p.relative_to(out).as_posix() for p in parts]}}
    (out / "d1").mkdir(parents=True, exist_ok=True)
    (out / "d1" / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _first_fit(items, limit):
    """(key, size) pairs, in the order given, into groups of ≤ limit total size: each into the first that fits."""
    groups = []
    for key, size in items:
        if size > limit:
            raise GanStudyError(f"{key} alone exceeds a bundle of {limit} bytes")
        fit = next((g for g in groups if g[1] + size <= limit), None)
        if fit is None:
            groups.append(fit := [[], 0])
        fit[0].append(key)
        fit[1] += size
    return [keys for keys, _ in groups]


def bundle_calls(out, limit):
    """The bundle folders of `out` grouped into as few calls as fit `limit` bytes each (largest first); the call with
    d1 (the manifest) comes first."""
    sizes = {f.name: sum(p.stat().st_size for p in f.rglob("*") if p.is_file()) for f in Path(out).iterdir()
             if f.is_dir()}
    return _first_fit(sorted(sizes.items(), key=lambda item: (item[0] != "d1", -item[1], item[0])), limit)


def _download_wheels(packages, dest):
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    for name, version in packages.items():
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
               "3.12", "--implementation", "cp", *platforms, "-d", str(dest), f"{name}=={version}"]
        if subprocess.run(cmd, capture_output=True, text=True).returncode == 0:
            continue
        # No wheel on the index (an sdist only): build one here; only a pure-Python one runs on any Python 3.
        built = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), f"{name}=={version}"]
        if subprocess.run(built, capture_output=True, text=True).returncode != 0 or \
                not list(dest.glob(f"{name.replace('-', '_')}-{version}-py3-none-any.whl")):
            raise GanStudyError(f"no Python 3.12 wheel of {name}=={version} could be had; see the device README")


def _bin_pack(files, out, prefix, limit, copy=False):
    """Put each (file, relative name) into folders out/<prefix>1, <prefix>2, … of ≤ limit bytes each, largest first
    (moved, or copied with `copy`)."""
    by_size = sorted(files, key=lambda item: -item[0].stat().st_size)
    groups = _first_fit([(rel, path.stat().st_size) for path, rel in by_size], limit)
    sources = dict((rel, path) for path, rel in files)
    for i, group in enumerate(groups, start=1):
        for rel in group:
            target = out / f"{prefix}{i}" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copyfile if copy else shutil.move)(str(sources[rel]), target)


def restore(bundle_root, dest, weights=True):
    """On the GPU machine: check every bundled file against the manifest, gather the data files into one folder and
    rebuild the weights; returns (data_dir, weights_path, wheel files). With `weights` false the weight parts may
    still be on their way (the checks before the last call need only the data and the wheels): weights_path is None."""
    bundle_root, dest = Path(bundle_root), Path(dest)
    manifest_path = bundle_root / "d1" / MANIFEST
    if not manifest_path.is_file():
        raise GanStudyError(f"{manifest_path} is missing: send bundle d1 first (it holds the manifest)")
    manifest = json.loads(manifest_path.read_text())
    if weights and manifest["weights"] is None:
        raise GanStudyError("these bundles hold no Inception weights (prepared without them): run with "
                            "--without-fid-weights, or prepare the bundles again with the weights")
    weight_parts = manifest["weights"]["parts"] if manifest["weights"] else []
    for rel, digest in manifest["files"].items():
        path = bundle_root / rel
        if not weights and rel in weight_parts:
            continue
        if not path.is_file() or file_sha256(path) != digest:
            raise GanStudyError(f"bundled file {rel} is missing or altered; send its folder again")
    data_dir = dest / "data"
    for rel in manifest["files"]:
        folder, _, name = rel.partition("/")
        if re.fullmatch(r"d\d+", folder) and name.endswith(".gz"):
            link = data_dir / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to((bundle_root / rel).resolve())
    wheels = sorted(bundle_root.glob("p*/*.whl"))
    return data_dir, _rebuild_weights(bundle_root, dest, manifest["weights"]) if weights else None, wheels


def _rebuild_weights(bundle_root, dest, record):
    weights = dest / record["name"]
    weights.parent.mkdir(parents=True, exist_ok=True)
    with weights.open("wb") as handle:
        for rel in record["parts"]:
            handle.write((bundle_root / rel).read_bytes())
    if file_sha256(weights) != record["sha256"]:
        raise GanStudyError(f"the reassembled {weights.name} does not match its sha256")
    return weights


def run_until(cmd, deadline_s, grace_s=30, env=None, cwd=None):
    """Run `cmd` in its own process group; at the deadline send SIGINT (Snakemake then stops its jobs and exits),
    and SIGKILL after `grace_s`. Returns ("finished" | "deadline", exit status, seconds)."""
    t0 = time.time()
    # SIGINT handled as from a terminal, even when this process was started in the background with it ignored.
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        return "finished", proc.wait(timeout=deadline_s), round(time.time() - t0, 1)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        return "deadline", code, round(time.time() - t0, 1)


def _files_under(paths):
    """The regular files under `paths` (files or folders, relative to the cwd), in the order given; links are
    skipped (a link that travelled as one points nowhere here)."""
    files = {}
    for path in map(Path, paths):
        found = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        files.update((f, None) for f in found if f.is_file() and not f.is_symlink())
    return list(files)


def _signature(file):
    return [file.stat().st_size, file.stat().st_mtime]


def _tar_bytes(size):
    """What a file costs inside a tar: its header block and its data padded to 512 bytes."""
    return 512 + -(-size // 512) * 512


def signatures(paths):
    """path -> [size, mtime] of the files under `paths`: what a tree held at some moment."""
    return {str(f): _signature(f) for f in _files_under(paths)}


def pack(paths, out, limit=RETURN_LIMIT, max_parts=RETURN_FILES - 1, total=RETURN_TOTAL - STATUS_ROOM, sent=None,
         returned=None):
    """One gzipped tar of the files under `paths`, cut into ≤ `limit`-byte parts in `out`: at most `max_parts` parts
    and `total` bytes (what a call can send back beside its status file). Files as they were `sent` (signatures of
    the tree the call received) are skipped; files not as `returned` by an earlier call of this machine go first,
    smallest first (tables and logs before weights), then the returned ones while room is left (a return may have
    been lost); a file that would overflow is left out whole (counted uncompressed: weights do not compress).
    Returns (parts, the relative paths packed, those of new files left out)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sent, returned = sent or {}, returned or {}
    files = [f for f in _files_under(paths) if sent.get(str(f)) != _signature(f)]
    fresh = sorted((f for f in files if returned.get(str(f)) != _signature(f)), key=lambda f: f.stat().st_size)
    is_fresh = set(fresh)
    room = min(total, max_parts * limit)
    budget = room - max(room // 100, 2048)  # the archive's end blocks, gzip's framing and its growth on noise
    taken, left_out, used = [], [], 0
    for file in fresh + [f for f in files if f not in is_fresh]:
        cost = _tar_bytes(file.stat().st_size)
        if used + cost <= budget:
            taken.append(file)
            used += cost
        elif file in is_fresh:
            left_out.append(str(file))
    archive = out / "results.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for file in taken:
            tar.add(file)
    if archive.stat().st_size > room:
        raise GanStudyError(f"{archive} came to {archive.stat().st_size} bytes, over the {room} bytes a call returns")
    taken = [str(file) for file in taken]
    if archive.stat().st_size <= limit:
        return [archive], taken, left_out
    parts = _split(archive, [out] * max_parts, limit)
    archive.unlink()
    return parts, taken, left_out


def unpack(parts_dir, dest="."):
    """Here: join the parts of one call's results archive (`results.tar.gz` or its `.partNN` files) in order and
    extract it under `dest`; returns the relative paths extracted. Links and paths leaving `dest` are refused."""
    parts_dir = Path(parts_dir)
    parts = sorted(parts_dir.glob("results.tar.gz.part*")) or sorted(parts_dir.glob("results.tar.gz"))
    if not parts:
        raise GanStudyError(f"{parts_dir} holds no results.tar.gz or results.tar.gz.partNN files")
    numbers = [int(p.name.rpartition("part")[2]) for p in parts if ".part" in p.name]
    if numbers and numbers != list(range(len(numbers))):
        raise GanStudyError(f"{parts_dir}: parts {numbers} are not 00…{len(numbers) - 1:02d}; a part did not come "
                            "back")
    joined = parts_dir / "results.tar.gz" if not numbers else Path(dest) / "work" / "remote-gpu" / "joined.tar.gz"
    if numbers:
        joined.parent.mkdir(parents=True, exist_ok=True)
        with joined.open("wb") as handle:
            for part in parts:
                handle.write(part.read_bytes())
    with tarfile.open(joined) as tar:
        members = tar.getmembers()
        bad = [m.name for m in members if not (m.isfile() or m.isdir()) or Path(m.name).is_absolute() or
               ".." in Path(m.name).parts]
        if bad:
            raise GanStudyError(f"{joined}: refusing {bad[0]} (a link or a path outside the tree)")
        tar.extractall(dest, members=members, filter="data")
    return [m.name for m in members if m.isfile()]


def _install_wheels(wheels, site):
    """Install bundled wheels into `site` (no index, no dependency resolution: the bundles hold the closure)."""
    if not wheels:
        return
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--upgrade",
           "--target", str(site), *map(str, wheels)]
    if subprocess.run(cmd).returncode != 0:
        raise GanStudyError(f"installing the bundled wheels into {site} failed")
    sys.path.insert(0, str(site))  # this process reads the stages' configs (jsonschema) after the install
    importlib.invalidate_caches()


GRAPH_CHECK = Path("results/bench/graph-check-cuda.json")
# Steps run once per machine, and the file each writes. Their markers live in work/remote-gpu/ (ignored by git, kept while
# the machine stays warm), so a committed result from another machine is never taken for this one's.
# Table 1's cell eagerly and from CUDA graphs over its first epochs, seed by seed: does a graphed seed leave its eager
# run early (a wrong graph), and does seed 1 collapse eagerly too?
LONG_CHECK_TAG, LONG_CHECK_EPOCHS = "table1-10-epochs", 10
ONCE_PER_MACHINE = {"bench": Path("results/bench/bench-cuda.json"),
                    "bench-stack": Path("results/bench/stack-cuda.json"), "graph-check": GRAPH_CHECK,
                    "graph-check-long": Path(f"results/bench/graph-check-cuda-{LONG_CHECK_TAG}.json")}
STATE = Path("work/remote-gpu")
RESULTS_ROOT = Path("results")


def _state_dir(state=None):
    """Where this machine's remote-run state lives (module-level STATE unless given; read at call time)."""
    return Path(STATE if state is None else state)


def _done(step, state=None):
    return _state_dir(state) / f"{step}.done"


def keep_results(paths, state=None):
    """Copy the files under `paths` into `state`/kept. Each call re-sends the working tree, and what a call wrote
    outside ignored folders (results/) may be gone at the next; work/ (ignored) stays while the machine is warm."""
    for path in map(Path, paths):
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            target = _state_dir(state) / "kept" / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)


def bring_back_results(state=None):
    """Put back the kept files this tree lacks (times kept, so Snakemake sees its finished jobs as finished); a file
    the tree has is never overwritten."""
    kept = _state_dir(state) / "kept"
    for file in sorted(p for p in kept.rglob("*") if p.is_file()) if kept.is_dir() else []:
        target = file.relative_to(kept)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)


def graph_verdict(path=GRAPH_CHECK, state=None):
    """The models whose graph-check ran on this machine, on a GPU (real CUDA graphs), and agreed with eager
    training; [] when there is no such check."""
    if not (_done("graph-check", state).is_file() and Path(path).is_file()):
        return []
    check = json.loads(Path(path).read_text())
    if check.get("backend") != "CudaGraphs":
        return []
    return [m["model"] for m in check.get("models", []) if m.get("passed") is True]


@dataclass
class Stage:
    """One Snakemake call of a remote run: a profile, config overlays after the study it names, targets (none: the
    whole study)."""

    name: str
    profile: str
    configfiles: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    skip_finished: bool = False  # train only the cells whose results are not there yet (committed, or made earlier)
    study: str | None = None  # a study file run with the profile's execution settings (None: the profile's study)

    def config(self):
        from gan_study.config import load_config

        return load_config(self.study_file(), *self.configfiles)

    def study_file(self):
        from gan_study.config import study_file

        return study_file(self.study) if self.study else study_file(profile=self.profile)

    def study_name(self):
        """The study whose results folder (results/<name>) this stage writes."""
        return self.config()["study"]

    def needs_fid_weights(self):
        return self.config()["fid"]["enabled"]

    def datasets(self):
        return sorted({dataset for run in self.config()["runs"] for dataset in run["datasets"]})

    def command(self, env, gpu_jobs=None):
        """The Snakemake command, made when the stage's turn comes (after earlier calls' results are back); None
        when `skip_finished` finds every cell finished."""
        overlays = list(self.configfiles)
        if self.skip_finished:
            runs = unfinished_runs(self.config(), RESULTS_ROOT)
            if not runs:
                return None
            overlay = STATE / f"{re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')[:60]}-unfinished.yaml"
            overlay.parent.mkdir(parents=True, exist_ok=True)
            overlay.write_text(json.dumps({"runs": runs}) + "\n")  # JSON is YAML
            overlays.append(str(overlay))
        # A --configfile on the command line replaces the profile's: name the profile's study file again before ours.
        smk = [sys.executable, "-m", "snakemake", "--profile", self.profile,
               *(["--configfile", str(self.study_file()), *overlays] if overlays or self.study else [])]
        subprocess.run([*smk, "--unlock"], env=env, capture_output=True)  # a deadline-stopped call leaves the lock
        # Snakemake reads `--config key=True` as a boolean; "true" would stay a string.
        return [*smk, "--rerun-incomplete", "--omit-from", "report",
                *(["--resources", f"gpu={gpu_jobs}"] if gpu_jobs else []),
                *(["--config", f"cuda_graphs=[{','.join(graphed)}]"] if (graphed := graph_verdict()) else []),
                "--", *self.targets]


@dataclass
class ReproduceStage:
    """A committed cell retrained (`gan_study reproduce`), checked against its committed training logs, and its
    generators published where they came out identical; finished once its report exists or the study's weights
    manifest lists every seed."""

    name: str
    results_dir: str
    model: str
    dataset: str
    seeds: list
    code: str | None = None  # the commit whose source trains (bundled by `prepare`); None: this checkout's
    code_config: str | None = None  # REV:PATH of the config that code reads
    configfiles: list = field(default_factory=list)

    def config(self):
        from gan_study.config import load_config

        return load_config(base=self.study_file())

    def study_file(self):
        return Path(self.results_dir) / "config.json"

    def study_name(self):
        return Path(self.results_dir).name

    def needs_fid_weights(self):
        return False  # trains, compares logs and publishes: no FID

    def datasets(self):
        return [self.dataset]

    def published(self):
        from gan_study.publish import MANIFEST as WEIGHTS_MANIFEST

        manifest = Path(self.results_dir) / "weights" / WEIGHTS_MANIFEST
        listed = json.loads(manifest.read_text())["weights"] if manifest.is_file() else []
        return {e["seed"] for e in listed if (e["model"], e["dataset"]) == (self.model, self.dataset)}

    def command(self, env, gpu_jobs=None):
        from gan_study.reproduce import report_path

        if report_path(self.results_dir, self.model, self.dataset).is_file() or set(self.seeds) <= self.published():
            return None  # retrained already (published or not: a second try would retrain the same way)
        return [sys.executable, "-m", "gan_study", "reproduce", "--results-dir", self.results_dir, "--model",
                self.model, "--dataset", self.dataset, "--seeds", *map(str, self.seeds), "--work-dir",
                f"work/{self.study_name()}-reproduced", "--publish", *self.code_arguments(env)]

    def code_arguments(self, env):
        """--code and its config, unpacked from the bundle `prepare` made (env BUNDLE_ROOT: where they are)."""
        if not self.code:
            return []
        archive = Path(env["BUNDLE_ROOT"]) / "d1" / f"code-{self.code}.tar.gz"
        source = _state_dir() / f"code-{self.code}"
        if not source.is_dir():
            with tarfile.open(archive) as tar:
                tar.extractall(source, filter="data")
        config = archive.with_name(f"code-{self.code}.config.json")
        return ["--code", str(source), "--code-config", str(config), "--code-commit", self.code]


def plan_stages(plan, overlay_dir=Path("work/remote-gpu")):
    """The stages of a remote-run plan (YAML: `stages:` of {name, profile, and optionally study, config}, or of
    {name, reproduce: {results_dir, model, dataset, seeds}}); a stage's `study` file replaces the one its profile
    names; each stage's `config` is written as an overlay file under `overlay_dir`. A stage trains only its cells not
    finished yet (the committed ones, and those an earlier call made): its tables then hold those cells alone, and
    `reaggregate` (Snakemake with --allowed-rules) re-aggregates the whole study afterwards (README)."""
    from gan_study.config import read_mapping

    stages = []
    for i, entry in enumerate(read_mapping(plan)["stages"]):
        if "reproduce" in entry:
            stages.append(ReproduceStage(entry["name"], **entry["reproduce"]))
            continue
        if not (Path(entry["profile"]) / "config.yaml").is_file():
            raise GanStudyError(f"{plan}: stage {i + 1} names profile {entry['profile']}, which has no config.yaml; "
                                "fix the plan's profile path")
        stage = Stage(entry["name"], entry["profile"], skip_finished=True, study=entry.get("study"))
        if entry.get("config"):
            overlay = Path(overlay_dir) / f"{Path(plan).stem}-stage{i + 1}.yaml"
            overlay.parent.mkdir(parents=True, exist_ok=True)
            overlay.write_text(json.dumps(entry["config"]) + "\n")  # JSON is YAML
            stage.configfiles.append(str(overlay))
        stages.append(stage)
    return stages


def _long_check_steps(stages):
    """The minibatches of LONG_CHECK_EPOCHS epochs of the first stage's MLP GAN on MNIST."""
    from gan_study.datasets import get_dataset

    cfg = stages[0].config()["models"]["mlp_gan"]
    return LONG_CHECK_EPOCHS * ((cfg["train_limit"] or get_dataset("mnist").n_train) // cfg["batch_size"])


def _steps(stages, bench, graph_check, gpu_jobs=None, checks_only=False, skip=()):
    """(name, make_command) in order: bench, graph-check, bench-stack and the long graph check of Table 1's cell
    (each once per machine; the graph check covers every model any stage trains, and comes before the others: the
    study needs its verdict), then the stages (none with `checks_only`). Commands are made when their turn comes.
    `bench`: its timed steps per path (True: 200, enough to time a GPU's millisecond steps)."""
    steps = []
    timed = 200 if bench is True else int(bench)
    if bench and not _done("bench").is_file():
        steps.append(("bench", lambda env: [sys.executable, "-m", "gan_study", "bench", "--steps", str(timed),
                                            "--warmup", str(max(2, timed // 10))]))
    first = [arg for path in (str(stages[0].study_file()), *stages[0].configfiles) for arg in ("--config", path)]
    if graph_check and not _done("graph-check").is_file():
        models = list(dict.fromkeys(run["model"] for stage in stages for run in stage.config()["runs"]))
        steps.append(("graph-check", lambda env: [sys.executable, "-m", "gan_study", *first, "graph-check", "--models",
                                                  *models]))
    if bench and not _done("bench-stack").is_file():  # 1, 5, 10, 20 models per stack, compiled, a profiler trace
        steps.append(("bench-stack", lambda env: [sys.executable, "-m", "gan_study", "bench-stack", "--steps",
                                                  str(timed), "--warmup", str(max(2, timed // 10)), "--compile"]))
    if graph_check and not _done("graph-check-long").is_file() and any(
            run["model"] == "mlp_gan" for run in stages[0].config()["runs"]):
        steps.append(("graph-check-long", lambda env: [sys.executable, "-m", "gan_study", *first, "graph-check",
                                                       "--models", "mlp_gan", "--steps", str(_long_check_steps(stages)),
                                                       "--tag", LONG_CHECK_TAG, "--report-only"]))
    if checks_only:
        return steps
    return steps + [(stage.name, lambda env, stage=stage: stage.command(env, gpu_jobs)) for stage in stages
                    if stage.name not in skip]


def _python_on_path(bin_dir):
    """A `python` first on the PATH that is this interpreter: the rules call `python`, and the image may name its
    interpreter `python3` only."""
    bin_dir = Path(bin_dir)
    bin_dir.mkdir(parents=True, exist_ok=True)
    # A script, not a symlink: a virtual environment's interpreter reached through a link elsewhere loses its venv.
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    return os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])


def remote_run(bundle_root, out, deadline_s, stages, bench=False, graph_check=False, site=None, gpu_jobs=None,
               checks_only=False, fid_weights=True):
    """The one command for a remote GPU run: restore, install, optionally benchmark and check CUDA graphs, run the stages
    in order until the deadline (CUDA graphs for the models whose check passed; at most `gpu_jobs` GPU jobs at once),
    pack their studies' results and a status file into `out`. `checks_only`: bench and graph-check alone, which
    need only the data and the wheels, so they can run in an earlier call while the weights are still being sent.
    Without `fid_weights` (the Inception weights not sent yet) the stages that need them are skipped and named.
    The wheels go to `site` (default: beside the bundles, so two checkouts never share one). Returns the status
    record."""
    t0 = time.time()
    site = (Path(bundle_root) / "site" if site is None else Path(site)).resolve()
    data_dir, weights, wheels = restore(bundle_root, Path(bundle_root) / "restored",
                                        weights=fid_weights and not checks_only)
    _install_wheels(wheels, site)
    sent = signatures(["results", "logs"])  # the tree as it came: what is already on the other side
    bring_back_results()
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir), "PATH": _python_on_path(site / "bin-python"),
           "BUNDLE_ROOT": str(Path(bundle_root).resolve()),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])), "PYTHONUNBUFFERED": "1",
           **({"GAN_STUDY_INCEPTION_WEIGHTS": str(weights)} if weights else {})}
    skipped = [] if fid_weights or checks_only else [stage.name for stage in stages if stage.needs_fid_weights()]
    no_data = {} if checks_only else _stages_without_data(bundle_root, [s for s in stages if s.name not in skipped])
    steps = _steps(stages, bench, graph_check, gpu_jobs, checks_only, skip=[*skipped, *no_data])
    record = {"steps": [], "skipped_without_fid_weights": skipped, "skipped_without_data": no_data}
    for name, make_cmd in steps:
        left, started, cmd = deadline_s - (time.time() - t0), time.time(), make_cmd(env)
        outcome, code, seconds = ("already finished", 0, 0.0) if cmd is None else run_until(cmd, max(left, 1), env=env)
        _remember_once_per_machine(name, started)
        record["steps"].append({"step": name, "outcome": outcome, "exit_status": code, "seconds": seconds})
        print(f"[remote-gpu] step {name}: {outcome} (exit {code}) after {seconds} s", flush=True)
        if outcome == "deadline":
            break
    for name in skipped:
        print(f"[remote-gpu] step {name}: skipped (it needs the Inception weights, not sent to this call)", flush=True)
    for name, missing in no_data.items():
        print(f"[remote-gpu] step {name}: skipped (the bundles hold no {', '.join(missing)})", flush=True)
    studies = [] if checks_only else list(dict.fromkeys(stage.study_name() for stage in stages))
    _methods_match_tables(studies, env)
    # A failed graph check is a verdict (train eagerly), not a failed run.
    record["complete"] = not skipped and not no_data and len(record["steps"]) == len(steps) and all(
        s["outcome"] in ("finished", "already finished") and (s["exit_status"] == 0 or s["step"] == "graph-check")
        for s in record["steps"])
    record["cuda_graphs"] = graph_verdict()
    _send_back(studies, out, sent, record)
    (Path(out) / "run-status.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _stages_without_data(bundle_root, stages):
    """{stage name: the datasets it trains on that the bundles do not hold}, for bundles `prepare --datasets` cut
    (their manifest lists what they hold; older bundles held every dataset we send). A dataset a study may leave out
    when absent (CIFAR-10) is not missing."""
    from gan_study.datasets import get_dataset

    manifest = Path(bundle_root) / "d1" / MANIFEST
    held = json.loads(manifest.read_text()).get("datasets") if manifest.is_file() else None
    if held is None:
        return {}
    missing = {stage.name: [d for d in stage.datasets() if d not in held and not get_dataset(d).optional]
               for stage in stages}
    return {name: datasets for name, datasets in missing.items() if datasets}


def _send_back(studies, out, sent, record):
    """Keep what the studies made for the next call of this machine, and pack for this call's return what is new."""
    made = [*(f"results/{s}" for s in studies), "results/bench"]
    keep_results(made)
    returned = _state_dir() / "returned.json"
    before = json.loads(returned.read_text()) if returned.is_file() else {}
    parts, taken, record["not_returned"] = pack([*made, *(f"logs/{s}" for s in studies)], out, sent=sent,
                                                returned=before)
    record["files"] = [p.name for p in parts]
    returned.parent.mkdir(parents=True, exist_ok=True)
    returned.write_text(json.dumps({**before, **signatures(taken)}))
    if record["not_returned"]:
        print(f"[remote-gpu] {len(record['not_returned'])} files did not fit this call's return (the next call of "
              "this machine sends them first): " + " ".join(record["not_returned"]), flush=True)


def _remember_once_per_machine(name, started):
    """Mark a once-per-machine step done if it wrote its product during this run of it (a second of slack: file
    times come from a coarser clock than time.time())."""
    product = ONCE_PER_MACHINE.get(name)
    if product is not None and product.is_file() and product.stat().st_mtime >= started - 1:
        _done(name).parent.mkdir(parents=True, exist_ok=True)
        _done(name).write_text(f"{product}\n")


def _methods_match_tables(studies, env):
    """A stage stopped at the deadline has already rewritten its study's methods.tex for cells it never finished:
    write it again from the config of the tables (results/<study>/config.json, by the last finished aggregate)."""
    for study in studies:
        config = RESULTS_ROOT / study / "config.json"
        if config.is_file():
            subprocess.run([sys.executable, "-m", "gan_study", "--config", str(config), "methods", "--out",
                            str(config.with_name("methods.tex"))], env=env, check=False)


