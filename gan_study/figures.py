"""Figures for the report: training curves (seaborn) and the sample grids, with a LaTeX include list."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from . import latex  # noqa: E402
from .atomic import atomic_path, write_text  # noqa: E402
from .data import DATASETS  # noqa: E402
from .models import variant_class  # noqa: E402
from .reference import parzen_table1  # noqa: E402
from .status import Status  # noqa: E402
from .commands import arg, command  # noqa: E402


def run_key(path):
    """(model, dataset, seed) from …/runs/<model>/<dataset>/seed<seed>/<file>."""
    parts = Path(path).parts
    return parts[-4], parts[-3], int(parts[-2].removeprefix("seed"))


def training_curves(log_files, out_pdf):
    frames = []
    for path in log_files:
        model, dataset, seed = run_key(path)
        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:  # a run that diverged before its first log row
            continue
        # Losses, and the critic's Wasserstein estimate for the WGANs (its own curve, same panel).
        curves = [c for c in ("d_loss", "g_loss", "wasserstein") if c in frame.columns]
        frame = frame.melt(id_vars=["epoch"], value_vars=curves, var_name="loss", value_name="value")
        frame["run"] = f"{variant_class(model).title} / {DATASETS[dataset].title}"
        frame["seed"] = str(seed)
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    run_panels(data, "value", "minibatch mean", out_pdf, hue="loss", style="seed", height=2.6)


def run_panels(data, y, ylabel, out_pdf, **line_style):
    """One panel per run (model / dataset) of `y` against epoch, saved as a PDF."""
    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.relplot(data=data, x="epoch", y=y, col="run", kind="line", col_wrap=min(3, data["run"].nunique()),
                       aspect=1.3, facet_kws={"sharey": False}, **line_style)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("epoch", ylabel)
    with atomic_path(out_pdf) as tmp:
        grid.figure.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(grid.figure)


def seed_distributions(runs_csv, fid_csv, out_pdf):
    """Per-seed values of each headline metric: one dot per seed, per model and dataset."""
    frames = []
    for path, column, label in ((runs_csv, "test_mean_ll", "Parzen log-likelihood (nats)"),
                                (fid_csv, "fid", "FID")):
        if path is None or not Path(path).is_file():
            continue
        frame = pd.read_csv(path)
        frame = frame[frame["status"] == Status.COMPLETED]
        frames.append(pd.DataFrame({
            "model": [variant_class(m).title for m in frame["model"]],
            "dataset": [DATASETS[d].title for d in frame["dataset"]],
            "value": frame[column].astype(float), "metric": label}))
    data = pd.concat(frames, ignore_index=True)
    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.catplot(data=data, x="value", y="model", hue="dataset", col="metric", kind="strip", height=2.8,
                       aspect=1.4, sharex=False, jitter=False, s=6)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("per-seed value", "")
    with atomic_path(out_pdf) as tmp:
        grid.figure.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(grid.figure)


def fid_curves(curves_csv, out_pdf):
    """FID per kept checkpoint, one line per seed, one panel per (model, dataset)."""
    data = pd.read_csv(curves_csv)
    data["run"] = [f"{variant_class(m).title} / {DATASETS[d].title}" for m, d in zip(data["model"], data["dataset"])]
    data["seed"] = data["seed"].astype(str)
    run_panels(data, "fid", "FID", out_pdf, hue="seed", marker="o", height=2.4)


def parzen_curves(curves_csv, baselines_csv, out_pdf):
    """Test Parzen log-likelihood per kept checkpoint, one line per seed, one panel per (model, dataset); the
    paper's interval as a band and the Theis et al. true-data baseline as a line, where they exist."""
    data = pd.read_csv(curves_csv)
    data = data[data["status"] == Status.COMPLETED]
    cells = list(data.groupby(["model", "dataset"], sort=True))
    baselines = pd.read_csv(baselines_csv) if baselines_csv and Path(baselines_csv).is_file() else None
    published = dict(parzen_table1())
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(cells), figsize=(4.6 * len(cells), 3.2), squeeze=False)
    for ax, ((model, dataset), cell) in zip(axes[0], cells):
        variant = variant_class(model)
        ref = published.get(variant.published_row, {}).get(dataset)
        if ref is not None:
            ax.axhspan(ref[0] - ref[1], ref[0] + ref[1], color="0.75", alpha=0.6, label=f"paper: {ref[0]} ± {ref[1]}")
        if baselines is not None:
            true_data = baselines[(baselines["baseline"] == "true_data") & (baselines["dataset"] == dataset)]
            for b in true_data.itertuples():
                ax.axhline(b.test_mean_ll, color="0.3", linestyle="--", linewidth=1,
                           label=f"true data as centres: {b.test_mean_ll:.0f}")
        for seed, run in cell.groupby("seed"):
            line, = ax.plot(run["epoch"], run["test_mean_ll"], marker="o", markersize=2.5, label=f"seed {seed}")
            chosen = run[run["selected"]]
            ax.plot(chosen["epoch"], chosen["test_mean_ll"], marker="*", markersize=10, color=line.get_color(),
                    linestyle="none")
        ax.set_title(f"{variant.title} / {DATASETS[dataset].title}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test log-likelihood (nats)")
        ax.legend(fontsize=6, loc="lower right")
    with atomic_path(out_pdf) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(fig)


