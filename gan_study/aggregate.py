"""Collect per-run metrics into tables: per-seed CSV, per-cell summary, Table 1 and LaTeX macros."""

import json
import math
from pathlib import Path

import pandas as pd

from . import latex
from .atomic import write_csv, write_json, write_text
from .data import DATASETS
from .errors import GanStudyError
from .models import variant_class
from .reference import lucic_fid, parzen_table1
from .status import Status
from .commands import arg, command


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise GanStudyError(f"cannot read metrics file {path}: {err}; re-run the step that writes it") from None


def collect_runs(parzen_files, train_files):
    """One row per run: Parzen result, training status and provenance."""
    trains = {(t["model"], t["dataset"], t["seed"]): t for t in map(_read_json, train_files)}
    rows = []
    for record in map(_read_json, parzen_files):
        key = (record["model"], record["dataset"], record["seed"])
        if key not in trains:
            raise GanStudyError(f"no train.json for {key}; pass every run's train summary to aggregate")
        t, prov = trains[key], record["provenance"]
        # The code that trained the run: its first attempt's commit; dirty if any attempt ran from a dirty tree.
        attempts = t.get("trained_by") or [t["provenance"]]
        rows.append({
            "model": key[0], "dataset": key[1], "seed": key[2],
            "status": t["status"],
            "diverged_at_step": (t.get("diverged") or {}).get("step"),
            "test_mean_ll": record.get("test_mean_ll"),
            "test_se": record.get("test_se"),
            "sigma": record.get("sigma"),
            "n_centres": record.get("n_centres"),
            "n_test": record.get("n_test"),
            "epochs": t["epochs_completed"],
            "train_images": t["train_images"],
            "run_config_hash": record["run_config_hash"],
            "git_commit": attempts[0]["git_commit"],
            "git_dirty": any(a["git_dirty"] is not False for a in attempts),
            "eval_git_commit": prov["git_commit"],
            "eval_git_dirty": prov["git_dirty"],
            "device": t["provenance"]["device"],
            "torch": t["provenance"]["packages"].get("torch"),
            "packages": json.dumps(t["provenance"]["packages"], sort_keys=True),
            "train_wall_s": t["wall_time_s"],
            "parzen_wall_s": record["wall_time_s"],
            "started": t["provenance"]["started"],
            "finished": prov["finished"],
        })
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed"]).reset_index(drop=True)


def collect_parzen_curves(files):
    """One row per (run, scored checkpoint) from the parzen-curve files; None when none were made."""
    rows = []
    for record in map(_read_json, files):
        selected = (record.get("selected") or {}).get("epoch")
        for point in record["points"]:
            rows.append({"model": record["model"], "dataset": record["dataset"], "seed": record["seed"],
                         "status": record["status"], **point, "selected": point["epoch"] == selected})
    if not rows:
        return None
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed", "epoch"]).reset_index(drop=True)


def add_selected(runs, curves):
    """Per run, the checkpoint chosen on validation: from its curve, or its final weights when it kept no snapshots."""
    runs = runs.assign(selected_epoch=runs["epochs"], selected_test_mean_ll=runs["test_mean_ll"],
                       selected_test_se=runs["test_se"])
    if curves is None:
        return runs
    chosen = curves[curves["selected"]].set_index(["model", "dataset", "seed"])
    for i, run in runs.iterrows():
        key = (run["model"], run["dataset"], run["seed"])
        if key in chosen.index:
            point = chosen.loc[key]
            runs.loc[i, ["selected_epoch", "selected_test_mean_ll", "selected_test_se"]] = [
                point["epoch"], point["test_mean_ll"], point["test_se"]]
    return runs


def summarise(runs, allow_mixed=False):
    """Mean ± std over seeds per (model, dataset); diverged runs are counted, not averaged."""
    out = []
    for (model, dataset), cell in runs.groupby(["model", "dataset"], sort=True):
        hashes = sorted(cell["run_config_hash"].unique())
        if len(hashes) > 1 and not allow_mixed:
            raise GanStudyError(
                f"{model}/{dataset} mixes runs made with different configs ({', '.join(hashes)}); "
                f"re-run them with one config or pass --allow-mixed-configs"
            )
        done = cell[cell["status"] == Status.COMPLETED]
        ll = done["test_mean_ll"].astype(float)
        chosen = done["selected_test_mean_ll"].astype(float)
        out.append({
            "model": model, "dataset": dataset,
            "runs": len(cell), "completed": len(done), "diverged": int((cell["status"] == Status.DIVERGED).sum()),
            "parzen_mean": ll.mean() if len(done) else math.nan,
            "parzen_seed_std": ll.std(ddof=1) if len(done) > 1 else math.nan,
            "parzen_mean_se": done["test_se"].astype(float).mean() if len(done) else math.nan,
            "parzen_min": ll.min() if len(done) else math.nan,
            "parzen_max": ll.max() if len(done) else math.nan,
            "n_centres": int(done["n_centres"].iloc[0]) if len(done) else None,
            "n_test": int(done["n_test"].iloc[0]) if len(done) else None,
            "epochs": int(cell["epochs"].max()),
            "selected_mean": chosen.mean() if len(done) else math.nan,
            "selected_mean_se": done["selected_test_se"].astype(float).mean() if len(done) else math.nan,
            "selected_seed_std": chosen.std(ddof=1) if len(done) > 1 else math.nan,
            "selected_epochs": " ".join(str(int(e)) for e in done["selected_epoch"]),
            "run_config_hashes": " ".join(hashes),
        })
    return pd.DataFrame(out)


