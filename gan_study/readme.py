"""Regenerate the README's results table from the committed `results/<study>/` files (never by hand)."""

import re
from pathlib import Path

import pandas as pd

from . import latex
from .atomic import read_csv, write_text
from .datasets import REGISTRY as DATASETS
from .errors import GanStudyError
from .models import variant_class
from .reference import parzen_table1
from .run_table import in_order_of_appearance
from .commands import arg, command

START, END = "<!-- results:start -->", "<!-- results:end -->"


def snakemake_command(study):
    """The command that runs `study`: the profile that names it, else the command its study file gives, else the
    study file as the config file."""
    from .config import REPO_ROOT, STUDIES_DIR, read_mapping

    study_path = STUDIES_DIR / f"{study}.yaml"
    for profile in sorted((REPO_ROOT / "workflows" / "profiles").glob("*/config.yaml")):
        if read_mapping(profile).get("configfile") == str(study_path):
            return f"snakemake --profile {profile.parent.relative_to(REPO_ROOT)}"
    study_file = REPO_ROOT / study_path
    given = re.findall(r"^#\s+(snakemake .*--configfile " + re.escape(str(study_path)) + r")\s*$",
                       study_file.read_text() if study_file.is_file() else "", re.M)
    return given[0] if given else f"snakemake --configfile {study_path}"


