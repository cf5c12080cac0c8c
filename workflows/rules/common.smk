# Paths, the run grid and the command prefix shared by every rule.
import hashlib
import json
import os

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
WORK = f"work/{STUDY}"  # checkpoints and samples: not Snakemake outputs, so a failed job never deletes them
LOGS = f"logs/{STUDY}"
RUN = "{model}/{dataset}/seed{seed}"
REPORT_PDF = "report/gan_study.pdf"
RUNS = [
    dict(model=entry["model"], dataset=dataset, seed=seed)
    for entry in config["runs"]
    for dataset in entry["datasets"]
    for seed in config["seeds"]
]


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


def config_digest(*keys):
    """A digest of the config sections that a job depends on; Snakemake re-runs the job when it changes."""
    section = config
    for key in keys:
        section = section[key]
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:12]


def run_files(pattern):
    return [pattern.format(**run) for run in RUNS]
