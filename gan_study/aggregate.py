"""Collect per-run metrics into tables: per-seed CSV, per-cell summary, Table 1 and LaTeX macros."""

import json
import math
from pathlib import Path

import pandas as pd

from . import latex
from .atomic import write_csv, write_json, write_text
from .datasets import REGISTRY as DATASETS
from .errors import GanStudyError
from .identity import read_record
from .models import get_variant, variant_class
from .metrics import enabled_metrics, metrics, resolve
from .reference import parzen_table1
from .paired import compare, paired_macros, paired_table
from .outcome import (assess_collapse, collapse_epoch, describe_rule, failure_rate, outcome_counts, read_log,
                      run_status)
from .run_table import in_order_of_appearance, read_runs, unique_runs, with_run_status
from .status import SCORED, Status
from .commands import arg, command


def _assessment(train, log_path, rule):
    """The collapse verdict of one run: from its training log under the study's rule when the log is given (so a
    changed rule applies to committed runs without retraining), else as training recorded it."""
    if log_path is None:
        return train.get("collapse") or {"assessed": False, "reason": "no training log given, none recorded"}
    log = read_log(log_path)
    last = train.get("final_log_row")
    if last is not None and (log.empty or int(log["step"].iloc[-1]) != int(last["step"])):
        raise GanStudyError(f"training log {log_path} does not end at step {last['step']} as its run's train.json "
                            "says; pass each run's train_log.csv in the order of --train")
    return assess_collapse(log, rule)


def collect_runs(parzen_files, train_files, rule, log_files=()):
    """One row per run: Parzen result, training outcome (completed, collapsed or diverged) and provenance."""
    if log_files and len(log_files) != len(train_files):
        raise GanStudyError(f"{len(log_files)} training logs for {len(train_files)} train.json files; pass one per run")
    train_records = [read_record(path) for path in train_files]
    for record, log_path in zip(train_records, log_files or [None] * len(train_records)):
        record["_assessment"] = _assessment(record, log_path, rule)
    trains = unique_runs(train_records, "train.json")
    rows = []
    for key, record in read_runs(parzen_files, "parzen.json").items():
        if key not in trains:
            raise GanStudyError(f"no train.json for {key}; pass every run's train summary to aggregate")
        t = trains[key]
        if t.get("run_config_hash") not in (None, record.get("run_config_hash")):
            raise GanStudyError(f"the Parzen result of {'/'.join(map(str, key))} was scored for run config "
                                f"{record.get('run_config_hash')}, but its train.json was trained under "
                                f"{t['run_config_hash']}; re-run its sample and parzen steps")
        rows.append(_run_row(key, t, record))
    missing = sorted(set(trains) - {(r["model"], r["dataset"], r["seed"]) for r in rows})
    if missing:
        raise GanStudyError(f"no parzen.json for {', '.join('/'.join(map(str, k)) for k in missing)}; pass every "
                            "run's Parzen result (a run left out would vanish from the counts)")
    return pd.DataFrame(rows).sort_values(["model", "dataset", "seed"]).reset_index(drop=True)


def _run_row(key, t, record):
    """The runs table's row of one run: its training summary `t` and its Parzen `record`."""
    assessment, prov = t["_assessment"], record["provenance"]
    # The code that trained the run: its first attempt's commit; dirty if any attempt ran from a dirty tree.
    attempts = t.get("trained_by") or [t["provenance"]]
    return {
        "model": key[0], "dataset": key[1], "seed": key[2],
        "status": run_status(t["status"], assessment),
        "trained_status": t["status"],
        "collapsed_first_epoch": collapse_epoch(assessment, "first_epoch"),
        "collapsed_from_epoch": collapse_epoch(assessment),
        "collapse_assessed": bool(assessment.get("assessed")),
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
        "trained_together": " ".join(map(str, t.get("batched_seeds") or [])),  # a stack's seeds share its wall time
        "parzen_wall_s": record["wall_time_s"],
        "started": t["provenance"]["started"],
        "finished": prov["finished"],
    }


def collect_parzen_curves(files, runs):
    """One row per (run, scored checkpoint) from the parzen-curve files, each of one of the Parzen `runs` under its
    config (a stale curve would choose Table 1's checkpoint); None when none were made."""
    rows = []
    for record in read_runs(files, "parzen_curve.json", runs).values():
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