def results_table(results_dir):
    results_dir = Path(results_dir)
    summary_csv, runs_csv = results_dir / "parzen_summary.csv", results_dir / "parzen_runs.csv"
    for path in (summary_csv, runs_csv):
        if not path.is_file():
            raise GanStudyError(f"{path} is missing; run the study (snakemake) first")
    summary = read_csv(summary_csv)
    if "trained" not in summary:
        raise GanStudyError(f"{summary_csv} was written by an older version (no seed outcomes); rebuild it with "
                            f"`python -m gan_study reaggregate --study {results_dir.name}`")
    runs = read_csv(runs_csv)
    published = dict(parzen_table1())
    fid_csv = results_dir / "fid_summary.csv"
    fid = read_csv(fid_csv).set_index(["model", "dataset"]) if fid_csv.is_file() else None
    lines = [
        f"Study `{results_dir.name}` (`results/{results_dir.name}/`, {_trained_by(runs)}), made by "
        f"`{snakemake_command(results_dir.name)}`. Parzen-window test log-likelihood in nats over "
        "the *trained* seeds (a seed that collapsed or diverged is counted and listed, never averaged in): mean ± "
        "standard error over test examples (the paper's convention), seed std separately; the median and range over "
        "all seeds beside it. *Final*: the weights at the end of the budget; *chosen on validation*: the checkpoint "
        "with the best validation log-likelihood, never chosen on test images.",
        "",
        "| model | dataset | epochs | train images | Parzen centres / test images | log-likelihood, trained seeds (final) "
        "| chosen on validation | seed std | seeds trained / run | all seeds: median (range) | paper | FID, trained "
        "seeds (images) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in summary.itertuples():
        ref = published.get(variant_class(c.model).published_row, {}).get(c.dataset)
        images = runs[(runs.model == c.model) & (runs.dataset == c.dataset)]["train_images"].iloc[0]
        lines.append(
            f"| {variant_class(c.model).title} | {DATASETS[c.dataset].title} | {c.epochs} | {images:,} | "
            f"{_count(c.n_centres)} / {_count(c.n_test)} | {_pm(c.parzen_mean, c.parzen_mean_se)} | "
            f"{_pm(c.selected_mean, c.selected_mean_se)} ({_epochs(c.selected_epochs)}) | {_num(c.parzen_seed_std)} | "
            f"{c.trained} / {c.runs}{_failed(c)} | {_num(c.parzen_all_median)} ({_num(c.parzen_all_min)} to "
            f"{_num(c.parzen_all_max)}) | {'—' if ref is None else f'{ref[0]} ± {ref[1]}'} | "
            f"{_fid_cell(fid, c.model, c.dataset)} |"
        )
    baselines_csv = results_dir / "parzen_baselines.csv"
    if baselines_csv.is_file():
        for b in read_csv(baselines_csv).itertuples():
            lines.append(f"| {b.title} | {DATASETS[b.dataset].title} | — | — | {b.centres} / {b.n_test:,} | "
                         f"{b.test_mean_ll:.1f} ± {b.test_se:.1f} | — | — | — | — | — | — |")
    lines += _per_seed_lines(results_dir, runs)
    verdicts = [v for v in summary.get("verdict", pd.Series(dtype=object)).dropna()]
    if verdicts:
        lines += ["", *[f"**Replication verdict (computed).** {v}" for v in verdicts]]
    return "\n".join(lines)


def _trained_by(runs):
    """The commits and devices that trained the runs: several when a study was trained in parts."""
    commits = in_order_of_appearance(f"`{commit[:10]}`" for commit in runs["git_commit"])
    devices = in_order_of_appearance(runs["device"])
    return (f"trained by {latex.plural('commit', len(commits))} {', '.join(commits)}, "
            f"{latex.plural('device', len(devices))}: {'; '.join(devices)}")


def _num(value):
    return "n/a" if pd.isna(value) else latex.text_number(value)


def _pm(mean, se):
    return "—" if pd.isna(mean) else f"{_num(mean)} ± {_num(se)}"


def _count(value):
    return "—" if pd.isna(value) else f"{int(value):,}"


def _epochs(selected):
    epochs = str(selected).split() if isinstance(selected, str) else []
    return "—" if not epochs else f"epoch {epochs[0]}" if len(set(epochs)) == 1 else "epochs " + ", ".join(epochs)


def _failed(cell):
    parts = [f"{n} {what}" for n, what in ((cell.collapsed, "collapsed"), (cell.diverged, "diverged")) if n]
    return f" ({', '.join(parts)})" if parts else ""


def _per_seed_lines(results_dir, runs):
    """Each cell's seeds one by one (final log-likelihood, FID where measured, and the outcome of a failed seed): a
    mean over seeds hides a seed that failed."""
    fid_csv = results_dir / "fid_runs.csv"
    fid = read_csv(fid_csv).set_index(["model", "dataset", "seed"])["fid"] if fid_csv.is_file() else {}
    lines = []
    for (model, dataset), cell in runs.groupby(["model", "dataset"], sort=False):
        if len(cell) < 2:
            continue
        seeds = []
        for r in cell.sort_values("seed").itertuples():
            value = fid[(model, dataset, r.seed)] if (model, dataset, r.seed) in fid else None
            notes = [f"FID {value:.1f}"] if value is not None and pd.notna(value) else []
            if r.status != "completed":
                notes.append(f"**{r.status}**" + (f" from epoch {int(r.collapsed_from_epoch)}"
                                                  if pd.notna(getattr(r, "collapsed_from_epoch", None)) else ""))
            seeds.append(f"seed {r.seed}: {_num(r.test_mean_ll)}" + (f" ({'; '.join(notes)})" if notes else ""))
        lines.append(f"{variant_class(model).title} on {DATASETS[dataset].title}, final log-likelihood per seed: "
                     f"{', '.join(seeds)}.")
    return ["", *lines] if lines else []


def _fid_cell(fid, model, dataset):
    if fid is None or (model, dataset) not in fid.index:
        return "—"
    c = fid.loc[(model, dataset)]
    if pd.isna(c.fid_mean):
        return "— (no trained seed)"
    std = "" if pd.isna(c.fid_std) else f" ± {c.fid_std:.1f}"
    return f"{c.fid_mean:.1f}{std} ({_count(c.n_generated)} vs {_count(c.n_real)})"


def update_readme(readme, results_dir):
    if not Path(readme).is_file():
        raise GanStudyError(f"{readme} does not exist; pass the README to update with --readme")
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise GanStudyError(f"{readme} has no {START} … {END} section")
    block = f"{START}\n{results_table(results_dir)}\n{END}"
    write_text(readme, re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


@command("readme", [arg("--results-dir", required=True), arg("--readme", default="README.md")])
def readme_command(config, args):
    update_readme(args.readme, args.results_dir)