def table1(summary):
    """Table 1 of the paper with our measured rows below its rows (MNIST and TFD columns)."""
    rows = []
    for model, cells in parzen_table1():
        rows.append({"Model": latex.escape(model),
                     "MNIST": latex.quoted_pm(*cells.get("mnist", (None, None))),
                     "TFD": latex.quoted_pm(*cells.get("tfd", (None, None))),
                     "Seed std": "---", "Seeds": "---"})
    rows.append({"Model": "\\midrule", "MNIST": "", "TFD": "", "Seed std": "", "Seeds": ""})
    for cell in summary[summary["dataset"] == "mnist"].itertuples():
        variant = variant_class(cell.model)
        final = {"Model": latex.escape(f"{variant.title}, this study, final weights (epoch {cell.epochs})"),
                 "MNIST": latex.num_pm(cell.parzen_mean, cell.parzen_mean_se), "TFD": "not run (licensed data)",
                 "Seed std": latex.fmt(cell.parzen_seed_std), "Seeds": f"{cell.completed}/{cell.runs}"}
        chosen = {"Model": latex.escape(f"{variant.title}, this study, chosen on validation (epochs "
                                        f"{cell.selected_epochs.replace(' ', ', ') or '---'})"),
                  "MNIST": latex.num_pm(cell.selected_mean, cell.selected_mean_se), "TFD": "not run (licensed data)",
                  "Seed std": latex.fmt(cell.selected_seed_std), "Seeds": f"{cell.completed}/{cell.runs}"}
        # The paper's own checkpoint rule comes first: the cGAN paper stopped on validation log-likelihood.
        rows += [chosen, final] if variant.table1_checkpoint == "validation" else [final, chosen]
    frame = pd.DataFrame(rows)
    return latex.tabular(frame, "lllrr")


def paper_budgets():
    """Epochs per model in the paper protocol (workflows/config/config.yaml, which the paper profile keeps)."""
    from .config import DEFAULT_CONFIG, read_mapping

    return {model: cfg["epochs"] for model, cfg in read_mapping(DEFAULT_CONFIG)["models"].items()}


def replication_verdict(summary, curves, budgets):
    """One sentence per published (model, dataset) cell, computed: the first epoch at which the mean over seeds of
    the test log-likelihood enters the paper's interval (mean ± s.e.), and the difference at `paper_budget` epochs
    (the paper profile's budget, per model in `budgets`) or, when the study stopped earlier, at its last epoch."""
    published = dict(parzen_table1())
    sentences = {}
    for cell in summary[summary["completed"] > 0].itertuples():
        ref = published.get(variant_class(cell.model).published_row, {}).get(cell.dataset)
        if ref is None:
            continue
        mean, se = ref
        points = None if curves is None else curves[(curves["model"] == cell.model) & (curves["dataset"] == cell.dataset)
                                                    & (curves["status"] == Status.COMPLETED)]
        if points is None or points.empty:
            points = pd.DataFrame({"epoch": [cell.epochs], "test_mean_ll": [cell.parzen_mean], "seed": [0]})
        # Only epochs every completed seed reached, so the mean is over the same seeds throughout.
        by_epoch = points.groupby("epoch")["test_mean_ll"].agg(["mean", "count"])
        by_epoch = by_epoch[by_epoch["count"] == by_epoch["count"].max()]["mean"]
        inside = by_epoch[(by_epoch >= mean - se)]
        title = f"{variant_class(cell.model).title} on {DATASETS[cell.dataset].title}"
        reach = (f"the mean over seeds first reaches the paper's {mean} ± {se} nats at epoch {int(inside.index[0])}"
                 if len(inside) else
                 f"the mean over seeds does not reach the paper's {mean} ± {se} nats within {int(by_epoch.index.max())} "
                 "epochs")
        last, paper_budget = int(by_epoch.index.max()), budgets[cell.model]
        at = paper_budget if paper_budget in by_epoch.index else last
        gap = by_epoch.loc[at] - mean
        where = (f"at the paper profile's budget of {at} epochs" if at == paper_budget else
                 f"at this study's last epoch ({at}; the paper profile trains {paper_budget})")
        sentences[(cell.model, cell.dataset)] = (
            f"{title}: {reach}; {where} it is {by_epoch.loc[at]:.1f} nats, {abs(gap):.1f} nats "
            f"{'below' if gap < 0 else 'above'} the paper ({cell.completed} seed(s), test images).")
    return sentences


