"""Re-aggregating a study from its finished cells: tables, figures, methods and report, nothing trained or scored.

A study whose cells were trained at different times (or on different machines) has per-run files for every cell but
tables for the last batch only; `reaggregate` rebuilds the study's outputs from every finished cell.
"""

import json
import subprocess
import sys
from pathlib import Path

from .commands import arg, command
from .errors import GanStudyError
from .metrics import per_run_files

RESULTS_ROOT = Path("results")


def finished_cells(config, results_root=None):
    """The (model, dataset) cells of `config` whose every seed has its per-run results in results/<study>/runs."""
    from .config import run_dir

    study = Path(RESULTS_ROOT if results_root is None else results_root) / config["study"]
    names = per_run_files(config)
    cells = [(run["model"], dataset) for run in config["runs"] for dataset in run["datasets"]]
    return [(m, d) for m, d in cells if all((run_dir(study, m, d, seed) / name).is_file()
                                            for seed in config["seeds"] for name in names)]


def unfinished_runs(config, results_root=None):
    """`config["runs"]` less its finished cells (config `runs` form; empty when all are finished)."""
    done = set(finished_cells(config, results_root))
    runs = [{**run, "datasets": [d for d in run["datasets"] if (run["model"], d) not in done]} for run in config["runs"]]
    return [run for run in runs if run["datasets"]]


def check_run_configs(config, cells, results_root=None):
    """Refuse a finished cell whose runs were trained under another run config than the study's config gives now (its
    file edited since they ran): their tables, methods and comparisons would describe settings the runs never had.
    Snakemake would retrain such runs; reaggregate, which trains nothing, must not relabel them."""
    from .config import model_run_config
    from .provenance import config_hash

    study = Path(RESULTS_ROOT if results_root is None else results_root) / config["study"]
    for model, dataset in cells:
        expected = config_hash(model_run_config(model, dataset, config["models"][model]))
        for summary in sorted((study / "runs" / model / dataset).glob("seed*/train.json")):
            recorded = json.loads(summary.read_text()).get("run_config_hash")
            if recorded not in (None, expected):  # None: written before runs recorded their config's hash
                raise GanStudyError(
                    f"{summary} was trained under run config {recorded}, but the study's config now gives {expected} "
                    f"for {model}/{dataset}: its file changed since the runs trained; restore the settings they ran "
                    "with, or retrain them with snakemake")


def finished_overlay(config, out, results_root=None):
    """Write a config overlay naming the finished cells of `config`'s study, and the models among them that trained
    from CUDA graphs (their train.json says so), so the study's config.json and methods say how they were made."""
    from .atomic import write_text

    root = Path(RESULTS_ROOT if results_root is None else results_root)
    cells = finished_cells(config, root)
    if not cells:
        raise GanStudyError(f"results/{config['study']} holds no finished cell of this config; nothing to aggregate")
    check_run_configs(config, cells, root)
    runs, graphed = {}, []
    for model, dataset in cells:
        runs.setdefault(model, []).append(dataset)
        summaries = (root / config["study"] / "runs" / model / dataset).glob("seed*/train.json")
        if model not in graphed and any(json.loads(p.read_text()).get("cuda_graphs") for p in summaries):
            graphed.append(model)
    write_text(out, json.dumps({"runs": [{"model": m, "datasets": d} for m, d in runs.items()],
                                "cuda_graphs": graphed or False}) + "\n")
    return cells


@command("reaggregate", [
    arg("--study", help="the study: a name under workflows/studies/ (e.g. paper) or its YAML file"),
    arg("--profile", help="or the Snakemake profile that names it, e.g. workflows/profiles/paper"),
    arg("--cores", type=int, default=2), arg("--dry-run", action="store_true", help="plan only (snakemake -n)"),
    arg("targets", nargs="*", help="only these files (e.g. results/paper/parzen_summary.csv); default: everything, "
        "the report included")])
def reaggregate_command(config, args):
    """Tables, figures, methods and report of every finished cell of a study: Snakemake with --allowed-rules, which
    takes the per-run files as given, so nothing is trained or scored again."""
    from .config import load_config, study_file

    if (args.study is None) == (args.profile is None):
        raise GanStudyError("reaggregate: give the study (--study paper) or its profile (--profile PATH), one of them")
    study_yaml = study_file(args.study, args.profile)
    study = load_config(study_yaml)
    overlay = Path("work") / f"{study['study']}-finished.yaml"
    cells = finished_overlay(study, overlay)
    print(f"{len(cells)} finished cells of results/{study['study']}: " + ", ".join(f"{m}/{d}" for m, d in cells))
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores),
                           *(["--profile", args.profile] if args.profile else []),
                           "--configfile", str(study_yaml), str(overlay), "--allowed-rules", "aggregate", "figures",
                           "methods", "figure1", "report", "--forcerun", "aggregate", "methods",
                           *(["-n"] if args.dry_run else []), "--", *args.targets])
    if done.returncode != 0:
        raise GanStudyError(f"reaggregate: Snakemake failed (exit {done.returncode}); see its output above")