def seed_stats(values, prefix):
    """Mean, seed std, median, min and max of per-seed values, under `prefix`."""
    values = values.dropna().astype(float)
    n = len(values)
    return {f"{prefix}mean": values.mean() if n else math.nan,
            f"{prefix}seed_std": values.std(ddof=1) if n > 1 else math.nan,
            f"{prefix}median": values.median() if n else math.nan,
            f"{prefix}min": values.min() if n else math.nan, f"{prefix}max": values.max() if n else math.nan}


def failure_note(cell):
    """The failed seeds of one cell, named: "seed 1 collapsed at epoch 6", "seed 3 diverged at step 1,200"."""
    notes = []
    for run in cell.sort_values("seed").itertuples():
        if run.status == Status.COLLAPSED:
            notes.append(f"seed {run.seed} collapsed: its discriminator separated real from generated images from "
                         f"epoch {int(run.collapsed_first_epoch)}, for good from epoch {int(run.collapsed_from_epoch)}"
                         if pd.notna(run.collapsed_from_epoch) else f"seed {run.seed} collapsed")
        elif run.status == Status.DIVERGED:
            notes.append(f"seed {run.seed} diverged" + (f" at step {int(run.diverged_at_step):,}"
                                                        if pd.notna(run.diverged_at_step) else ""))
    return "; ".join(notes)


def summarise(runs, allow_mixed=False):
    """Per (model, dataset): what happened to every seed, and the Parzen numbers over the trained seeds (mean ±
    s.e. over test examples, the paper's convention, and the std over seeds) and over all scored seeds (median,
    range, and the all-seeds mean as its own column). Collapsed seeds are scored but never in the trained mean."""
    out = []
    for (model, dataset), cell in runs.groupby(["model", "dataset"], sort=True):
        hashes = sorted(cell["run_config_hash"].unique())
        if len(hashes) > 1 and not allow_mixed:
            raise GanStudyError(
                f"{model}/{dataset} mixes runs made with different configs ({', '.join(hashes)}); "
                f"re-run them with one config or pass --allow-mixed-configs"
            )
        done = cell[cell["status"] == Status.COMPLETED]
        scored = cell[cell["status"].isin(SCORED)]
        trained = seed_stats(done["test_mean_ll"], "parzen_")
        counts = outcome_counts(cell)
        out.append({
            "model": model, "dataset": dataset, **counts, **failure_rate(counts), "failures": failure_note(cell),
            **trained, "parzen_mean_se": done["test_se"].astype(float).mean() if len(done) else math.nan,
            **{k.replace("parzen_", "parzen_all_"): v for k, v in seed_stats(scored["test_mean_ll"], "parzen_").items()},
            "parzen_all_se": scored["test_se"].astype(float).mean() if len(scored) else math.nan,
            "n_centres": int(scored["n_centres"].iloc[0]) if len(scored) else None,
            "n_test": int(scored["n_test"].iloc[0]) if len(scored) else None,
            "epochs": int(cell["epochs"].max()),
            "selected_mean": done["selected_test_mean_ll"].astype(float).mean() if len(done) else math.nan,
            "selected_mean_se": done["selected_test_se"].astype(float).mean() if len(done) else math.nan,
            "selected_seed_std": done["selected_test_mean_ll"].astype(float).std(ddof=1) if len(done) > 1 else math.nan,
            "selected_epochs": " ".join(str(int(e)) for e in done["selected_epoch"]),
            "run_config_hashes": " ".join(hashes),
            # False for critics (WGAN): their scores are not probabilities, so only divergence counts as failure
            "collapse_judged": bool(cell["collapse_assessed"].all()),
        })
    return pd.DataFrame(out)


def _num(value):
    """A number for a table cell, typeset by siunitx (a true minus sign)."""
    return latex.num_pm(value, None)


def _epochs_label(selected_epochs):
    """'epoch 250' when every trained seed's chosen checkpoint is the same epoch, else 'epochs 40, 250, …'."""
    epochs = str(selected_epochs).split()
    if not epochs:
        return "no trained seed"
    return f"epoch {epochs[0]}" if len(set(epochs)) == 1 else f"epochs {', '.join(epochs)}"


