"""This study against other committed studies of the same cells and seeds, seed by seed (config `report.paired_with`).

Two studies that train the same (model, dataset) with the same seed numbers and differ in a setting (the noise the
generator draws, the device, the budget) are compared seed by seed: this study's test log-likelihood minus the other's,
over the seeds that trained in both, with a 95% t interval over those seeds. Seeds spread far more than one seed's
score is uncertain, so a difference of two means over different seeds says little; a paired one removes whatever the
two runs of a seed number share (initial weights, first minibatch order). A seed that failed on either side is named
and counted, never differenced. The settings the two configs differ in are computed and printed, so the table says
what is compared. `aggregate` writes the tables, `figures` the figure.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import latex
from .atomic import read_csv
from .datasets import REGISTRY as DATASETS
from .errors import GanStudyError
from .models import variant_class
from .status import Status

# The top-level settings that change a run's numbers, beside its model section and the scoring protocols.
RUN_SETTINGS = ("device", "batch_seeds", "allow_tf32", "cuda_graphs", "torch_compile")
SEED_COLUMNS = ["model", "dataset", "other_study", "seed", "status", "other_status", "test_mean_ll",
                "other_test_mean_ll", "difference", "paired", "git_commit", "other_git_commit"]


def read_other(results_dir, own_study):
    """(config, runs) of the committed study in `results_dir`: its resolved config (migrated to today's layout) and
    its parzen_runs.csv."""
    from .config import load_config

    runs_csv, config_json = Path(results_dir) / "parzen_runs.csv", Path(results_dir) / "config.json"
    if not runs_csv.is_file() or not config_json.is_file():
        raise GanStudyError(f"report.paired_with names {results_dir}, which has no parzen_runs.csv and config.json; "
                            "name the results dir of a committed study, or remove it")
    config = load_config(base=config_json)
    if config["study"] == own_study:
        raise GanStudyError(f"report.paired_with names {results_dir}, this study's own results; name another study")
    return config, read_csv(runs_csv)


def _flat(value, prefix):
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}.{key}").items()}
    return {prefix: value}


def setting_differences(config, other, model):
    """[(key, here, there)]: the settings of `model`'s runs that differ between two resolved configs: the model's
    section, the top-level settings that change numbers, the Parzen protocol and the collapse rule."""
    def settings(c):
        flat = {key: c.get(key) for key in RUN_SETTINGS}
        flat.update(_flat(c["models"][model], f"models.{model}"))
        flat.update(_flat(c["parzen"], "parzen"))
        flat.update(_flat(c["collapse"], "collapse"))
        return flat

    here, there = settings(config), settings(other)
    return [(key, here.get(key), there.get(key)) for key in sorted(here.keys() | there.keys())
            if here.get(key) != there.get(key)]


def describe_differences(differences, study, other_study):
    """'models.mlp_gan.noise gaussian in cpu-noise, uniform in cpu-failures; …', or that nothing differs."""
    if not differences:
        return "the same settings"

    def show(value):
        return value if isinstance(value, str) else json.dumps(value)

    return "; ".join(f"{key} {show(a)} in {study}, {show(b)} in {other_study}" for key, a, b in differences)


def pair_seeds(runs, other_runs, model, dataset, other_study):
    """One row per seed number both studies ran in (model, dataset): each side's status, score and training commit,
    and the difference (here minus there) where both trained."""
    cols = ["seed", "status", "test_mean_ll", "git_commit"]
    here = runs[(runs["model"] == model) & (runs["dataset"] == dataset)][cols]
    there = other_runs[(other_runs["model"] == model) & (other_runs["dataset"] == dataset)][cols]
    seeds = here.merge(there, on="seed", suffixes=("", "_other")).sort_values("seed")
    seeds = seeds.rename(columns={"status_other": "other_status", "test_mean_ll_other": "other_test_mean_ll",
                                  "git_commit_other": "other_git_commit"})
    seeds["paired"] = (seeds["status"] == Status.COMPLETED) & (seeds["other_status"] == Status.COMPLETED)
    seeds["difference"] = (seeds["test_mean_ll"] - seeds["other_test_mean_ll"]).where(seeds["paired"])
    seeds.insert(0, "other_study", other_study)
    seeds.insert(0, "dataset", dataset)
    seeds.insert(0, "model", model)
    return seeds[SEED_COLUMNS].reset_index(drop=True)


def _failed(seeds, column):
    rows = seeds[seeds[column] != Status.COMPLETED]
    return ", ".join(f"seed {r.seed} {getattr(r, column)}" for r in rows.itertuples()) or "none"


def _commits(column):
    return " ".join(sorted({str(commit)[:7] for commit in column}))


def _commits_in_words(commits):
    """'10017a6 bc764c5' (a `_commits` column) as 'commits 10017a6, bc764c5'; one as 'commit 10017a6'."""
    names = commits.split()
    return f"{latex.plural('commit', len(names))} {', '.join(names)}"


def _failure_discordance(seeds):
    """The seeds that failed on one side only, and the exact McNemar test of the two failure rates on them (a seed
    failing on both sides or on neither says nothing about which side fails more often)."""
    from scipy import stats

    failed_here, failed_there = seeds["status"] != Status.COMPLETED, seeds["other_status"] != Status.COMPLETED
    only_here, only_there = int((failed_here & ~failed_there).sum()), int((failed_there & ~failed_here).sum())
    discordant = only_here + only_there
    p = float(stats.binomtest(only_here, discordant, 0.5).pvalue) if discordant else math.nan
    return {"failed_here_only": only_here, "failed_there_only": only_there, "failure_mcnemar_p": p}


def summarise_pair(seeds, differences, study, other_study):
    """The paired comparison of one (model, dataset) of `study` against `other_study`, from `pair_seeds`' rows."""
    from scipy import stats

    paired = seeds[seeds["paired"]]
    d = paired["difference"].to_numpy(float)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    se = sd / math.sqrt(n) if n > 1 else math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 else math.nan
    both = paired[["test_mean_ll", "other_test_mean_ll"]].to_numpy(float)
    r = float(np.corrcoef(both.T)[0, 1]) if n > 2 and both.std(axis=0).min() > 0 else math.nan  # undefined else
    row = {
        "model": seeds["model"].iloc[0], "dataset": seeds["dataset"].iloc[0], "study": study,
        "other_study": other_study, "differs_in": describe_differences(differences, study, other_study),
        "common_seeds": len(seeds), "paired_seeds": n,
        "failed": int((seeds["status"] != Status.COMPLETED).sum()),
        "other_failed": int((seeds["other_status"] != Status.COMPLETED).sum()),
        "failed_seeds": _failed(seeds, "status"), "other_failed_seeds": _failed(seeds, "other_status"),
        "mean": float(paired["test_mean_ll"].mean()) if n else math.nan,
        "other_mean": float(paired["other_test_mean_ll"].mean()) if n else math.nan,
        "mean_difference": mean, "difference_seed_std": sd, "difference_se": se,
        "difference_low": mean - half, "difference_high": mean + half,
        "higher_here": int((d > 0).sum()), "correlation": r,
        "commits": _commits(seeds["git_commit"]), "other_commits": _commits(seeds["other_git_commit"]),
        **_failure_discordance(seeds),
    }
    row["verdict"] = pair_verdict(row)
    return row


def pair_verdict(p):
    """What the paired comparison shows, in a few sentences, for the report and the summary table."""
    cell = f"{variant_class(p['model']).title} on {DATASETS[p['dataset']].title}"
    head = f"{cell}, study {p['study']} against study {p['other_study']} ({p['differs_in']})"
    failures = (f"Failed seeds (never differenced): in {p['study']} {p['failed']} of {p['common_seeds']} "
                f"({p['failed_seeds']}), in {p['other_study']} {p['other_failed']} of {p['common_seeds']} "
                f"({p['other_failed_seeds']})")
    if math.isfinite(p["failure_mcnemar_p"]):
        failures += (f"; seeds that failed on one side only: {p['failed_here_only']} in {p['study']}, "
                     f"{p['failed_there_only']} in {p['other_study']} (exact McNemar test of the two failure rates: "
                     f"p = {p['failure_mcnemar_p']:.2f})")
    failures += "."
    code = (f" Trained by the code of {_commits_in_words(p['commits'])} in {p['study']} and of "
            f"{_commits_in_words(p['other_commits'])} in {p['other_study']}."
            if p["commits"] != p["other_commits"] else "")
    if p["paired_seeds"] < 2:
        return (f"{head}: {latex.count(p['paired_seeds'], 'seed')} trained in both, too few to compare. "
                f"{failures}{code}")
    low, high = p["difference_low"], p["difference_high"]
    if low > 0 or high < 0:
        finding = f"{p['study']}'s is {'higher' if low > 0 else 'lower'}: the interval excludes zero"
    else:
        finding = "the interval holds zero: at this number of seeds the two cannot be told apart"
    number = latex.text_number
    correlation = ("" if not math.isfinite(p["correlation"])
                   else f" The paired scores correlate at r = {number(p['correlation'], '.2f')}.")
    return (f"{head}: over the {p['paired_seeds']} seeds that trained in both, the test log-likelihood of "
            f"{p['study']} minus that of {p['other_study']} is {number(p['mean_difference'], '+.1f')} nats on average "
            f"(95% t interval over seeds {number(low, '+.1f')} to {number(high, '+.1f')}; higher in {p['study']} for "
            f"{p['higher_here']} of {p['paired_seeds']} seeds); {finding}.{correlation} {failures}{code}")


def compare(config, runs, other_dirs):
    """(seeds, summary): every cell this study shares with each study of `other_dirs`, seed by seed and summarised.
    A named study that shares no (model, dataset, seed) with this one is refused."""
    seed_frames, rows = [], []
    for results_dir in other_dirs:
        other, other_runs = read_other(results_dir, config["study"])
        cells = sorted(set(zip(runs["model"], runs["dataset"])) & set(zip(other_runs["model"], other_runs["dataset"])))
        shared = [(m, d, pair_seeds(runs, other_runs, m, d, other["study"])) for m, d in cells]
        shared = [(m, d, seeds) for m, d, seeds in shared if len(seeds)]
        if not shared:
            raise GanStudyError(f"report.paired_with names {results_dir}, which ran no (model, dataset, seed) of this "
                                "study; name a study of the same cells and seeds, or remove it")
        for model, _, seeds in shared:
            seed_frames.append(seeds)
            differences = setting_differences(config, other, model)
            rows.append(summarise_pair(seeds, differences, config["study"], other["study"]))
    return pd.concat(seed_frames, ignore_index=True), pd.DataFrame(rows)


def paired_table(summary):
    """The LaTeX tabular of the paired comparisons, one row per (model, dataset, other study)."""
    rows = [{
        "Model / data": latex.escape(f"{variant_class(p.model).title} / {DATASETS[p.dataset].title}"),
        "Against": rf"\texttt{{{latex.escape(p.other_study)}}}",
        "Trained in both": f"{p.paired_seeds} of {p.common_seeds}",
        "Failed here / there": f"{p.failed} / {p.other_failed}",
        "Here": latex.fmt(p.mean), "There": latex.fmt(p.other_mean),
        "Difference": latex.num_pm(p.mean_difference, p.difference_se),
        "95\\% interval": f"{latex.fmt(p.difference_low)} to {latex.fmt(p.difference_high)}",
        "$r$": latex.fmt(p.correlation, 2),
        "Failures $p$": latex.fmt(p.failure_mcnemar_p, 2),
    } for p in summary.itertuples()]
    return latex.tabular(pd.DataFrame(rows), "llrrrrrrrr")


def paired_macros(summary):
    """`\\gsPairedVerdicts`: every paired comparison's verdict, for the report's discussion."""
    return [latex.macro("gsPairedVerdicts", latex.escape(" ".join(summary["verdict"])))]


def paired_tex(summary):
    """The report's table and figure of the paired comparisons (figures.tex includes it)."""
    differs = "; ".join(f"against \\texttt{{{latex.escape(p.other_study)}}}: {latex.escape(p.differs_in)}"
                        for p in summary.drop_duplicates(["other_study", "differs_in"]).itertuples())
    return [
        r"\providecommand{\gsHasPaired}{}",
        r"\begin{table}[htbp]\centering",
        r"\caption{This study against other committed studies of the same seeds, seed by seed (" + differs + "). "
        r"Test Parzen log-likelihood (nats) over the seeds that trained in both; Difference: here minus there, "
        r"$\pm$ its standard error over seeds; the 95\% $t$ interval over seeds; $r$: the correlation of the paired "
        r"scores. Failed seeds are counted, never differenced; Failures $p$: the exact McNemar test of the two "
        r"failure rates, on the seeds that failed on one side only (n/a: none did).}",
        r"\label{tab:paired}", r"\small",
        r"\begin{adjustbox}{max width=\linewidth}", r"\input{results/tables/paired.tex}", r"\end{adjustbox}",
        r"\end{table}",
        r"\begin{figure}[tbp]\centering", latex.includegraphics("results/figures/paired.pdf"),
        r"\caption{Seed by seed: (left) each seed's test log-likelihood here against the other study's, the diagonal "
        r"where they agree, failed seeds as red crosses at the edge; (right) the differences of the seeds that "
        r"trained in both, their mean and its 95\% $t$ interval.}",
        r"\label{fig:paired}", r"\end{figure}",
    ]
