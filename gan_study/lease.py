"""Preparing for, and using, a lent GPU machine: 15 minutes of machine time, ≤ 10 minutes per command, ≤ 64 MiB
carried per call, ≤ 8 files of ≤ 16 MiB back, a bare image without snakemake or torch-fidelity.

Here (`lease-prepare`): the data and the Inception weights cut into carries (one folder per call) of ≤ 48 MiB and no
more than a call leaves beside the travelling working tree (64 MiB together), wheels
for the Python packages the study needs beyond the image's (for Python 3.12), and a manifest of sha256s.
There (`lease-run`): check and reassemble the carries, install the wheels into a target dir, run a command (the
benchmark, then the study's profile) under a deadline that stops it cleanly before the per-command limit (training
resumes from its checkpoints on the next call), and pack what it made into ≤ 16 MiB files under $OUT.
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

from .errors import GanStudyError
from .fidelity import file_sha256
from .commands import arg, command

CARRY_LIMIT = 48 * 2**20
CALL_LIMIT = 64 * 2**20  # the working tree and the carried folder of one call, together
RETURN_LIMIT = 16 * 2**20
RETURN_FILES = 8
MANIFEST = "lease-manifest.json"
IMAGE_PACKAGES = Path(__file__).with_name("reference") / "device_image_packages.txt"
DEVICE_PYTHON = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
                 "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
                 "implementation_name": "cpython", "platform_python_implementation": "CPython"}
WHEEL_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                   "manylinux1_x86_64"]


def _key(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_packages(roots=("snakemake", "torch-fidelity", "jsonschema"), image=None):
    """{name: version} of the installed distributions that `roots` need on the device (Python 3.12, Linux) and that
    the device image lacks: the wheels to carry, at the versions this machine runs."""
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
            raise GanStudyError(f"{path} needs more than {len(dest_dirs)} carries of {limit} bytes")
    return parts


def travelling_tree_bytes(repo="."):
    """Bytes of the working tree that travels with every call: tracked and untracked-not-ignored files."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    return sum(path.stat().st_size for path in (Path(repo) / name for name in listed if name) if path.is_file())


def carry_limit(tree_bytes):
    """The largest carry that still fits one call beside the travelling tree (64 MiB together, 1 MiB to spare)."""
    limit = min(CARRY_LIMIT, CALL_LIMIT - tree_bytes - 2**20)
    if limit < 8 * 2**20:
        raise GanStudyError(f"the working tree ({tree_bytes / 2**20:.1f} MiB) leaves under 8 MiB per carry of a "
                            f"{CALL_LIMIT // 2**20} MiB call; move large files out of the tree (e.g. published weights)")
    return limit