def _seeds_cell(cell):
    failed = cell.runs - cell.trained
    return f"{cell.trained}/{cell.runs}" + (f" ({failed} failed)" if failed else "")


def table1(summary):
    """Table 1 of the paper with our measured rows below its rows (MNIST and TFD columns). Our numbers are over the
    trained seeds; a cell with failed seeds gets a labelled all-seeds row below (median, range, all-seeds mean)."""
    rows = []
    for model, cells in parzen_table1():
        rows.append({"Model": latex.escape(model),
                     "MNIST": latex.quoted_pm(*cells.get("mnist", (None, None))),
                     "TFD": latex.quoted_pm(*cells.get("tfd", (None, None))),
                     "Seed std": "---", "Seeds": "---"})
    rows.append({"Model": "\\midrule", "MNIST": "", "TFD": "", "Seed std": "", "Seeds": ""})
    mnist = summary[summary["dataset"] == "mnist"]
    if mnist.empty:  # else a reader looks for this study's rows in vain
        rows.append({"Model": r"\multicolumn{5}{l}{\emph{This study trains no model on MNIST: its cells are in "
                              r"Table~\ref{tab:parzen_all}.}}", "MNIST": "", "TFD": "", "Seed std": "", "Seeds": ""})
    for cell in mnist.itertuples():
        variant = variant_class(cell.model)
        final = {"Model": latex.escape(f"{variant.title}, this study, final (epoch {cell.epochs})"),
                 "MNIST": latex.num_pm(cell.parzen_mean, cell.parzen_mean_se), "TFD": "---",
                 "Seed std": latex.fmt(cell.parzen_seed_std), "Seeds": _seeds_cell(cell)}
        chosen = {"Model": latex.escape(f"{variant.title}, this study, chosen on validation "
                                        f"({_epochs_label(cell.selected_epochs)})"),
                  "MNIST": latex.num_pm(cell.selected_mean, cell.selected_mean_se), "TFD": "---",
                  "Seed std": latex.fmt(cell.selected_seed_std), "Seeds": _seeds_cell(cell)}
        # The paper's own checkpoint rule comes first: the cGAN paper stopped on validation log-likelihood.
        rows += [chosen, final] if variant.table1_checkpoint == "validation" else [final, chosen]
        if cell.trained < cell.runs:
            rows.append({"Model": r"\quad " + latex.escape(f"all {cell.runs} seeds, final: median (range)"),
                         "MNIST": f"{_num(cell.parzen_all_median)} ({_num(cell.parzen_all_min)} to "
                                  f"{_num(cell.parzen_all_max)})",
                         "TFD": "---", "Seed std": latex.fmt(cell.parzen_all_seed_std),
                         "Seeds": f"mean {_num(cell.parzen_all_mean)}"})
    return latex.tabular(pd.DataFrame(rows), "lllrl")


def paper_budgets():
    """Epochs per model in the paper protocol (workflows/config/config.yaml, which the paper profile keeps)."""
    from .config import DEFAULT_CONFIG, read_mapping

    return {model: cfg["epochs"] for model, cfg in read_mapping(DEFAULT_CONFIG)["models"].items()}


def _mean_by_epoch(summary_cell, curves):
    """Mean over the trained seeds of the test log-likelihood per scored epoch (only epochs every trained seed
    reached, so the mean is over the same seeds throughout); the final number alone when no curve was kept."""
    cell = summary_cell
    points = None if curves is None else curves[(curves["model"] == cell.model) & (curves["dataset"] == cell.dataset)
                                                & (curves["status"] == Status.COMPLETED)]
    if points is None or points.empty:
        return pd.Series([cell.parzen_mean], index=[cell.epochs])
    by_epoch = points.groupby("epoch")["test_mean_ll"].agg(["mean", "count"])
    return by_epoch[by_epoch["count"] == by_epoch["count"].max()]["mean"]


