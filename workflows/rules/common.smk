# Paths, the run grid and the command prefix shared by every rule: all computed by gan_study.dag (torch-free).
import shlex
import sys

from gan_study import dag
from gan_study.metrics import REGISTRY, metrics

PATHS = dag.study_paths(config)
RESULTS = PATHS["results"]
WORK = PATHS["work"]
LOGS = PATHS["logs"]
RUN = dag.RUN
REPORT_PDF = PATHS["report_pdf"]
CONFIG_JSON = PATHS["config_json"]
LEFT_OUT_NOTE = dag.left_out_note(config)
if LEFT_OUT_NOTE:
    print(LEFT_OUT_NOTE, file=sys.stderr)
RUNS = dag.runs(config)
SEEDS = config["seeds"]
# The registered metrics (gan_study/metrics) and the runs each scores: none when the study turns it off; a score per
# checkpoint only for the runs whose model keeps snapshots (snapshots.every_n_epochs < epochs).
METRICS = metrics()
METRIC_RUNS = {metric.name: dag.metric_runs(config, metric) for metric in METRICS}
PARZEN_CURVE_RUNS = METRIC_RUNS["parzen_curve"]
PARZEN_CURVES_CSV = [f"{RESULTS}/parzen_curves.csv"] if PARZEN_CURVE_RUNS else []
BASELINES_CSV = [f"{RESULTS}/parzen_baselines.csv"] if config["parzen_baselines"]["enabled"] else []
# The FID CSVs the figures read: those FID's registry entry says aggregate writes for this study.
FID_OUTPUTS = dag.metric_outputs(config, REGISTRY["fid"], RESULTS)
FID_CSVS = [p for p in FID_OUTPUTS if os.path.basename(p) in ("fid_runs.csv", "fid_summary.csv")]
FID_CURVES_CSV = [p for p in FID_OUTPUTS if os.path.basename(p) == "fid_curves.csv"]
FID_CURVES = bool(FID_CURVES_CSV)
DATASETS = sorted({run["dataset"] for run in RUNS})
# Other committed studies whose Parzen curves the report shows (report.curves_from), and the files read of each.
CURVES_FROM = config["report"]["curves_from"]
CURVES_FROM_FILES = [f"{d}/{name}" for d in CURVES_FROM for name in ("parzen_curves.csv", "config.json")]
# Other committed studies of the same seeds this study is compared with seed by seed (report.paired_with).
PAIRED_WITH = config["report"].get("paired_with", [])
PAIRED_WITH_FILES = [f"{d}/{name}" for d in PAIRED_WITH for name in ("parzen_runs.csv", "config.json")]
PAIRED_SEEDS_CSV, PAIRED_SUMMARY_CSV, PAIRED_TEX = (
    [f"{RESULTS}/{name}"] if PAIRED_WITH else []
    for name in ("paired_seeds.csv", "paired_summary.csv", "tables/paired.tex")
)


# The resolved config the commands read: written when the workflow starts running, never by a dry run or lint.
onstart:
    dag.write_resolved_config(CONFIG_JSON, config)


# The package runs from this checkout in any environment (venv or --use-conda).
# Paths are quoted: a checkout path may hold spaces.
GAN_STUDY = (
    f"PYTHONPATH={shlex.quote(workflow.basedir)}${{PYTHONPATH:+:$PYTHONPATH}} "
    f"python -m gan_study --config {shlex.quote(CONFIG_JSON)}"
)
USES_GPU = 0 if config["device"] == "cpu" else 1
# Host memory per job (MB), for schedulers and `--resources mem_mb=…`. Peak RSS measured on CPU at the paper's
# sizes: train-seeds (MLP GAN, 5 seeds, 50k images) 1.6 GB, sample (10k) 1.7 GB, Parzen (10k × 10k) 1.5 GB;
# the FID steps add the Inception net and 10k × 2048 float64 features (not measured at 10k on CPU).
MEM_MB = {"train": 3000, "evaluate": 3000, "fid": 4000, "light": 2000}
# Wall-time limits per job in minutes (SLURM's -t): the paper budget on one GPU, with a wide margin; a CPU study or a
# slow node may need more (`--set-resources train:runtime=…`). A retried training job resumes from its checkpoint.
RUNTIME_MIN = {"train": 720, "evaluate": 120, "fid": 240, "light": 30}


def config_digest(*keys):
    return dag.config_digest(config, *keys)


def sampling_digest(model):
    return dag.sampling_digest(config, model)


def data_files(wildcards):
    """The dataset files a job reads (declared when present; see gan_study.dag.data_files)."""
    return dag.data_files(config, wildcards.dataset)


def metric_outputs(metric):
    """The files `metric`'s aggregation writes; those it gives a caption are shown in Snakemake's report."""
    outputs = []
    for path in dag.metric_outputs(config, metric, RESULTS):
        caption = metric.report_outputs.get(os.path.relpath(path, RESULTS))
        outputs.append(report(path, caption=f"../report/{caption}", category="Tables") if caption else path)
    return outputs


def metric_inputs(metric):
    """The files `metric`'s rule reads, by option name; its `ancient_inputs` marked so."""
    inputs = metric.rule_inputs(RESULTS, WORK, RUN)
    return {name: ancient(path) if name in metric.ancient_inputs else path for name, path in inputs.items()}


def run_files(pattern, runs=RUNS):
    return [pattern.format(**run) for run in runs]
