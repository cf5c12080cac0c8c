"""Regenerate the README's results table from the committed `results/<study>/` files (never by hand)."""

import re
from pathlib import Path

import pandas as pd

from .atomic import write_text
from .data import DATASETS
from .errors import GanStudyError
from .models import variant_class
from .reference import parzen_table1
from .commands import arg, command

START, END = "<!-- results:start -->", "<!-- results:end -->"


def results_table(results_dir):
    results_dir = Path(results_dir)
    summary_csv = results_dir / "parzen_summary.csv"
    if not summary_csv.is_file():
        raise GanStudyError(f"{summary_csv} is missing; run the study (snakemake) first")
    summary = pd.read_csv(summary_csv)
    runs = pd.read_csv(results_dir / "parzen_runs.csv")
    published = dict(parzen_table1())
    fid_csv = results_dir / "fid_summary.csv"
    fid = pd.read_csv(fid_csv).set_index(["model", "dataset"]) if fid_csv.is_file() else None
    chosen = "selected_mean" in summary
    lines = [
        f"Study `{results_dir.name}` (`results/{results_dir.name}/`, trained by commit "
        f"`{runs['git_commit'].iloc[0][:10]}`, device: {runs['device'].iloc[0]}), made by "
        f"`snakemake --profile workflows/profiles/{results_dir.name}`. Parzen-window test log-likelihood in nats, "
        "mean over seeds ± standard error over test examples (the paper's convention); seed std separately."
        + (" *Final*: the weights at the end of the budget; *chosen on validation*: the checkpoint with the best "
           "validation log-likelihood (its epoch per seed in brackets), never chosen on test images." if chosen else ""),
        "",
        "| model | dataset | epochs | train images | Parzen centres / test images | log-likelihood"
        + (" (final) | chosen on validation" if chosen else "") + " | seed std | completed / runs | paper | FID (images) |",
        "|---|---|---|---|---|---|" + ("---|" if chosen else "") + "---|---|---|---|",
    ]
    for c in summary.itertuples():
        ref = published.get(variant_class(c.model).published_row, {}).get(c.dataset)
        images = runs[(runs.model == c.model) & (runs.dataset == c.dataset)]["train_images"].iloc[0]
        std = "n/a" if pd.isna(c.parzen_seed_std) else f"{c.parzen_seed_std:.1f}"
        lines.append(
            f"| {variant_class(c.model).title} | {DATASETS[c.dataset].title} | {c.epochs} | {images:,} | "
            f"{c.n_centres:,} / {c.n_test:,} | {c.parzen_mean:.1f} ± {c.parzen_mean_se:.1f} | "
            + (f"{c.selected_mean:.1f} ± {c.selected_mean_se:.1f} ({str(c.selected_epochs).replace(' ', ', ')}) | "
               if chosen else "")
            + f"{std} | "
            f"{c.completed} / {c.runs} | {'—' if ref is None else f'{ref[0]} ± {ref[1]}'} | "
            f"{_fid_cell(fid, c.model, c.dataset)} |"
        )
    baselines_csv = results_dir / "parzen_baselines.csv"
    if baselines_csv.is_file():
        for b in pd.read_csv(baselines_csv).itertuples():
            lines.append(f"| {b.title} | {DATASETS[b.dataset].title} | — | — | {b.centres} / {b.n_test:,} | "
                         f"{b.test_mean_ll:.1f} ± {b.test_se:.1f} | " + ("— | " if chosen else "") + "— | — | — | — |")
    lines += _per_seed_lines(results_dir, runs)
    verdicts = [v for v in summary.get("verdict", pd.Series(dtype=object)).dropna()]
    if verdicts:
        lines += ["", *[f"**Replication verdict (computed).** {v}" for v in verdicts]]
    return "\n".join(lines)


def _per_seed_lines(results_dir, runs):
    """Each cell's seeds one by one (final log-likelihood, and FID where measured): a mean over seeds hides a seed
    that failed."""
    fid_csv = results_dir / "fid_runs.csv"
    fid = pd.read_csv(fid_csv).set_index(["model", "dataset", "seed"])["fid"] if fid_csv.is_file() else {}
    lines = []
    for (model, dataset), cell in runs.groupby(["model", "dataset"], sort=False):
        if len(cell) < 2:
            continue
        seeds = ", ".join(f"seed {r.seed}: {r.test_mean_ll:.1f}"
                          + (f" (FID {fid[(model, dataset, r.seed)]:.1f})" if (model, dataset, r.seed) in fid else "")
                          for r in cell.sort_values("seed").itertuples())
        lines.append(f"{variant_class(model).title} on {DATASETS[dataset].title}, final log-likelihood per seed: "
                     f"{seeds}.")
    return ["", *lines] if lines else []


def _fid_cell(fid, model, dataset):
    if fid is None or (model, dataset) not in fid.index:
        return "—"
    c = fid.loc[(model, dataset)]
    std = "" if pd.isna(c.fid_std) else f" ± {c.fid_std:.1f}"
    return f"{c.fid_mean:.1f}{std} ({int(c.n_generated):,} vs {int(c.n_real):,})"


def update_readme(readme, results_dir):
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise GanStudyError(f"{readme} has no {START} … {END} section")
    block = f"{START}\n{results_table(results_dir)}\n{END}"
    write_text(readme, re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


@command("readme", [arg("--results-dir", required=True), arg("--readme", default="README.md")])
def readme_command(config, args):
    update_readme(args.readme, args.results_dir)