def budget_sentence(cell, config, images):
    """What the study's budget means for a schedule that decays: the share of its total step size spent by the last
    epoch, and at the longer budgets a reader may ask about."""
    variant = get_variant(cell.model, config["models"][cell.model])
    per_epoch = images // config["models"][cell.model]["batch_size"]
    spent = variant.schedule_spent(cell.epochs * per_epoch)
    if spent is None:
        return ""
    longer = [e for e in (1000, 2000) if e > cell.epochs]
    return (f" At epoch {cell.epochs} the learning-rate schedule has spent {spent:.0%} of its total step size"
            + (" (" + ", ".join(f"{variant.schedule_spent(e * per_epoch):.0%} at {e:,} epochs" for e in longer) + ")"
               if longer else "") + ".")


def _cell_title(cell):
    return f"{variant_class(cell.model).title} on {DATASETS[cell.dataset].title}"


def _seed_outcomes(cell):
    """'4 of 5 seeds trained (seed 1 collapsed: …), a failure rate of 20% (95% Wilson interval 4% to 62%)'."""
    unjudged = ("; divergence only: the collapse rule needs a discriminator's probabilities, and a critic outputs "
                "scores" if not cell.collapse_judged else "")
    failures = cell.failures if isinstance(cell.failures, str) else ""  # read back from a CSV, none is NaN
    return (f"{cell.trained} of {cell.runs} seeds trained" + (f" ({failures})" if failures else "")
            + f", a failure rate of {cell.failure_rate:.0%} (95% Wilson interval {cell.failure_low:.0%} to "
            f"{cell.failure_high:.0%}{unjudged})")


def cell_outcome(cell):
    """A cell's sentence for the discussion: its verdict against its paper's number when it has one, else how its
    seeds ended and what the trained ones score (no number of a paper to set beside it)."""
    if isinstance(cell.verdict, str):
        return cell.verdict
    if cell.trained == 0:
        return f"{_cell_title(cell)}: {_seed_outcomes(cell)}."
    number = latex.text_number
    spread = "" if math.isnan(cell.parzen_seed_std) else f" (seed std {cell.parzen_seed_std:.1f})"
    return (f"{_cell_title(cell)}: {_seed_outcomes(cell)}; over the trained seeds {number(cell.parzen_mean)} ± "
            f"{cell.parzen_mean_se:.1f} nats after {cell.epochs} epochs{spread}, {number(cell.selected_mean)} ± "
            f"{cell.selected_mean_se:.1f} at the checkpoint chosen on validation ({_epochs_label(cell.selected_epochs)}"
            "); no published Parzen number to set beside it.")


def replication_verdict(summary, curves, budgets, config, runs):
    """One paragraph per published (model, dataset) cell, computed: how many seeds trained and which failed; over the
    trained seeds, the first epoch at which their mean test log-likelihood enters the paper's interval (mean −
    s.e.), and the difference at the paper profile's budget (per model in `budgets`) or at the study's last epoch;
    what the budget means for the learning-rate schedule."""
    published = dict(parzen_table1())
    sentences = {}
    for cell in summary.itertuples():
        ref = published.get(variant_class(cell.model).published_row, {}).get(cell.dataset)
        if ref is None:
            continue
        mean, se = ref
        title, seeds = _cell_title(cell), _seed_outcomes(cell)
        if cell.trained == 0:
            sentences[(cell.model, cell.dataset)] = f"{title}: {seeds}; no trained seed to compare with the paper."
            continue
        by_epoch = _mean_by_epoch(cell, curves)
        inside = by_epoch[(by_epoch >= mean - se)]
        reach = (f"their mean first reaches the paper's {mean} ± {se} nats at epoch {int(inside.index[0])}"
                 if len(inside) else
                 f"their mean does not reach the paper's {mean} ± {se} nats within {int(by_epoch.index.max())} epochs")
        last, paper_budget = int(by_epoch.index.max()), budgets[cell.model]
        at = paper_budget if paper_budget in by_epoch.index else last
        gap = by_epoch.loc[at] - mean
        where = (f"at the paper profile's budget of {at} epochs" if at == paper_budget else
                 f"at this study's last epoch ({at}; the paper profile trains {paper_budget})")
        number = latex.text_number
        all_seeds = (f" Over all {cell.runs} seeds the final log-likelihood has median "
                     f"{number(cell.parzen_all_median)} (range {number(cell.parzen_all_min)} to "
                     f"{number(cell.parzen_all_max)}; all-seeds mean {number(cell.parzen_all_mean)})."
                     if cell.trained < cell.runs and not math.isnan(cell.parzen_all_mean) else "")
        images = int(runs[(runs["model"] == cell.model) & (runs["dataset"] == cell.dataset)]["train_images"].iloc[0])
        sentences[(cell.model, cell.dataset)] = (
            f"{title}: {seeds}; over the trained seeds {reach}; {where} it is {number(by_epoch.loc[at])} nats, "
            f"{abs(gap):.1f} nats {'below' if gap < 0 else 'above'} the paper (test images).{all_seeds}"
            + budget_sentence(cell, config, images))
    return sentences


