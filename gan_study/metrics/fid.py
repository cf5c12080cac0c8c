"""FID, KID and precision/recall (torch-fidelity) of each run's samples against the test set's cached Inception
features (`evaluate.fid`), and per generator snapshot with the best-over-checkpoints FID Lucic et al. report; their
CSVs, table, macros and methods paragraph."""

import math

import pandas as pd

from .. import latex
from ..datasets import REGISTRY as DATASETS
from ..errors import GanStudyError
from ..outcome import outcome_counts
from ..reference import lucic_fid
from ..run_table import read_runs, with_run_status
from ..status import SCORED, Status
from . import Metric, MetricTable, register

REFERENCE = "{results}/fid_reference/{{dataset}}.json"
OUTPUTS = {"fid_runs.csv": "fid", "fid_summary.csv": "fid", "fid_curves.csv": "fid_curve", "tables/fid.tex": None}

register(Metric(
    name="fid", command="fid", module="evaluate", section="fid", order=10, resources="fid",
    help="FID, KID and precision/recall of a run's samples (torch-fidelity)",
    inputs={"samples": "{work}/runs/{run}/samples.pt", "reference": REFERENCE},
    summary="metrics.fid:tables", outputs=OUTPUTS, report_outputs={"fid_summary.csv": "fid_summary.rst"},
    table=MetricTable(
        file="tables/fid.tex", label="tab:fid", size=r"\scriptsize\setlength{\tabcolsep}{3pt}",
        caption=(r"FID and KID (lower is better) and precision/recall of generated vs test images, computed by "
                 r"torch-fidelity \citep{obukhov2020torchfidelity} on Inception pool features \citep{heusel2017fid}; "
                 r"mean $\pm$ standard deviation over seeds. Last column: the best FID of the same loss family reported "
                 r"by \citet{lucic2018gans} (their architecture and hyper-parameter search, not ours). Inception Score: "
                 r"not reported (the protocol reports FID, KID and precision/recall; each run's \texttt{fid.json} says "
                 r"whether its weights file could have given it).")),
    methods="metrics.fid:methods_paragraph",
))

register(Metric(
    name="fid_curve", command="fid-curve", module="evaluate", section="fid", order=11, resources="fid",
    per_checkpoint=True,
    help="FID/KID/PR of every generator snapshot of a run (snapshots.every_n_epochs)",
    inputs={"train": "{results}/runs/{run}/train.json", "fid": "{results}/runs/{run}/fid.json",
            "reference": REFERENCE},
    ancient_inputs=("train",),
))


def tables(config, files, runs, allow_mixed=False):
    """The FID outputs of a study (OUTPUTS: the CSVs only when FID was computed) and their macros, from the fid and
    fid_curve files, checked against the Parzen `runs` table."""
    fid_runs = with_run_status(collect_fid(files.get("fid", ()), runs), runs)
    fid_curves = with_run_status(collect_fid_curves(files.get("fid_curve", ()), runs), runs)
    summary = None if fid_runs is None else summarise_fid(fid_runs, allow_mixed, fid_curves)
    outputs = {"fid_runs.csv": fid_runs, "fid_summary.csv": summary, "fid_curves.csv": fid_curves,
               "tables/fid.tex": fid_table(summary)}
    macros = [] if summary is None else [line for c in summary.itertuples() for line in fid_macros(c, summary)]
    return outputs, macros


FID_METRICS = ("fid", "kid_mean", "precision", "recall")


def collect_fid(fid_files, runs):
    """One row per run from the fid files, each of one of the Parzen `runs` under its config; None when FID was off."""
    rows = []
    for record in read_runs(fid_files, "FID", runs).values():
        rows.append({key: record.get(key) for key in (
            "model", "dataset", "seed", "status", *FID_METRICS, "kid_std", "f_score", "n_generated", "n_real",
            "batch_size", "run_config_hash", "note")})
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed"]).reset_index(drop=True) if rows else None


