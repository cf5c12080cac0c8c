"""The DAG's bookkeeping, importable without torch: what the Snakefile needs to lay out a study.

The study's paths, the data dir, which datasets are present, the run grid, the runs each metric scores, the config
digests that make Snakemake re-run a job when its config section changes, and the resolved config the commands
read. `workflows/rules/common.smk` only calls these; parsing the workflow (`snakemake -n`, `--lint`) writes nothing.
"""

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_text
from .config import REPO_ROOT, grid, hashed_model_config, run_id, sampling_config, snapshot_epochs
from .datasets import get_dataset

# A run's place under a study's results and work dirs (runs/<RUN>), as Snakemake wildcards: config.run_dir's layout.
RUN = run_id("{model}", "{dataset}", "{seed}")

DATA_DIR_ENV = "GAN_STUDY_DATA_DIR"


def resolve_data_dir(configured=None):
    """$GAN_STUDY_DATA_DIR, else the config's `data_dir`, else data/ in the checkout."""
    value = os.environ.get(DATA_DIR_ENV) or configured
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data"


def data_files(config, dataset):
    """The dataset's files, declared as inputs of the rules that read them: those of the first folder that holds
    them all. None there: [] (the job itself then names the missing file in one line, or downloads it when
    `download: true`)."""
    spec = get_dataset(dataset)
    folder = spec.folder_with_files(resolve_data_dir(config["data_dir"]))
    return [str(folder / name) for name in spec.files] if folder else []


def dataset_present(config, dataset):
    """An optional dataset (CIFAR-10) is in the study when its files are there, or may be downloaded."""
    spec = get_dataset(dataset)
    return (not spec.optional or bool(config["download"])
            or spec.folder_with_files(resolve_data_dir(config["data_dir"])) is not None)


def left_out_note(config):
    """One line per dataset the study's runs ask for but that is left out (its files absent), else None."""
    root = resolve_data_dir(config["data_dir"])
    wanted = [get_dataset(d) for d in dict.fromkeys(d for entry in config["runs"] for d in entry["datasets"])]
    notes = [f"gan-study: {spec.title} is left out of this study: {root / spec.folders[0]} does not hold its files "
             f"({', '.join(spec.files)}); put them there, or set download: true when online, to include it"
             for spec in wanted if not dataset_present(config, spec.name)]
    return "\n".join(notes) or None


def study_paths(config):
    """Where a study's files go: results (committed), work (checkpoints, samples: not Snakemake outputs, so a
    failed job never deletes them), logs, and its report (one per study)."""
    study = config["study"]
    return {"results": f"results/{study}", "work": f"work/{study}", "logs": f"logs/{study}",
            "report_pdf": f"report/{study}/gan_study.pdf", "config_json": f"work/{study}/config.json"}


def runs(config):
    """Every run of the study as {model, dataset, seed}, in a stable order."""
    return [dict(model=m, dataset=d, seed=s) for m, d, s in grid(config) if dataset_present(config, d)]


def metric_runs(config, metric):
    """The runs a registered `metric` scores: none when the study turns it off; for a per-checkpoint metric, the runs
    that keep generator snapshots."""
    if not metric.enabled(config):
        return []
    return [run for run in runs(config) if not metric.per_checkpoint or snapshot_epochs(config, run["model"])]


def metric_outputs(config, metric, results):
    """The files `metric`'s aggregation writes into the study's results dir."""
    from .metrics import REGISTRY

    return [f"{results}/{path}" for path, needs in metric.outputs.items()
            if needs is None or metric_runs(config, REGISTRY[needs])]


def config_digest(config, *keys):
    """A digest of the config section a job depends on; Snakemake re-runs the job when it changes."""
    section = config
    for key in keys:
        section = section[key]
    if len(keys) == 2 and keys[0] == "models":  # a model's section as its runs hash it
        section = hashed_model_config(keys[1], section)
    return _digest(section)


def sampling_digest(config, model):
    """A digest of the model's sampling keys: the jobs that sample its generators re-run when they change (its
    training jobs do not: no run hash holds them)."""
    return _digest(sampling_config(config["models"][model]))


def _digest(section):
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:12]


def write_resolved_config(path, config):
    """The merged, validated config as JSON for the commands; rewritten (atomically) only when it changes."""
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    path = Path(path)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path