BASELINES = (("true_data", "True data (Theis et al.)"), ("kmeans", "k-means centroids (Theis et al.)"))


def collect_baselines(files):
    """The Theis et al. baselines' rows, one file per dataset (a second would define its macros twice)."""
    rows, seen = [], set()
    for path in files:
        record = read_record(path, "parzen-baselines file", ("dataset", *dict(BASELINES)))
        if record["dataset"] in seen:
            raise GanStudyError(f"two parzen-baselines files for {record['dataset']} (the second: {path}); pass one per "
                                "dataset")
        seen.add(record["dataset"])
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
        "Trained seeds (s.e.)": latex.num_pm(c.parzen_mean, c.parzen_mean_se),
        "Seed std": latex.fmt(c.parzen_seed_std),
        "All seeds: median (range)": f"{_num(c.parzen_all_median)} ({_num(c.parzen_all_min)} to {_num(c.parzen_all_max)})",
        "Trained/coll./div.": f"{c.trained}/{c.collapsed if c.collapse_judged else '---'}/{c.diverged} of {c.runs}",
    } for c in summary.itertuples()]
    if baselines is not None:
        rows.append({"Model": "\\midrule", **{k: "" for k in rows[0] if k != "Model"}})
        rows += [{
            "Model": latex.escape(b.title), "Dataset": latex.escape(DATASETS[b.dataset].title),
            "Trained seeds (s.e.)": latex.num_pm(b.test_mean_ll, b.test_se), "Seed std": "---",
            "All seeds: median (range)": "---", "Trained/coll./div.": "---",
        } for b in baselines.itertuples()]
    return latex.tabular(pd.DataFrame(rows), "llrrrr")


def _cell_macros(c):
    """The macros of one (model, dataset) cell's Parzen numbers and seed outcomes."""
    stem = f"gsParzen{latex.camel(c.model)}{latex.camel(c.dataset)}"
    values = {
        "SelectedMean": latex.fmt(c.selected_mean), "SelectedSE": latex.fmt(c.selected_mean_se),
        "SelectedEpochs": latex.escape(c.selected_epochs.replace(" ", ", ")), "Epochs": c.epochs,
        "Mean": latex.fmt(c.parzen_mean), "SE": latex.fmt(c.parzen_mean_se), "SeedStd": latex.fmt(c.parzen_seed_std),
        "Trained": c.trained, "Collapsed": c.collapsed, "Diverged": c.diverged, "Runs": c.runs,
        "FailureRate": latex.escape(f"{c.failure_rate:.0%}"), "FailureLow": latex.escape(f"{c.failure_low:.0%}"),
        "FailureHigh": latex.escape(f"{c.failure_high:.0%}"),
        "AllMean": latex.fmt(c.parzen_all_mean), "AllSE": latex.fmt(c.parzen_all_se),
        "AllSeedStd": latex.fmt(c.parzen_all_seed_std), "AllMedian": latex.fmt(c.parzen_all_median),
        "AllMin": latex.fmt(c.parzen_all_min), "AllMax": latex.fmt(c.parzen_all_max),
        "Failures": latex.escape(c.failures or "none"),
    }
    if isinstance(c.verdict, str):
        values["Verdict"] = latex.escape(c.verdict)
    return [latex.macro(stem + name, value) for name, value in values.items()]


def _commit_macros(runs):
    """Every commit that trained a run (\\gsGitCommit names the first): a study trained in parts has several."""
    commits = in_order_of_appearance(commit[:10] for commit in runs["git_commit"])
    return [latex.macro("gsGitCommits", latex.escape(", ".join(commits))),
            latex.macro("gsGitCommitCount", len(commits))]


