# Paths, the run grid and the command prefix shared by every rule.
import hashlib
import json
import os
import sys

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
WORK = f"work/{STUDY}"  # checkpoints and samples: not Snakemake outputs, so a failed job never deletes them
LOGS = f"logs/{STUDY}"
RUN = "{model}/{dataset}/seed{seed}"
REPORT_PDF = f"report/{STUDY}/gan_study.pdf"  # one per study: a smoke report never stands in for the paper one
DATA_DIR = os.environ.get("GAN_STUDY_DATA_DIR") or config["data_dir"] or "data"
# CIFAR-10 cannot be downloaded here and is large: without its files the study leaves it out, and says so once.
HAVE_CIFAR10 = config["download"] or all(
    os.path.isfile(os.path.join(DATA_DIR, "cifar-10-batches-py", name))
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
)
if not HAVE_CIFAR10 and any("cifar10" in entry["datasets"] for entry in config["runs"]):
    print(
        f"gan-study: CIFAR-10 is left out of this study: {DATA_DIR}/cifar-10-batches-py has no python-version "
        "batches (put them there, or set download: true when online, to include it)",
        file=sys.stderr,
    )
from gan_study.config import grid, snapshot_epochs

RUNS = [dict(model=model, dataset=dataset, seed=seed) for model, dataset, seed in grid(config, HAVE_CIFAR10)]
SEEDS = config["seeds"]
# Scores per checkpoint: for the runs whose model keeps snapshots (snapshots.every_n_epochs < epochs).
SNAPSHOT_RUNS = [run for run in RUNS if snapshot_epochs(config, run["model"])]
CURVE_RUNS = SNAPSHOT_RUNS if config["fid"]["enabled"] and config["fid"]["per_snapshot"] else []
PARZEN_CURVE_RUNS = SNAPSHOT_RUNS if config["parzen"]["per_snapshot"] else []
PARZEN_CURVES_CSV = [f"{RESULTS}/parzen_curves.csv"] if PARZEN_CURVE_RUNS else []
BASELINES_CSV = [f"{RESULTS}/parzen_baselines.csv"] if config["parzen_baselines"]["enabled"] else []
FID_CSVS = [f"{RESULTS}/fid_runs.csv", f"{RESULTS}/fid_summary.csv"] if config["fid"]["enabled"] else []
FID_CURVES_CSV = [f"{RESULTS}/fid_curves.csv"] if CURVE_RUNS else []
FID_CURVES = bool(CURVE_RUNS)
DATASETS = sorted({run["dataset"] for run in RUNS})


def _write_resolved_config(path, cfg):
    """The merged, validated config as JSON for the commands; rewritten only when it changes."""
    text = json.dumps(cfg, indent=2, sort_keys=True) + "\n"
    if not os.path.exists(path) or open(path).read() != text:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)


CONFIG_JSON = f"{WORK}/config.json"
_write_resolved_config(CONFIG_JSON, config)

# The package runs from this checkout in any environment (venv or --use-conda).
GAN_STUDY = f"PYTHONPATH={workflow.basedir}${{PYTHONPATH:+:$PYTHONPATH}} python -m gan_study --config {CONFIG_JSON}"
USES_GPU = 0 if config["device"] == "cpu" else 1
# Host memory per job (MB), for schedulers and `--resources mem_mb=…`. Peak RSS measured on CPU at the paper's
# sizes: train-seeds (MLP GAN, 5 seeds, 50k images) 1.6 GB, sample (10k) 1.7 GB, Parzen (10k × 10k) 1.5 GB;
# the FID steps add the Inception net and 10k × 2048 float64 features (not measured at 10k on CPU).
MEM_MB = {"train": 3000, "evaluate": 3000, "fid": 4000, "light": 2000}
# Wall-time limits per job in minutes (SLURM's -t): the paper budget on one GPU, with a wide margin; a CPU study or a
# slow node may need more (`--set-resources train:runtime=…`). A retried training job resumes from its checkpoint.
RUNTIME_MIN = {"train": 720, "evaluate": 120, "fid": 240, "light": 30}


def config_digest(*keys):
    """A digest of the config sections that a job depends on; Snakemake re-runs the job when it changes."""
    section = config
    for key in keys:
        section = section[key]
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:12]


def run_files(pattern, runs=RUNS):
    return [pattern.format(**run) for run in runs]
