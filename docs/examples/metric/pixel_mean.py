"""Worked example of a registered metric (docs/layout.md, "A per-run metric"): the mean pixel intensity of a run's
samples beside that of the test set. Copy this file to gan_study/metrics/pixel_mean.py, add config.yaml's section to
workflows/config/config.yaml and schema.yaml's to workflows/config/schema.yaml (under `properties`): the study then
has a `pixel_mean` rule per run, the per-run file `pixel_mean.json`, a `pixel-mean` command, `pixel_mean.csv`, a table
in the report and a methods paragraph. tests/metrics/test_registry.py does exactly that."""

import pandas as pd

from .. import latex
from ..commands import RUN_ARGS, arg, command
from ..run_table import read_runs, with_run_status
from . import Metric, MetricTable, register

register(Metric(
    name="pixel_mean", command="pixel-mean", module="metrics.pixel_mean", section="pixel_mean", threads=1,
    help="mean pixel intensity of a run's samples and of the test set",
    inputs={"samples": "{work}/runs/{run}/samples.pt"},
    summary="metrics.pixel_mean:tables", outputs={"pixel_mean.csv": "pixel_mean", "tables/pixel_mean.tex": None},
    table=MetricTable(file="tables/pixel_mean.tex", label="tab:pixel-mean",
                      caption="Mean pixel intensity of the generated images and of the test images."),
    methods="metrics.pixel_mean:methods_paragraph",
))


def pixel_mean(config, model, dataset, seed, samples_path, out_json):
    """The record of one run: its samples checked to be this run's, then both means."""
    from ..data import load_splits
    from ..evaluate import load_samples, run_record
    from ..runtime import resolve_device
    from ..status import SCORED

    n = config["pixel_mean"]["n_samples"]
    record = run_record(config, model, dataset, seed, "pixel_mean")
    payload = load_samples(samples_path, record, n)
    record.update(status=payload["status"], n_samples=n)
    if payload["status"] in SCORED:
        test = load_splits(dataset, config["data_dir"], config["download"]).test_x
        record.update(samples_mean=float(payload["images"][:n].mean()), test_mean=float(test.mean()))
    return record.write(out_json, resolve_device(config["device"]))


@command("pixel-mean", RUN_ARGS + [arg("--samples", required=True), arg("--out", required=True)])
def pixel_mean_command(config, args):
    record = pixel_mean(config, args.model, args.dataset, args.seed, args.samples, args.out)
    print(f"{args.model}/{args.dataset}/seed{args.seed}: mean pixel {record.get('samples_mean')}")


def tables(config, files, runs, allow_mixed=False):
    """pixel_mean.csv (one row per run, each one of the study's Parzen `runs` under its config, with the status the
    study reports for it) and its LaTeX table; no macros."""
    records = read_runs(files["pixel_mean"], "pixel_mean.json", runs).values()
    if not records:
        return {"tables/pixel_mean.tex": "Not computed in this study.\n"}, []
    keys = ("model", "dataset", "seed", "status", "samples_mean", "test_mean")
    frame = pd.DataFrame([{k: r.get(k) for k in keys} for r in records]).sort_values(["model", "dataset", "seed"])
    frame = with_run_status(frame, runs)
    rows = pd.DataFrame({"Run": [latex.escape(f"{r.model}/{r.dataset}/{r.seed}") for r in frame.itertuples()],
                         "Samples": [latex.fmt(v, 3) for v in frame["samples_mean"]],
                         "Test set": [latex.fmt(v, 3) for v in frame["test_mean"]]})
    return {"pixel_mean.csv": frame, "tables/pixel_mean.tex": latex.tabular(rows, "lrr")}, []


def methods_paragraph(config):
    return (r"\paragraph{Mean pixel intensity.} The mean over the first "
            f"{config['pixel_mean']['n_samples']:,} generated images of each run, beside the test set's.")