def cells_in_words(summary):
    """The study's cells for a sentence, models that share their datasets together: "DCGAN, WGAN (clipping) and
    WGAN-GP on MNIST"; "MLP GAN (2014) on MNIST and Fashion-MNIST; Conditional GAN on MNIST"."""
    datasets_of = {}
    for c in summary.itertuples():
        datasets_of.setdefault(c.model, []).append(DATASETS[c.dataset].title)
    models_on = {}
    for model, datasets in datasets_of.items():
        models_on.setdefault(tuple(datasets), []).append(variant_class(model).title)
    return "; ".join(f"{latex.and_list(models)} on {latex.and_list(datasets)}"
                     for datasets, models in models_on.items())


def macros(config, summary, runs, more_macros=(), baselines=None):
    lines = [
        "% Generated by `python -m gan_study aggregate` from this study's metrics files; do not edit.",
        latex.macro("gsStudy", latex.escape(config["study"])),
        latex.macro("gsSeeds", len(config["seeds"])),
        latex.macro("gsCells", latex.escape(cells_in_words(summary))),
        latex.macro("gsGitCommit", latex.escape(runs["git_commit"].iloc[0][:10])),
        *_commit_macros(runs),
        latex.macro("gsCollapseRule", latex.escape(describe_rule(config["collapse"]))),
    ]
    paper = dict(parzen_table1())["Adversarial nets"]
    for dataset, (mean, se) in paper.items():
        stem = f"gsPaperParzen{latex.camel(dataset)}"
        lines += [latex.macro(stem + "Mean", mean), latex.macro(stem + "SE", se)]
    for c in summary.itertuples():
        lines += _cell_macros(c)
    others = [cell_outcome(c) for c in summary.itertuples() if (c.model, c.dataset) != ("mlp_gan", "mnist")]
    if others:  # Table 1's cell has its own paragraph in the report
        lines.append(latex.macro("gsOtherCellOutcomes", latex.escape(" ".join(others))))
    lines += more_macros  # each metric's, and the seed-by-seed comparison's
    for b in [] if baselines is None else baselines.itertuples():
        lines.append(latex.macro(f"gsParzenBaseline{latex.camel(b.baseline)}{latex.camel(b.dataset)}",
                                 latex.fmt(b.test_mean_ll)))
    return "\n".join(lines) + "\n"


def provenance_table(runs):
    """Each run's code, config, device and training time; a stack's seeds are marked: its time is theirs together."""
    together = runs["trained_together"]  # "0 1 2 3 4" for the seeds of one batched model, "" for a lone run
    rows = [{
        "Run": latex.escape(f"{r.model}/{r.dataset}/{r.seed}"),
        "Status": r.status,
        "Commit": latex.escape(r.git_commit[:10] + ("+dirty" if r.git_dirty else "")),
        "Config": r.run_config_hash,
        "Device": latex.escape(r.device),
        "torch": latex.escape(r.torch),
        "Train (s)": latex.fmt(r.train_wall_s) + ("$^*$" if seeds else ""),
    } for r, seeds in zip(runs.itertuples(), together)]
    table = latex.tabular(pd.DataFrame(rows), "lllllll")
    for model, dataset, seeds in sorted({(r.model, r.dataset, seeds) for r, seeds in zip(runs.itertuples(), together)
                                         if seeds}):
        table += (f"\\par\\smallskip $^*$Seeds {', '.join(seeds.split())} of {latex.escape(f'{model}/{dataset}')} "
                  "trained together as one batched model: the time is the stack's, for all of them together.\n")
    for packages in sorted(runs["packages"].unique()):
        versions = ", ".join(f"{name} {version}" for name, version in json.loads(packages).items() if version)
        table += f"\\par\\smallskip Package versions: {latex.escape(versions)}.\n"
    return table