BASELINES = (("true_data", "True data (Theis et al.)"), ("kmeans", "k-means centroids (Theis et al.)"))


def collect_baselines(files):
    rows = []
    for record in map(_read_json, files):
        for key, title in BASELINES:
            r = record[key]
            rows.append({"baseline": key, "title": title, "dataset": record["dataset"], "test_mean_ll": r["test_mean_ll"],
                         "test_se": r["test_se"], "sigma": r["sigma"], "centres": r["centres"],
                         "n_test": r["n_test"]})
    return pd.DataFrame(rows) if rows else None


def parzen_all_datasets(summary, baselines=None):
    rows = [{
        "Model": latex.escape(variant_class(c.model).title),
        "Dataset": latex.escape(DATASETS[c.dataset].title),
        "Log-likelihood (s.e.)": latex.num_pm(c.parzen_mean, c.parzen_mean_se),
        "Seed std": latex.fmt(c.parzen_seed_std),
        "Range over seeds": f"{latex.fmt(c.parzen_min)} to {latex.fmt(c.parzen_max)}",
        "Completed": f"{c.completed}/{c.runs}",
    } for c in summary.itertuples()]
    if baselines is not None:
        rows.append({"Model": "\\midrule", **{k: "" for k in rows[0] if k != "Model"}})
        rows += [{
            "Model": latex.escape(b.title), "Dataset": latex.escape(DATASETS[b.dataset].title),
            "Log-likelihood (s.e.)": latex.num_pm(b.test_mean_ll, b.test_se), "Seed std": "---",
            "Range over seeds": "---", "Completed": "---",
        } for b in baselines.itertuples()]
    return latex.tabular(pd.DataFrame(rows), "llrrrr")


def macros(config, summary, runs, fid_summary=None, baselines=None):
    lines = [
        "% Generated by `python -m gan_study aggregate` from this study's metrics files; do not edit.",
        latex.macro("gsStudy", latex.escape(config["study"])),
        latex.macro("gsSeeds", len(config["seeds"])),
        latex.macro("gsGitCommit", latex.escape(runs["git_commit"].iloc[0][:10])),
    ]
    paper = dict(parzen_table1())["Adversarial nets"]
    for dataset, (mean, se) in paper.items():
        stem = f"gsPaperParzen{latex.camel(dataset)}"
        lines += [latex.macro(stem + "Mean", mean), latex.macro(stem + "SE", se)]
    for c in summary.itertuples():
        stem = f"gsParzen{latex.camel(c.model)}{latex.camel(c.dataset)}"
        lines += [
            latex.macro(stem + "SelectedMean", latex.fmt(c.selected_mean)),
            latex.macro(stem + "SelectedSE", latex.fmt(c.selected_mean_se)),
            latex.macro(stem + "SelectedEpochs", latex.escape(c.selected_epochs.replace(" ", ", "))),
            latex.macro(stem + "Epochs", c.epochs),
            *([latex.macro(stem + "Verdict", latex.escape(c.verdict))] if isinstance(c.verdict, str) else []),
            latex.macro(stem + "Mean", latex.fmt(c.parzen_mean)),
            latex.macro(stem + "SE", latex.fmt(c.parzen_mean_se)),
            latex.macro(stem + "SeedStd", latex.fmt(c.parzen_seed_std)),
            latex.macro(stem + "Completed", c.completed),
            latex.macro(stem + "Runs", c.runs),
        ]
    for c in [] if fid_summary is None else fid_summary.itertuples():
        stem = f"gsFid{latex.camel(c.model)}{latex.camel(c.dataset)}"
        lines += [latex.macro(stem + "Mean", latex.fmt(c.fid_mean, 2)), latex.macro(stem + "Std", latex.fmt(c.fid_std, 2)),
                  latex.macro(stem + "Images", c.n_generated)]
        if "fid_best_mean" in fid_summary:
            lines.append(latex.macro(stem + "BestMean", latex.fmt(c.fid_best_mean, 2)))
    for b in [] if baselines is None else baselines.itertuples():
        lines.append(latex.macro(f"gsParzenBaseline{latex.camel(b.baseline)}{latex.camel(b.dataset)}",
                                 latex.fmt(b.test_mean_ll)))
    return "\n".join(lines) + "\n"


