"""Metrics are registered units: the rules, aggregate, the methods, the report's tables, the finished-run check and
the command list all follow the registry; the worked example (docs/examples/metric) adds a metric with its module,
its config section and its schema, and nothing else."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from gan_study.config import load_config
from gan_study.metrics import REGISTRY, Metric, enabled_metrics, per_run_files, register
from tests.conftest import data_dir

EXAMPLE = "docs/examples/metric"


def add_example_metric(repo):
    """The three edits the docs name: the module, the config section, its schema."""
    example = repo / EXAMPLE
    (repo / "gan_study" / "metrics" / "pixel_mean.py").write_text((example / "pixel_mean.py").read_text())
    for target, snippet, indent in (("config.yaml", "config.yaml", ""), ("schema.yaml", "schema.yaml", "  ")):
        lines = [line for line in (example / snippet).read_text().splitlines() if not line.startswith("#")]
        path = repo / "workflows" / "config" / target
        path.write_text(path.read_text() + "".join(f"{indent}{line}\n" for line in lines))


def run(repo, *args, timeout=1800):  # a hang guard
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir())}
    done = subprocess.run(args, cwd=repo, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_study_s_metrics_follow_its_config():
    config = load_config()
    config["snapshots"]["every_n_epochs"] = 10
    assert [m.name for m in enabled_metrics(config)] == ["parzen", "parzen_curve", "fid", "fid_curve"]
    assert per_run_files(config) == ["train.json", "parzen.json", "parzen_curve.json", "fid.json", "fid_curve.json"]
    config["fid"]["enabled"] = False
    config["snapshots"]["every_n_epochs"] = None
    assert per_run_files(config) == ["train.json", "parzen.json"]
    assert {REGISTRY[name].command for name in REGISTRY} == {"parzen", "parzen-curve", "fid", "fid-curve"}


def test_a_metric_s_ancient_inputs_are_among_its_inputs():
    curve = Metric(name="example_curve", command="example-curve", module="evaluate", help="", section="parzen",
                   inputs={"parzen": "{results}/runs/{run}/parzen.json"}, ancient_inputs=("train",))
    with pytest.raises(ValueError, match="ancient_inputs"):
        register(curve)
    assert "example_curve" not in REGISTRY
    assert {name: REGISTRY[name].ancient_inputs for name in ("parzen_curve", "fid_curve")} == {
        "parzen_curve": ("train",), "fid_curve": ("train",)}


def test_a_metric_added_as_the_docs_say_is_scored_aggregated_and_described(repo_copy):
    add_example_metric(repo_copy)
    python = sys.executable
    assert "pixel-mean" in run(repo_copy, python, "-m", "gan_study", "--help")
    listed = run(repo_copy, python, "-c", "from gan_study.config import load_config; "
                 "from gan_study.metrics import per_run_files; print(per_run_files(load_config()))")
    assert "pixel_mean.json" in listed
    dry = run(repo_copy, "snakemake", "-n", "-p", "--profile", "workflows/profiles/smoke")
    jobs = dict(line.split() for line in dry.split("Job stats:")[1].splitlines()[3:] if len(line.split()) == 2)
    assert int(jobs["pixel_mean"]) == int(jobs["parzen"]) == 12  # one per run
    assert "--pixel-mean results/smoke/runs/mlp_gan/mnist/seed0/pixel_mean.json" in dry
    # One small study through the DAG: the example's rule, its aggregation, its table float and methods paragraph.
    (repo_copy / "tiny.yaml").write_text(
        "study: metric-example\nseeds: [0]\nruns: [{model: mlp_gan, datasets: [mnist]}]\n"
        "models: {mlp_gan: {epochs: 1, train_limit: 500}}\nsnapshots: {every_n_epochs: null}\n"
        "fid: {enabled: false}\nparzen_baselines: {enabled: false}\n")
    results = repo_copy / "results" / "metric-example"
    run(repo_copy, "snakemake", "--profile", "workflows/profiles/smoke", "--configfile", "workflows/studies/smoke.yaml",
        "tiny.yaml", "--", "results/metric-example/tables/metrics.tex", "results/metric-example/methods.tex")
    run_dir = results / "runs" / "mlp_gan" / "mnist" / "seed0"
    records = {name: json.loads((run_dir / f"{name}.json").read_text()) for name in ("parzen", "pixel_mean")}
    assert records["parzen"]["metric"] == "parzen_log_likelihood"  # each rule ran its own metric's command
    assert records["pixel_mean"]["metric"] == "pixel_mean"
    scored = pd.read_csv(results / "pixel_mean.csv")
    assert list(scored["seed"]) == [0] and 0 < scored["samples_mean"].iloc[0] < 1
    assert abs(scored["test_mean"].iloc[0] - 0.1325) < 0.001  # MNIST's test images: mean intensity 0.1325
    floats = (results / "tables" / "metrics.tex").read_text()
    assert r"\input{results/tables/pixel_mean.tex}" in floats and "tab:fid" not in floats  # FID was off
    assert (results / "tables" / "pixel_mean.tex").read_text().count("mlp\\_gan/mnist/0") == 1
    assert r"\paragraph{Mean pixel intensity.}" in (results / "methods.tex").read_text()