def aggregate(config, parzen_files, train_files, out_dir, allow_mixed=False, baseline_files=(), train_log_files=(),
              paired_dirs=(), **metric_files):
    """Every table, CSV and macro of a study from its per-run files: `parzen_files`, `train_files` (and their
    `train_log_files`), and `<metric>_files` for each other registered metric (fid_files, parzen_curve_files, …);
    with `paired_dirs` (config report.paired_with), its seed-by-seed comparison with those committed studies.
    Everything is read, checked and computed before the first file is written, so a refused input leaves the previous
    outputs as they were."""
    out_dir = Path(out_dir)
    files = _files_by_metric(parzen_files, metric_files)
    runs = collect_runs(parzen_files, train_files, config["collapse"], train_log_files)
    curves = with_run_status(collect_parzen_curves(files["parzen_curve"], runs), runs)
    runs = add_selected(runs, curves)
    summary = summarise(runs, allow_mixed)
    verdicts = replication_verdict(summary, curves, paper_budgets(), config, runs)
    summary["verdict"] = [verdicts.get((m, d)) for m, d in zip(summary["model"], summary["dataset"])]
    baselines = collect_baselines(baseline_files)
    outputs, more_macros = {}, []
    for metric in (m for m in metrics() if m.summary):
        tables, lines = resolve(metric.summary)(config, files, runs, allow_mixed)
        outputs.update(tables)
        more_macros += lines
    if paired_dirs:
        paired_seeds, paired_summary = compare(config, runs, paired_dirs)
        more_macros += paired_macros(paired_summary)
        outputs.update({"paired_seeds.csv": paired_seeds, "paired_summary.csv": paired_summary,
                        "tables/paired.tex": paired_table(paired_summary)})
    outputs.update({
        "parzen_runs.csv": runs, "parzen_summary.csv": summary, "parzen_curves.csv": curves,
        "parzen_baselines.csv": baselines,
        "tables/table1.tex": table1(summary), "tables/parzen_all.tex": parzen_all_datasets(summary, baselines),
        "tables/provenance.tex": provenance_table(runs), "tables/metrics.tex": metric_floats(config),
        "macros.tex": macros(config, summary, runs, more_macros, baselines),
    })
    for name, content in outputs.items():
        if isinstance(content, pd.DataFrame):
            write_csv(out_dir / name, content)
        elif isinstance(content, str):
            write_text(out_dir / name, content)
    write_json(out_dir / "config.json", config)  # the resolved config: a results dir describes itself
    return summary


def _files_by_metric(parzen_files, metric_files):
    """{metric name: its per-run files} from aggregate's `<metric>_files` keywords; an unknown one is refused."""
    files = {m.name: list(metric_files.pop(f"{m.name}_files", ())) for m in metrics()}
    if metric_files:
        raise TypeError(f"aggregate() got files of no registered metric: {', '.join(metric_files)}")
    files["parzen"] = list(parzen_files)
    return files


def metric_floats(config):
    """The report's table float of each metric the study computed that has one, in registry order."""
    floats = []
    for table in (m.table for m in enabled_metrics(config) if m.table):
        floats.append(f"\\begin{{table}}[htbp]\n\\centering\n\\caption{{{table.caption}}}\n\\label{{{table.label}}}\n"
                      f"{table.size}\n\\input{{results/{table.file}}}\n\\end{{table}}\n")
    return "% Generated by `python -m gan_study aggregate`: the metrics' tables; do not edit.\n" + "\n".join(floats)


def _metric_options():
    """aggregate's options for the per-run files of each registered metric but Parzen (--parzen is required)."""
    return [arg(f"--{m.name.replace('_', '-')}", dest=f"{m.name}_files", nargs="*", default=[],
                help=f"{m.file} files") for m in metrics() if m.name != "parzen"]


@command("aggregate", [
    arg("--parzen", nargs="+", required=True), arg("--train", nargs="+", required=True),
    arg("--baselines", nargs="*", default=[], help="parzen-baselines JSON files"),
    arg("--train-logs", nargs="*", default=[],
        help="each run's train_log.csv, in --train order: the collapse rule (config collapse) is applied to them"),
    arg("--out-dir", required=True),
    arg("--allow-mixed-configs", action="store_true", help="aggregate runs of one cell even if their configs differ"),
    arg("--paired-with", nargs="*", default=[],
        help="results dirs of committed studies to compare with seed by seed (config report.paired_with)"),
    *_metric_options()])
def aggregate_command(config, args):
    metric_files = {f"{m.name}_files": getattr(args, f"{m.name}_files") for m in metrics() if m.name != "parzen"}
    aggregate(config, args.parzen, args.train, args.out_dir, args.allow_mixed_configs, args.baselines,
              args.train_logs, args.paired_with, **metric_files)