def provenance_table(runs):
    rows = [{
        "Run": latex.escape(f"{r.model}/{r.dataset}/{r.seed}"),
        "Status": r.status,
        "Commit": latex.escape(r.git_commit[:10] + ("+dirty" if r.git_dirty else "")),
        "Config": r.run_config_hash,
        "Device": latex.escape(r.device),
        "torch": latex.escape(r.torch),
        "Train (s)": latex.fmt(r.train_wall_s),
    } for r in runs.itertuples()]
    table = latex.tabular(pd.DataFrame(rows), "lllllll")
    for packages in sorted(runs["packages"].unique()):
        versions = ", ".join(f"{name} {version}" for name, version in json.loads(packages).items() if version)
        table += f"\\par\\smallskip Package versions: {latex.escape(versions)}.\n"
    return table


FID_METRICS = ("fid", "kid_mean", "precision", "recall")


def collect_fid(fid_files):
    rows = []
    for record in map(_read_json, fid_files):
        rows.append({key: record.get(key) for key in (
            "model", "dataset", "seed", "status", *FID_METRICS, "kid_std", "f_score", "n_generated", "n_real",
            "batch_size", "run_config_hash", "note")})
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed"]).reset_index(drop=True) if rows else None


def collect_fid_curves(files):
    """One row per (run, checkpoint) from the fid-curve files; None when FID per checkpoint was off."""
    rows = []
    for record in map(_read_json, files):
        for point in record["points"]:
            rows.append({"model": record["model"], "dataset": record["dataset"], "seed": record["seed"],
                         "status": record["status"], "epoch": point["epoch"], "source": point["source"],
                         **{k: point[k] for k in ("fid", "kid_mean", "precision", "recall")}})
    if not rows:
        return None
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed", "epoch"]).reset_index(drop=True)


def best_over_checkpoints(curves, fid_runs):
    """Per completed run: its lowest FID over all scored checkpoints. A run that kept no snapshots (its budget
    ended before the first) has no curve file: its best is its final FID."""
    done = curves[curves["status"] == Status.COMPLETED]
    best = done.loc[done.groupby(["model", "dataset", "seed"])["fid"].idxmin()]
    best = best[["model", "dataset", "seed", "fid"]].rename(columns={"fid": "best_fid"})
    final = fid_runs[fid_runs["status"] == Status.COMPLETED][["model", "dataset", "seed", "fid"]]
    merged = final.merge(best, on=["model", "dataset", "seed"], how="left")
    merged["best_fid"] = merged["best_fid"].fillna(merged["fid"])
    return merged


def summarise_fid(fid_runs, allow_mixed=False, curves=None):
    best = None if curves is None else best_over_checkpoints(curves, fid_runs)
    out = []
    for (model, dataset), cell in fid_runs.groupby(["model", "dataset"], sort=True):
        if cell["run_config_hash"].nunique() > 1 and not allow_mixed:
            raise GanStudyError(f"{model}/{dataset} mixes FID results of different configs; pass --allow-mixed-configs")
        done = cell[cell["status"] == Status.COMPLETED]
        row = {"model": model, "dataset": dataset, "runs": len(cell), "completed": len(done),
               "n_generated": int(done["n_generated"].iloc[0]) if len(done) else None,
               "n_real": int(done["n_real"].iloc[0]) if len(done) else None}
        for metric in FID_METRICS:
            values = done[metric].dropna().astype(float)
            row[f"{metric}_mean"] = values.mean() if len(values) else math.nan
            row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
        if best is not None:
            cell_best = best[(best["model"] == model) & (best["dataset"] == dataset)]["best_fid"].astype(float)
            row["fid_best_mean"] = cell_best.mean() if len(cell_best) else math.nan
            row["fid_best_std"] = cell_best.std(ddof=1) if len(cell_best) > 1 else math.nan
        out.append(row)
    return pd.DataFrame(out)