def prepare(data_dir, weights, out, wheels=True, limit=None):
    """Write the carries under `out` (d1…: data and the manifest, w1…: weights, p1…: wheels), each ≤ `limit` bytes
    (by default what a call leaves beside this checkout's travelling tree)."""
    out, data_dir, weights = Path(out), Path(data_dir), Path(weights)
    limit = carry_limit(travelling_tree_bytes()) if limit is None else limit
    if out.exists():
        shutil.rmtree(out)
    data = [(gz, f"{folder}/{gz.name}") for folder in ("mnist", "fashion-mnist")
            for gz in sorted((data_dir / folder).glob("*.gz"))]
    _bin_pack(data, out, "d", limit - min(2**16, limit // 10), copy=True)  # room in d1 for the manifest
    parts = _split(weights, [out / f"w{i}" for i in range(1, 9)], limit)
    if wheels:
        _download_wheels(missing_packages(), out / "wheels-all")
        _bin_pack([(w, w.name) for w in (out / "wheels-all").iterdir()], out, "p", limit)
        (out / "wheels-all").rmdir()
    files = {path.relative_to(out).as_posix(): file_sha256(path)
             for path in sorted(p for p in out.rglob("*") if p.is_file())}
    manifest = {"files": files, "limit": limit,
                "weights": {"name": weights.name, "sha256": file_sha256(weights),
                            "parts": [p.relative_to(out).as_posix() for p in parts]}}
    (out / "d1").mkdir(parents=True, exist_ok=True)
    (out / "d1" / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _first_fit(items, limit):
    """(key, size) pairs, in the order given, into groups of ≤ limit total size: each into the first that fits."""
    groups = []
    for key, size in items:
        if size > limit:
            raise GanStudyError(f"{key} alone exceeds a carry of {limit} bytes")
        fit = next((g for g in groups if g[1] + size <= limit), None)
        if fit is None:
            groups.append(fit := [[], 0])
        fit[0].append(key)
        fit[1] += size
    return [keys for keys, _ in groups]


def carry_calls(out, limit):
    """The carried folders of `out` grouped into as few calls as fit `limit` bytes each (largest first); the call with
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


def restore(carry_root, dest, weights=True):
    """On the GPU machine: check every carried file against the manifest, gather the data files into one folder and
    rebuild the weights; returns (data_dir, weights_path, wheel files). With `weights` false the weight parts may
    still be on their way (the checks before the last call need only the data and the wheels): weights_path is None."""
    carry_root, dest = Path(carry_root), Path(dest)
    manifest_path = carry_root / "d1" / MANIFEST
    if not manifest_path.is_file():
        raise GanStudyError(f"{manifest_path} is missing: carry d1 first (it holds the manifest)")
    manifest = json.loads(manifest_path.read_text())
    for rel, digest in manifest["files"].items():
        path = carry_root / rel
        if not weights and rel in manifest["weights"]["parts"]:
            continue
        if not path.is_file() or file_sha256(path) != digest:
            raise GanStudyError(f"carried file {rel} is missing or altered; carry its folder again")
    data_dir = dest / "data"
    for rel in manifest["files"]:
        folder, _, name = rel.partition("/")
        if re.fullmatch(r"d\d+", folder) and name.endswith(".gz"):
            link = data_dir / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to((carry_root / rel).resolve())
    wheels = sorted(carry_root.glob("p*/*.whl"))
    return data_dir, _rebuild_weights(carry_root, dest, manifest["weights"]) if weights else None, wheels


def _rebuild_weights(carry_root, dest, record):
    weights = dest / record["name"]
    weights.parent.mkdir(parents=True, exist_ok=True)
    with weights.open("wb") as handle:
        for rel in record["parts"]:
            handle.write((carry_root / rel).read_bytes())
    if file_sha256(weights) != record["sha256"]:
        raise GanStudyError(f"the reassembled {weights.name} does not match its sha256")
    return weights


def run_until(cmd, deadline_s, grace_s=30, env=None, cwd=None):
    """Run `cmd` in its own process group; at the deadline send SIGINT (Snakemake then stops its jobs and exits),
    and SIGKILL after `grace_s`. Returns ("finished" | "deadline", exit status, seconds)."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)
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


def pack(paths, out, limit=RETURN_LIMIT, max_files=RETURN_FILES):
    """One gzipped tar of `paths` (files or folders, relative to the cwd), cut into ≤ limit-byte parts in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / "results.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in paths:
            if Path(path).exists():
                tar.add(path)
    if archive.stat().st_size <= limit:
        return [archive]
    parts = _split(archive, [out] * max_files, limit)
    archive.unlink()
    return parts


def _install_wheels(wheels, site):
    """Install carried wheels into `site` (no index, no dependency resolution: the carry holds the closure)."""
    if not wheels:
        return
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--upgrade",
           "--target", str(site), *map(str, wheels)]
    if subprocess.run(cmd).returncode != 0:
        raise GanStudyError(f"installing the carried wheels into {site} failed")
    sys.path.insert(0, str(site))  # this process reads the stages' configs (jsonschema) after the install
    importlib.invalidate_caches()


GRAPH_CHECK = Path("results/bench/graph-check-cuda.json")
# Steps run once per machine, and the file each writes. Their markers live in work/lease/ (ignored by git, kept while
# the machine stays warm), so a committed result from another machine is never taken for this one's.
ONCE_PER_MACHINE = {"bench": Path("results/bench/bench-cuda.json"), "graph-check": GRAPH_CHECK}
LEASE_STATE = Path("work/lease")
RESULTS_ROOT = Path("results")


def _state_dir(state=None):
    """Where this machine's lease state lives (module-level LEASE_STATE unless given; read at call time)."""
    return Path(LEASE_STATE if state is None else state)


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
    """One Snakemake call of a lease: a profile, config overlays after its study.yaml, targets (none: the study)."""

    name: str
    profile: str
    configfiles: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    skip_finished: bool = False  # train only the cells whose results are not there yet (committed, or made earlier)

    def config(self):
        from .config import load_config

        return load_config(Path(self.profile) / "study.yaml", *self.configfiles)

    def command(self, env, gpu_jobs=None):
        """The Snakemake command, made when the stage's turn comes (after earlier calls' results are back); None
        when `skip_finished` finds every cell finished."""
        overlays = list(self.configfiles)
        if self.skip_finished:
            runs = unfinished_runs(self.config(), RESULTS_ROOT)
            if not runs:
                return None
            overlay = LEASE_STATE / f"{re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')[:60]}-unfinished.yaml"
            overlay.parent.mkdir(parents=True, exist_ok=True)
            overlay.write_text(json.dumps({"runs": runs}) + "\n")  # JSON is YAML
            overlays.append(str(overlay))
        # A --configfile on the command line replaces the profile's: name the profile's study file again before ours.
        smk = [sys.executable, "-m", "snakemake", "--profile", self.profile,
               *(["--configfile", f"{self.profile}/study.yaml", *overlays] if overlays else [])]
        subprocess.run([*smk, "--unlock"], env=env, capture_output=True)  # a deadline-stopped call leaves the lock
        # Snakemake reads `--config key=True` as a boolean; "true" would stay a string.
        return [*smk, "--rerun-incomplete", "--omit-from", "report",
                *(["--resources", f"gpu={gpu_jobs}"] if gpu_jobs else []),
                *(["--config", f"cuda_graphs=[{','.join(graphed)}]"] if (graphed := graph_verdict()) else []),
                "--", *self.targets]


def finished_cells(config, results_root=RESULTS_ROOT):
    """The (model, dataset) cells of `config` whose every seed has its per-run results (training summary, Parzen,
    FID and the curves the config asks for) in results/<study>/runs."""
    names = ["train.json", "parzen.json"]
    snapshots = config["snapshots"]["every_n_epochs"]
    names += ["fid.json"] * config["fid"]["enabled"] + ["parzen_curve.json"] * bool(snapshots and config["parzen"][
        "per_snapshot"]) + ["fid_curve.json"] * bool(snapshots and config["fid"]["enabled"] and config["fid"][
        "per_snapshot"])
    runs = Path(results_root) / config["study"] / "runs"
    cells = [(run["model"], dataset) for run in config["runs"] for dataset in run["datasets"]]
    return [(m, d) for m, d in cells if all((runs / m / d / f"seed{seed}" / name).is_file()
                                            for seed in config["seeds"] for name in names)]


def unfinished_runs(config, results_root=RESULTS_ROOT):
    """`config["runs"]` less its finished cells (config `runs` form; empty when all are finished)."""
    done = set(finished_cells(config, results_root))
    runs = [{**run, "datasets": [d for d in run["datasets"] if (run["model"], d) not in done]} for run in config["runs"]]
    return [run for run in runs if run["datasets"]]


def plan_stages(plan, overlay_dir=Path("work/lease")):
    """The stages of a lease plan (YAML: `stages:` of {name, profile, config}); each stage's `config` is written
    as an overlay file under `overlay_dir`. A stage trains only its cells not finished yet (the committed ones, and
    those an earlier call made): its tables then hold those cells alone, and `reaggregate` (Snakemake with
    --allowed-rules) re-aggregates the whole study afterwards (README)."""
    from .config import read_mapping

    stages = []
    for i, entry in enumerate(read_mapping(plan)["stages"]):
        if not (Path(entry["profile"]) / "study.yaml").is_file():
            raise GanStudyError(f"{plan}: stage {i + 1} names profile {entry['profile']}, which has no study.yaml; "
                                "fix the plan's profile path")
        stage = Stage(entry["name"], entry["profile"], skip_finished=True)
        if entry.get("config"):
            overlay = Path(overlay_dir) / f"{Path(plan).stem}-stage{i + 1}.yaml"
            overlay.parent.mkdir(parents=True, exist_ok=True)
            overlay.write_text(json.dumps(entry["config"]) + "\n")  # JSON is YAML
            stage.configfiles.append(str(overlay))
        stages.append(stage)
    return stages


def _lease_steps(stages, bench, graph_check, gpu_jobs=None, checks_only=False):
    """(name, make_command) in order: bench and graph-check (each once per machine; the graph check covers every
    model any stage trains), then the stages (none with `checks_only`). Commands are made when their turn comes.
    `bench`: its timed steps per path (True: 200, enough to time a GPU's millisecond steps)."""
    steps = []
    if bench and not _done("bench").is_file():
        timed = 200 if bench is True else int(bench)
        steps.append(("bench", lambda env: [sys.executable, "-m", "gan_study", "bench", "--steps", str(timed),
                                            "--warmup", str(max(2, timed // 10))]))
    if graph_check and not _done("graph-check").is_file():
        first = [arg for path in (f"{stages[0].profile}/study.yaml", *stages[0].configfiles) for arg in ("--config", path)]
        models = list(dict.fromkeys(run["model"] for stage in stages for run in stage.config()["runs"]))
        steps.append(("graph-check", lambda env: [sys.executable, "-m", "gan_study", *first, "graph-check", "--models",
                                                  *models]))
    if checks_only:
        return steps
    return steps + [(stage.name, lambda env, stage=stage: stage.command(env, gpu_jobs)) for stage in stages]


def _python_on_path(bin_dir):
    """A `python` first on the PATH that is this interpreter: the rules call `python`, and the image may name its
    interpreter `python3` only."""
    bin_dir = Path(bin_dir)
    bin_dir.mkdir(parents=True, exist_ok=True)
    # A script, not a symlink: a virtual environment's interpreter reached through a link elsewhere loses its venv.
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    return os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])


def lease_run(carry_root, out, deadline_s, stages, bench=False, graph_check=False, site=None, gpu_jobs=None,
              checks_only=False):
    """The one command for a GPU lease: restore, install, optionally benchmark and check CUDA graphs, run the stages
    in order until the deadline (CUDA graphs for the models whose check passed; at most `gpu_jobs` GPU jobs at once),
    pack their studies' results and a status file into `out`. `checks_only`: bench and graph-check alone, which
    need only the data and the wheels, so they can run in an earlier call while the weights are still being carried.
    The wheels go to `site` (default: beside the carries, so two checkouts never share one). Returns the status
    record."""
    t0 = time.time()
    site = (Path(carry_root) / "site" if site is None else Path(site)).resolve()
    data_dir, weights, wheels = restore(carry_root, Path(carry_root) / "restored", weights=not checks_only)
    _install_wheels(wheels, site)
    bring_back_results()
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir), "PATH": _python_on_path(site / "bin-python"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])), "PYTHONUNBUFFERED": "1",
           **({"GAN_STUDY_INCEPTION_WEIGHTS": str(weights)} if weights else {})}
    steps = _lease_steps(stages, bench, graph_check, gpu_jobs, checks_only)
    record = {"steps": []}
    for name, make_cmd in steps:
        left, started, cmd = deadline_s - (time.time() - t0), time.time(), make_cmd(env)
        outcome, code, seconds = ("already finished", 0, 0.0) if cmd is None else run_until(cmd, max(left, 1), env=env)
        _remember_once_per_machine(name, started)
        record["steps"].append({"step": name, "outcome": outcome, "exit_status": code, "seconds": seconds})
        print(f"[gan-study] lease step {name}: {outcome} (exit {code}) after {seconds} s", flush=True)
        if outcome == "deadline":
            break
    studies = [] if checks_only else list(dict.fromkeys(stage.config()["study"] for stage in stages))
    _methods_match_tables(studies, env)
    # A failed graph check is a verdict (train eagerly), not a failed lease.
    record["complete"] = len(record["steps"]) == len(steps) and all(
        s["outcome"] in ("finished", "already finished") and (s["exit_status"] == 0 or s["step"] == "graph-check")
        for s in record["steps"])
    record["cuda_graphs"] = graph_verdict()
    made = [*(f"results/{s}" for s in studies), "results/bench"]
    keep_results(made)
    record["files"] = [p.name for p in pack([*made, *(f"logs/{s}" for s in studies)], out)]
    (Path(out) / "lease-status.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


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


def finished_overlay(config, out):
    """Write a config overlay naming the finished cells of `config`'s study, and the models among them that trained
    from CUDA graphs (their train.json says so), so the study's config.json and methods say how they were made."""
    from .atomic import write_text

    cells = finished_cells(config, RESULTS_ROOT)
    if not cells:
        raise GanStudyError(f"results/{config['study']} holds no finished cell of this config; nothing to aggregate")
    runs, graphed = {}, []
    for model, dataset in cells:
        runs.setdefault(model, []).append(dataset)
        summaries = (RESULTS_ROOT / config["study"] / "runs" / model / dataset).glob("seed*/train.json")
        if model not in graphed and any(json.loads(p.read_text()).get("cuda_graphs") for p in summaries):
            graphed.append(model)
    write_text(out, json.dumps({"runs": [{"model": m, "datasets": d} for m, d in runs.items()],
                                "cuda_graphs": graphed or False}) + "\n")
    return cells


@command("reaggregate", [
    arg("--profile", required=True, help="the study's profile, e.g. workflows/profiles/paper"),
    arg("--cores", type=int, default=2), arg("--dry-run", action="store_true", help="plan only (snakemake -n)")])
def reaggregate_command(config, args):
    """Tables, figures, methods and report of every finished cell of a study (e.g. after lease stages that each
    aggregated their new cells alone): Snakemake with --allowed-rules, which takes the per-run files as given, so
    nothing is trained or scored again."""
    study_yaml = Path(args.profile) / "study.yaml"
    if not study_yaml.is_file():
        raise GanStudyError(f"{args.profile} has no study.yaml; name a profile folder, e.g. workflows/profiles/paper")
    from .config import load_config

    study = load_config(study_yaml)
    overlay = Path("work") / f"{study['study']}-finished.yaml"
    cells = finished_overlay(study, overlay)
    print(f"{len(cells)} finished cells of results/{study['study']}: " + ", ".join(f"{m}/{d}" for m, d in cells))
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--profile", args.profile,
                           "--configfile", str(study_yaml), str(overlay), "--allowed-rules", "aggregate", "figures",
                           "methods", "figure1", "report", "--forcerun", "aggregate", "methods",
                           *(["-n"] if args.dry_run else [])])
    if done.returncode != 0:
        raise GanStudyError(f"reaggregate: Snakemake failed (exit {done.returncode}); see its output above")


@command("lease-prepare", [
    arg("--out", default=".dev", help="carries go to OUT/d1 (data + manifest), OUT/w*, OUT/p* (wheels)"),
    arg("--no-wheels", action="store_true", help="skip the wheels (they need PyPI)")])
def lease_prepare_command(config, args):
    from .data import resolve_data_dir
    from .fidelity import resolve_weights

    weights = resolve_weights(config["fid"]["weights_path"])
    if weights is None:
        raise GanStudyError("lease-prepare needs the Inception weights file: set $GAN_STUDY_INCEPTION_WEIGHTS")
    manifest = prepare(resolve_data_dir(config["data_dir"]), weights, args.out, wheels=not args.no_wheels)
    calls = carry_calls(args.out, manifest["limit"])
    print(f"{len(manifest['files'])} files in carries of ≤ {manifest['limit'] / 2**20:.1f} MiB under {args.out}/ (what "
          f"a call leaves beside this checkout's travelling tree); {len(calls)} calls, each carrying the folders in one "
          f"pair of brackets, in this order: {' '.join('[' + ' '.join(call) + ']' for call in calls)}")


@command("lease-run", [
    arg("--carry", default=".dev"), arg("--out", required=True, help="$OUT on the GPU machine"),
    arg("--deadline-s", type=float, default=540, help="stop cleanly after this many seconds"),
    arg("--profile", default="workflows/profiles/paper"),
    arg("--configfile", nargs="*", default=[], help="overlays after the profile's study.yaml"),
    arg("--git", metavar="COMMIT[+dirty]",
        help="the commit the working tree was sent at, for the provenance records (the GPU machine's copy has no .git)"),
    arg("--bench", action="store_true", help="run `bench` first"),
    arg("--bench-steps", type=int, default=200, help="timed steps per path of `bench`"),
    arg("--graph-check", action="store_true",
        help="run `graph-check` (once per machine); the study trains from CUDA graphs only if it passed"),
    arg("--plan", help="run the stages of this plan in order (e.g. workflows/profiles/paper/lease-plan.yaml) "
        "instead of one profile"),
    arg("--gpu-jobs", type=int, default=4,
        help="GPU jobs at once (Snakemake's gpu resource; the profiles say 1): the evaluation jobs are mostly start-up"),
    arg("--checks-only", action="store_true",
        help="run only --bench/--graph-check (data and wheels carried; the weights may still be on their way)"),
    arg("targets", nargs="*", help="Snakemake targets (default: the whole study but the report)")])
def lease_run_command(config, args):
    if args.plan and (args.targets or args.configfile):
        raise GanStudyError("lease-run: --plan names its own profiles and overlays; drop the targets and --configfile")
    stages = (plan_stages(args.plan) if args.plan
              else [Stage("study", args.profile, list(args.configfile), list(args.targets))])
    if args.git:
        commit, _, dirty = args.git.partition("+")
        if not re.fullmatch(r"[0-9a-f]{7,40}", commit) or dirty not in ("", "dirty"):
            raise GanStudyError(f"lease-run --git {args.git}: give a commit hash, '+dirty' after it if the tree was")
        os.environ.update(GAN_STUDY_GIT_COMMIT=commit, GAN_STUDY_GIT_DIRTY="1" if dirty else "0")
    if args.checks_only and not (args.bench or args.graph_check):
        raise GanStudyError("lease-run --checks-only runs --bench and/or --graph-check; name at least one")
    lease_run(args.carry, args.out, args.deadline_s, stages, args.bench and args.bench_steps, args.graph_check,
              gpu_jobs=args.gpu_jobs, checks_only=args.checks_only)


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def snakemake_job_times(log_text):
    """Per job of a Snakemake console log (several runs in a row allowed): rule, wildcards, start, end, seconds.
    Jobs that never finished (a deadline) have no end."""
    jobs, run, stamp, current = [], 0, None, None
    for line in log_text.splitlines():
        if line.startswith("Building DAG of jobs"):
            run += 1
        elif match := _STAMP.match(line.strip()):
            stamp, current = time.mktime(time.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")), None
        elif match := re.match(r"^(?:local)?rule (\w+):$", line):
            current = {"snakemake_run": run, "rule": match.group(1), "wildcards": "", "started": stamp}
            jobs.append(current)
        elif current is not None and (match := re.match(r"^\s+jobid: (\d+)$", line)):
            current["jobid"] = int(match.group(1))
        elif current is not None and (match := re.match(r"^\s+wildcards: (.*)$", line)):
            current["wildcards"] = match.group(1)
        elif match := re.match(r"^Finished jobid: (\d+)", line):
            for job in jobs:
                if job["snakemake_run"] == run and job.get("jobid") == int(match.group(1)):
                    job["seconds"] = stamp - job["started"]
    return [{**job, "seconds": job.get("seconds")} for job in jobs]


@command("rule-times", [arg("--log", required=True, help="a Snakemake console log (e.g. a lease's)"),
                        arg("--out", required=True, help="CSV: one row per job, its rule, wildcards and seconds")])
def rule_times_command(config, args):
    import pandas as pd

    from .atomic import write_csv

    rows = snakemake_job_times(Path(args.log).read_text())
    if not rows:
        raise GanStudyError(f"{args.log} holds no Snakemake jobs; give the console log of a Snakemake run")
    write_csv(args.out, pd.DataFrame(rows)[["snakemake_run", "rule", "wildcards", "jobid", "seconds"]])