def collect_fid_curves(files, runs):
    """One row per (run, checkpoint) from the fid-curve files, each of one of the Parzen `runs` under its config; None
    when FID per checkpoint was off."""
    rows = []
    for record in read_runs(files, "fid_curve.json", runs).values():
        for point in record["points"]:
            rows.append({"model": record["model"], "dataset": record["dataset"], "seed": record["seed"],
                         "status": record["status"], "epoch": point["epoch"], "source": point["source"],
                         **{k: point[k] for k in FID_METRICS}})
    if not rows:
        return None
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed", "epoch"]).reset_index(drop=True)


def best_over_checkpoints(curves, fid_runs):
    """Per trained run: its lowest FID over all scored checkpoints. A run that kept no snapshots (its budget
    ended before the first) has no curve file: its best is its final FID."""
    done = curves[curves["status"] == Status.COMPLETED]
    best = done.loc[done.groupby(["model", "dataset", "seed"])["fid"].idxmin()]
    best = best[["model", "dataset", "seed", "fid"]].rename(columns={"fid": "best_fid"})
    final = fid_runs[fid_runs["status"] == Status.COMPLETED][["model", "dataset", "seed", "fid"]]
    merged = final.merge(best, on=["model", "dataset", "seed"], how="left")
    merged["best_fid"] = merged["best_fid"].fillna(merged["fid"])
    return merged


def summarise_fid(fid_runs, allow_mixed=False, curves=None):
    """Per (model, dataset): FID/KID/PR mean and std over the trained seeds; FID's median and all-seeds mean over every
    scored seed (collapsed included), labelled as such."""
    best = None if curves is None else best_over_checkpoints(curves, fid_runs)
    out = []
    for (model, dataset), cell in fid_runs.groupby(["model", "dataset"], sort=True):
        if cell["run_config_hash"].nunique() > 1 and not allow_mixed:
            raise GanStudyError(f"{model}/{dataset} mixes FID results of different configs; pass --allow-mixed-configs")
        done = cell[cell["status"] == Status.COMPLETED]
        scored = cell[cell["status"].isin(SCORED)]
        row = {"model": model, "dataset": dataset, **outcome_counts(cell),
               "n_generated": int(scored["n_generated"].iloc[0]) if len(scored) else None,
               "n_real": int(scored["n_real"].iloc[0]) if len(scored) else None}
        for metric in FID_METRICS:
            values = done[metric].dropna().astype(float)
            row[f"{metric}_mean"] = values.mean() if len(values) else math.nan
            row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
        every = scored["fid"].dropna().astype(float)
        row["fid_all_mean"] = every.mean() if len(every) else math.nan
        row["fid_all_median"] = every.median() if len(every) else math.nan
        if best is not None:
            cell_best = best[(best["model"] == model) & (best["dataset"] == dataset)]["best_fid"].astype(float)
            row["fid_best_mean"] = cell_best.mean() if len(cell_best) else math.nan
            row["fid_best_std"] = cell_best.std(ddof=1) if len(cell_best) > 1 else math.nan
        out.append(row)
    return pd.DataFrame(out)