def figures(config, log_files, grid_files, out_dir, runs_csv=None, fid_csv=None, curves_csv=None,
            parzen_curves_csv=None, baselines_csv=None):
    out_dir = Path(out_dir)
    training_curves(log_files, out_dir / "training_curves.pdf")
    if runs_csv:
        seed_distributions(runs_csv, fid_csv, out_dir / "seeds.pdf")
    lines = ["% Generated by `python -m gan_study figures`; do not edit."]
    every = config["snapshots"]["every_n_epochs"]
    if parzen_curves_csv:
        parzen_curves(parzen_curves_csv, baselines_csv, out_dir / "parzen_curves.pdf")
        lines += _figure_tex("parzen_curves.pdf", "fig:parzen-curves", (
            rf"Parzen-window test log-likelihood during training: generator snapshots every {every} "
            rf"epoch{'s' if every > 1 else ''} and the final weights, each scored like the final weights (its own "
            r"$\sigma$ from validation images), one line per seed. Stars: the checkpoint chosen on validation images "
            r"(never on test images). Grey band: the paper's Table~1 value $\pm$ its standard error; dashed line: "
            r"the true-data baseline of \citet{theis2016note} (the training images as centres)."))
    if curves_csv:
        fid_curves(curves_csv, out_dir / "fid_curves.pdf")
        lines += _figure_tex("fid_curves.pdf", "fig:fid-curves", (
            rf"FID during training: generator snapshots every {every} epoch{'s' if every > 1 else ''} and the "
            r"final weights, scored like the final FID (same sample count, noise and reference features). The table's "
            r"best-over-checkpoints FID is each line's minimum."))
    first = {}
    for path in sorted(grid_files, key=run_key):
        model, dataset, _ = run_key(path)
        first.setdefault((model, dataset), path)
    for path in first.values():
        lines += _sample_figure_tex(config, path, out_dir)
    write_text(out_dir / "figures.tex", "\n".join(lines) + "\n")


def _figure_tex(pdf_name, label, caption):
    return [r"\begin{figure}[tbp]\centering", rf"\includegraphics[width=\linewidth]{{results/figures/{pdf_name}}}",
            rf"\caption{{{caption}}}", rf"\label{{{label}}}", r"\end{figure}"]


def _sample_figure_tex(config, grid_path, out_dir):
    """The figure of one (model, dataset): its samples, nearest training examples and interpolations."""
    model, dataset, seed = run_key(grid_path)
    model_title, data_title = variant_class(model).title, DATASETS[dataset].title
    run_dir = Path(grid_path).parent.relative_to(Path(out_dir).parent).as_posix()
    n = config["report"]["grid_rows"] * config["report"]["grid_cols"]
    conditional = " (row $r$: class $r \\bmod 10$)" if variant_class(model).conditional else ""
    return [
        r"\begin{figure}[tbp]\centering",
        rf"\begin{{minipage}}[b]{{0.36\linewidth}}\centering\includegraphics[width=\linewidth]{{results/{run_dir}/samples.png}}\\(a) samples{conditional}\end{{minipage}}\hfill",
        rf"\begin{{minipage}}[b]{{0.22\linewidth}}\centering\includegraphics[width=\linewidth]{{results/{run_dir}/nearest.png}}\\(b) nearest\end{{minipage}}\hfill",
        rf"\begin{{minipage}}[b]{{0.36\linewidth}}\centering\includegraphics[width=\linewidth]{{results/{run_dir}/interpolation.png}}\\(c) interpolation\end{{minipage}}",
        rf"\caption{{{latex.escape(model_title)} on {data_title}, seed {seed}: (a) the first {n} evaluation "
        r"samples, not cherry-picked; (b) as the paper's Figure~2, the rightmost column is the training "
        r"example nearest (L2) to the sample beside it, showing the model has not memorised the training set; "
        r"(c) as the paper's Figure~3, linear interpolation between two noise vectors per row.}",
        rf"\label{{fig:samples-{model}-{dataset}}}",
        r"\end{figure}",
    ]


@command("figures", [
    arg("--train-logs", nargs="+", required=True), arg("--grids", nargs="+", required=True),
    arg("--parzen-runs", help="parzen_runs.csv, for the seed-distribution plot"),
    arg("--fid-runs", help="fid_runs.csv, for the seed-distribution plot"),
    arg("--fid-curves", help="fid_curves.csv, for the FID-per-checkpoint plot"),
    arg("--parzen-curves", help="parzen_curves.csv, for the Parzen-per-checkpoint plot"),
    arg("--parzen-baselines", help="parzen_baselines.csv: the true-data line on that plot"),
    arg("--out-dir", required=True)])
def figures_command(config, args):
    figures(config, args.train_logs, args.grids, args.out_dir, args.parzen_runs, args.fid_runs, args.fid_curves,
            args.parzen_curves, args.parzen_baselines)