def fid_table(fid_summary):
    if fid_summary is None:
        return "FID/KID/precision--recall were not computed in this study (\\texttt{fid.enabled: false}).\n"
    rows = []
    for c in fid_summary.itertuples():
        variant = variant_class(c.model)
        ref = lucic_fid(variant.loss_family, c.dataset)
        rows.append({
            "Model": latex.escape(variant.title),
            "Dataset": latex.escape(DATASETS[c.dataset].title),
            "FID": latex.num_pm(c.fid_mean, c.fid_std),
            **({"Best FID (ckpts)": latex.num_pm(c.fid_best_mean, c.fid_best_std)} if "fid_best_mean" in fid_summary
               else {}),
            "KID": latex.num_pm(c.kid_mean_mean, c.kid_mean_std, digits=4),
            "Precision": latex.fmt(c.precision_mean, 2),
            "Recall": latex.fmt(c.recall_mean, 2),
            "Images": f"{c.n_generated:,}/{c.n_real:,}" if c.n_generated else "---",
            "Lucic et al.": "---" if ref is None else f"{latex.quoted_pm(*ref)} ({latex.escape(variant.loss_family)})",
        })
    best = "fid_best_mean" in fid_summary
    table = latex.tabular(pd.DataFrame(rows), "llrrrrrrl" if best else "llrrrrrl")
    if best:
        table += ("\\par\\smallskip\\emph{FID is that of the final weights. Best FID (ckpts): each run's lowest FID over "
                  "the generator snapshots kept every few epochs and its final weights, as Lucic et al. report; it is "
                  "selected on the test set, so it is optimistic.}\n")
    notes = {variant_class(m).comparison_note for m in fid_summary["model"]} - {None}
    for note in sorted(notes):
        table += f"\\par\\smallskip\\emph{{{latex.escape(note)}}}\n"
    smallest = fid_summary["n_generated"].min()
    if smallest < 10_000:
        table += (f"\\par\\smallskip\\emph{{Computed on as few as {int(smallest):,} generated images: "
                  + ("the 2048-d covariance is rank-deficient, so these FIDs are smoke-test numbers, " if smallest < 2048 else "")
                  + "not comparable with Lucic et al.'s 10,000-image protocol.}\n")
    return table


def aggregate(config, parzen_files, train_files, out_dir, allow_mixed=False, fid_files=(), baseline_files=(),
              fid_curve_files=(), parzen_curve_files=()):
    out_dir = Path(out_dir)
    curves = collect_parzen_curves(parzen_curve_files)
    if curves is not None:
        write_csv(out_dir / "parzen_curves.csv", curves)
    runs = add_selected(collect_runs(parzen_files, train_files), curves)
    summary = summarise(runs, allow_mixed)
    verdicts = replication_verdict(summary, curves, paper_budgets())
    summary["verdict"] = [verdicts.get((m, d)) for m, d in zip(summary["model"], summary["dataset"])]
    write_csv(out_dir / "parzen_runs.csv", runs)
    write_csv(out_dir / "parzen_summary.csv", summary)
    write_text(out_dir / "tables" / "table1.tex", table1(summary))
    baselines = collect_baselines(baseline_files)
    if baselines is not None:
        write_csv(out_dir / "parzen_baselines.csv", baselines)
    write_text(out_dir / "tables" / "parzen_all.tex", parzen_all_datasets(summary, baselines))
    write_text(out_dir / "tables" / "provenance.tex", provenance_table(runs))
    fid_runs = collect_fid(fid_files)
    fid_curves = collect_fid_curves(fid_curve_files)
    if fid_curves is not None:
        write_csv(out_dir / "fid_curves.csv", fid_curves)
    fid_summary = None if fid_runs is None else summarise_fid(fid_runs, allow_mixed, fid_curves)
    if fid_runs is not None:
        write_csv(out_dir / "fid_runs.csv", fid_runs)
        write_csv(out_dir / "fid_summary.csv", fid_summary)
    write_text(out_dir / "tables" / "fid.tex", fid_table(fid_summary))
    write_text(out_dir / "macros.tex", macros(config, summary, runs, fid_summary, baselines))
    write_json(out_dir / "config.json", config)  # the resolved config: a results dir describes itself
    return summary


@command("aggregate", [
    arg("--parzen", nargs="+", required=True), arg("--train", nargs="+", required=True),
    arg("--fid", nargs="*", default=[]), arg("--baselines", nargs="*", default=[], help="parzen-baselines JSON files"),
    arg("--fid-curves", nargs="*", default=[], help="fid-curve JSON files (FID per checkpoint)"),
    arg("--parzen-curves", nargs="*", default=[], help="parzen-curve JSON files (Parzen per checkpoint)"),
    arg("--out-dir", required=True),
    arg("--allow-mixed-configs", action="store_true", help="aggregate runs of one cell even if their configs differ")])
def aggregate_command(config, args):
    aggregate(config, args.parzen, args.train, args.out_dir, args.allow_mixed_configs, args.fid, args.baselines,
              args.fid_curves, args.parzen_curves)