def fid_table(fid_summary):
    if fid_summary is None:
        return "FID/KID/precision--recall were not computed in this study (\\texttt{fid.enabled: false}).\n"
    from ..models import variant_class

    rows = []
    failures = bool((fid_summary["trained"] < fid_summary["runs"]).any())
    for c in fid_summary.itertuples():
        variant = variant_class(c.model)
        ref = lucic_fid(variant.loss_family, c.dataset)
        rows.append({
            "Model": latex.escape(variant.title),
            "Dataset": latex.escape(DATASETS[c.dataset].title),
            "FID": latex.num_pm(c.fid_mean, c.fid_std),
            **({"FID, all seeds: median": latex.fmt(c.fid_all_median)} if failures else {}),
            **({"Best FID (ckpts)": latex.num_pm(c.fid_best_mean, c.fid_best_std)} if "fid_best_mean" in fid_summary
               else {}),
            "KID": latex.num_pm(c.kid_mean_mean, c.kid_mean_std, digits=4),
            "Precision": latex.fmt(c.precision_mean, 2),
            "Recall": latex.fmt(c.recall_mean, 2),
            "Images": f"{int(c.n_generated):,}/{int(c.n_real):,}" if pd.notna(c.n_generated) else "---",
            "Seeds": f"{c.trained}/{c.runs}",
            "Lucic et al.": "---" if ref is None else f"{latex.quoted_pm(*ref)} ({latex.escape(variant.loss_family)})",
        })
    best = "fid_best_mean" in fid_summary
    # The notes below are paragraphs, so only the tabular itself is shrunk to the text width when too wide.
    table = ("\\begin{adjustbox}{max width=\\linewidth}\n" + latex.tabular(pd.DataFrame(rows), "ll" + "r" * (len(rows[0]) - 3) + "l")
             + "\\end{adjustbox}\n")
    table += ("\\par\\smallskip\\emph{FID, KID, precision and recall: mean ($\\pm$ std) over the trained seeds; Seeds: "
              "trained of run" + ("; FID, all seeds: the median over every scored seed, failed ones included"
                                  if failures else "") + ".}\n")
    if best:
        table += ("\\par\\smallskip\\emph{FID is that of the final weights. Best FID (ckpts): each run's lowest FID over "
                  "the generator snapshots kept every few epochs and its final weights, as Lucic et al. report; it is "
                  "selected on the test set, so it is optimistic.}\n")
    notes = {variant_class(m).comparison_note for m in fid_summary["model"]} - {None}
    for note in sorted(notes):
        table += f"\\par\\smallskip\\emph{{{latex.escape(note)}}}\n"
    smallest = fid_summary["n_generated"].min()
    if pd.notna(smallest) and smallest < 10_000:
        table += (f"\\par\\smallskip\\emph{{Computed on as few as {int(smallest):,} generated images: "
                  + ("the 2048-d covariance is rank-deficient, so these FIDs are smoke-test numbers, " if smallest < 2048 else "")
                  + "not comparable with Lucic et al.'s 10,000-image protocol.}\n")
    return table



def fid_macros(c, fid_summary):
    stem = f"gsFid{latex.camel(c.model)}{latex.camel(c.dataset)}"
    lines = [latex.macro(stem + "Mean", latex.fmt(c.fid_mean, 2)), latex.macro(stem + "Std", latex.fmt(c.fid_std, 2)),
             latex.macro(stem + "AllMedian", latex.fmt(c.fid_all_median, 2)),
             latex.macro(stem + "AllMean", latex.fmt(c.fid_all_mean, 2)),
             latex.macro(stem + "Trained", c.trained), latex.macro(stem + "Runs", c.runs),
             latex.macro(stem + "Images", "n/a" if pd.isna(c.n_generated) else int(c.n_generated))]
    if "fid_best_mean" in fid_summary:
        lines.append(latex.macro(stem + "BestMean", latex.fmt(c.fid_best_mean, 2)))
    return lines



def methods_paragraph(config):
    from ..models import variant_class

    f = config["fid"]
    return (
            r"\paragraph{FID, KID, precision and recall.} Computed by torch-fidelity's \texttt{calculate\_metrics} "
            rf"on {f['n_samples']:,} generated images against the first {f['n_real']:,} test images, as uint8 RGB "
            rf"(grayscale copied to three channels), with Inception pool features (batch size {f['batch_size']}); "
            rf"KID with {f['kid_subsets']} subsets of {f['kid_subset_size']:,}; precision and recall "
            + ("on the same Inception features (3 nearest neighbours)." if f["prc"] else "not computed.")
            + " Generators with a tanh output are mapped back to $[0,1]$ before any metric."
            + (" A conditional model's generated images are a tenth per class (as are its Parzen centres)."
               if any(variant_class(run["model"]).conditional for run in config["runs"]) else "")
            + r" Differences from the TensorFlow pipeline of \citet{lucic2018gans}: features come from torch-fidelity's "
            r"PyTorch port of the same 2015 Inception graph (it reproduces TensorFlow~1's bilinear resize to "
            r"$299\times299$), images are quantised to 8 bits before the network, and the models and their "
            r"hyper-parameters are ours, not the result of their large-scale search."
            + (r" FID per checkpoint: a generator snapshot is kept "
               rf"{latex.every(config['snapshots']['every_n_epochs'], 'epoch')} and scored exactly like the final "
               r"weights; the table's best-over-checkpoints FID is each run's minimum over them and its final weights "
               r"(selected on the test set, hence optimistic)."
               if f["per_snapshot"] and config["snapshots"]["every_n_epochs"] else "")
    )
