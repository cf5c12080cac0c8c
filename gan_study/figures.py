"""Figures for the report: training curves (seaborn) and the sample grids, with a LaTeX include list."""

import json
from collections import namedtuple
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from . import latex  # noqa: E402
from .atomic import read_csv, write_figure_pdf, write_text  # noqa: E402
from .datasets import REGISTRY as DATASETS  # noqa: E402
from .errors import GanStudyError  # noqa: E402
from .models import variant_class  # noqa: E402
from .outcome import describe_rule, read_log  # noqa: E402
from .paired import paired_tex  # noqa: E402
from .reference import parzen_table1  # noqa: E402
from .status import SCORED, Status  # noqa: E402
from .commands import arg, command  # noqa: E402

# A horizontal box plot: `orientation` since matplotlib 3.10, which deprecates `vert` (gone in 3.13).
HORIZONTAL = ({"orientation": "horizontal"} if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
              else {"vert": False})


def run_key(path):
    """(model, dataset, seed) from …/runs/<model>/<dataset>/seed<seed>/<file>."""
    parts = Path(path).parts
    return parts[-4], parts[-3], int(parts[-2].removeprefix("seed"))


# What a training log holds, by the name a reader knows it by.
CURVES = {"d_loss": "discriminator loss", "g_loss": "generator loss", "wasserstein": "critic's Wasserstein estimate"}
# A failed seed's curves: its finite logged values, for the scale and its note.
FailedSeed = namedtuple("FailedSeed", "seed status values")


def run_statuses(runs_csv):
    """{(model, dataset, seed): status} from a runs table (parzen_runs.csv); empty without one."""
    if runs_csv is None or not Path(runs_csv).is_file():
        return {}
    return {(r.model, r.dataset, int(r.seed)): r.status for r in read_csv(runs_csv).itertuples()}


def _seeds_by_cell(log_files, has_rows):
    """{(model, dataset): [(seed, log frame), ...]} over the logs that `has_rows(frame)` keeps, seeds in order."""
    cells = {}
    for path in sorted(log_files, key=run_key):
        frame = read_log(path)
        if has_rows(frame):
            model, dataset, seed = run_key(path)
            cells.setdefault((model, dataset), []).append((seed, frame))
    return cells


def _panel_figure(cells, draw_panel, out_pdf, legend_first=()):
    """One panel per (model, dataset), three to a row, drawn by `draw_panel(ax, cell, seeds)`; one legend below (the
    labels of `legend_first` first, in that order, then the others as drawn)."""
    columns = min(3, len(cells))
    sns.set_theme(style="whitegrid", context="paper")
    rows = -(-len(cells) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.6 * rows), squeeze=False)
    for ax, cell in zip(axes.flat, sorted(cells)):
        draw_panel(ax, cell, cells[cell])
    for ax in list(axes.flat)[len(cells):]:
        ax.set_axis_off()
    legend = {}
    for ax in axes.flat:
        legend.update({label: handle for handle, label in zip(*ax.get_legend_handles_labels())})
    first = [label for label in legend_first if label in legend]
    legend = {label: legend[label] for label in first + [label for label in legend if label not in first]}
    legend_rows = max(2, -(-len(legend) // 2))  # two entries a row, room for two rows at least
    fig.set_figheight(2.6 * rows + 0.25 * legend_rows)
    fig.tight_layout(rect=(0, 0.06 * legend_rows / rows, 1, 1))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)


def training_curves(log_files, out_pdf, status=None):
    """The losses over training, one panel per (model, dataset), a thin line per trained seed. A collapsed
    generator's loss climbs far above the trained seeds' and would flatten them: the scale is the trained seeds', and
    a failed seed is dashed, leaves the scale where its losses do, and is named in red."""
    cells = _seeds_by_cell(log_files, lambda frame: not frame.empty)  # empty: diverged before its first log row
    if not cells:  # every run diverged before its first log row: say so rather than fail the report
        return empty_figure("no training-log rows: every run diverged before its first logged step", out_pdf)
    _panel_figure(cells, lambda ax, cell, seeds: _curves_panel(ax, cell, seeds, status or {}), out_pdf,
                  legend_first=CURVES.values())


def _curves_panel(ax, cell, seeds, status):
    """One (model, dataset): each seed's losses coloured by what they are; failed seeds dashed and named."""
    colours = dict(zip(CURVES, sns.color_palette(n_colors=len(CURVES))))
    trained, failed, any_trained = [], [], False
    for seed, frame in seeds:
        seed_status = status.get((*cell, seed), Status.COMPLETED)
        bad = seed_status != Status.COMPLETED
        columns = [c for c in CURVES if c in frame.columns and frame[c].notna().any()]
        for column in columns:
            ax.plot(frame["epoch"], frame[column], color=colours[column], linestyle="--" if bad else "-",
                    linewidth=1.2 if bad else 0.7, alpha=0.95 if bad else 0.6, zorder=3 if bad else 2,
                    label=CURVES[column])
        values = frame[columns].to_numpy(dtype=float).ravel()
        values = list(values[np.isfinite(values)])
        if bad:
            failed.append(FailedSeed(seed, seed_status, values))
        else:
            trained.extend(values)
            any_trained = True
    lo, hi = _padded_limits(trained or [v for run in failed for v in run.values] or [0.0])
    ax.set_ylim(lo, hi)
    if any_trained:
        ax.plot([], [], color="0.4", linewidth=0.7, label="trained seed")
    if failed:
        ax.plot([], [], color="0.4", linewidth=1.2, linestyle="--", label="failed seed (named)")
        note = _failed_seeds_text(failed, lambda runs: " (off scale)" if any(
            not lo <= v <= hi for run in runs for v in run.values) else "", lone_value=False)
        ax.annotate(note, xy=(0.98, 0.95), xycoords="axes fraction", ha="right", va="top", fontsize=7,
                    color="tab:red", zorder=4,
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})
    ax.set_xlabel("epoch")
    ax.set_ylabel("minibatch mean")
    ax.set_title(f"{variant_class(cell[0]).title} / {DATASETS[cell[1]].title}", fontsize=9)


def separation(log_files, runs_csv, rule, out_pdf):
    """When each seed's discriminator separated real from generated images: D(G(z)) per seed over training (log
    scale), one panel per run, failed seeds in red and named, the collapse rule's threshold and window drawn. Returns
    False (and draws a note) when no run has a probability discriminator to show."""
    status = run_statuses(runs_csv)
    cells = _seeds_by_cell(log_files, lambda frame: "d_fake" in frame.columns and frame["d_fake"].notna().any())
    if not cells:
        empty_figure("no run of this study has a probability discriminator (the WGAN critics output scores)", out_pdf)
        return False
    _panel_figure(cells, lambda ax, cell, seeds: _separation_panel(ax, seeds, cell, status, rule), out_pdf)
    return True


def _separation_panel(ax, seeds, cell, status, rule, floor=1e-8):
    """One (model, dataset): a line per seed, the threshold, and the window the rule judges."""
    last_epoch = max(float(frame["epoch"].max()) for _, frame in seeds)
    ax.axvspan(last_epoch * (1 - rule["last_fraction"]), last_epoch, color="0.85", zorder=0,
               label=f"judged: last {rule['last_fraction']:.0%} of epochs")
    ax.axhline(rule["d_fake_below"], color="0.3", linestyle="--", linewidth=1,
               label=f"D(G(z)) = {rule['d_fake_below']:g} (and D(x) > {rule['d_real_above']:g})")
    ends = []  # (last value, last epoch, seed) of each failed seed, for its label
    for seed, frame in seeds:
        seed_status = status.get((*cell, seed), Status.COMPLETED)
        bad = seed_status != Status.COMPLETED
        ax.plot(frame["epoch"], frame["d_fake"].clip(lower=floor), linewidth=1.2 if bad else 0.7,
                color="tab:red" if bad else "tab:blue", alpha=0.95 if bad else 0.45, zorder=3 if bad else 2,
                label=f"{seed_status} seed" if bad else "trained seed")
        if bad:
            ends.append((max(frame["d_fake"].iloc[-1], floor), frame["epoch"].iloc[-1], seed))
    ax.set_yscale("log")
    ax.set_xlim(0, last_epoch)
    _name_line_ends(ax, ends)
    failed = len(ends)
    ax.set_xlabel("epoch")
    ax.set_ylabel("D(G(z)), minibatch mean")
    ax.set_title(f"{variant_class(cell[0]).title} / {DATASETS[cell[1]].title}: {failed} of {len(seeds)} seeds failed",
                 fontsize=9)


def _name_line_ends(ax, ends, gap=0.07):
    """"seed N" in red at the end of each failed seed's line (on a log y-axis). Failed seeds tend to end at the same
    floor, where their labels would print over each other: each label sits at least `gap` (axes fraction) above the
    one below it, the lowest at its line's end."""
    low, high = np.log10(ax.get_ylim())
    below = -np.inf
    for value, epoch, seed in sorted(ends):
        natural = (np.log10(value) - low) / (high - low)
        at = max(natural, below + gap)
        y = value if at == natural else 10 ** (low + at * (high - low))  # unmoved: exactly at its line's end
        below = at
        ax.annotate(f"seed {seed}", (epoch, y), xytext=(3, 0), textcoords="offset points", fontsize=7,
                    color="tab:red", va="center", annotation_clip=False)


def empty_figure(message, out_pdf):
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)


def run_panels(data, y, ylabel, out_pdf, **line_style):
    """One panel per run (model / dataset) of `y` against epoch, saved as a PDF."""
    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.relplot(data=data, x="epoch", y=y, col="run", kind="line", col_wrap=min(3, data["run"].nunique()),
                       aspect=1.3, facet_kws={"sharey": False}, **line_style)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("epoch", ylabel)
    write_figure_pdf(grid.figure, out_pdf)
    plt.close(grid.figure)


def _seed_frame(path, column, published, baselines):
    """Per-seed values of one metric with the cell's label, status, and reference values (paper interval, Theis
    true-data line) where they exist."""
    frame = read_csv(path)
    frame = frame[frame["status"].isin(SCORED) & frame[column].notna()]
    rows = []
    for r in frame.itertuples():
        variant = variant_class(r.model)
        ref = published.get(variant.published_row, {}).get(r.dataset) if column == "test_mean_ll" else None
        true_data = None
        if column == "test_mean_ll" and baselines is not None:
            match = baselines[(baselines["baseline"] == "true_data") & (baselines["dataset"] == r.dataset)]
            true_data = float(match["test_mean_ll"].iloc[0]) if len(match) else None
        rows.append({"cell": f"{variant.title}\n{DATASETS[r.dataset].title}", "seed": r.seed,
                     "value": float(getattr(r, column)), "status": r.status, "ref": ref, "true_data": true_data})
    return pd.DataFrame(rows)


def _value_limits(data):
    """x-limits that show the trained seeds and the reference values; failed seeds far outside sit on the edge."""
    keep = list(data.loc[data["status"] == Status.COMPLETED, "value"])
    keep += [v for ref in data["ref"].dropna() for v in (ref[0] - ref[1], ref[0] + ref[1])]
    keep += list(data["true_data"].dropna())
    return _padded_limits(keep or list(data["value"]))


def _padded_limits(values):
    """(low, high) around `values`, with a margin so that no point sits on the frame."""
    lo, hi = min(values), max(values)
    pad = max(0.08 * (hi - lo), 1e-6 + 0.02 * abs(hi))
    return lo - pad, hi + pad


def _failed_seeds_text(runs, off_scale, lone_value=True):
    """Failed seeds in a few words, by outcome: a lone one (with its `value` when `lone_value`), several by number,
    past ten by count; `off_scale(runs)` adds " (off scale)" where they are drawn on or past the frame."""
    if len(runs) == 1:
        value = f": {latex.text_number(runs[0].value)}" if lone_value else ""
        return f"seed {runs[0].seed} {runs[0].status}{value}{off_scale(runs)}"
    by_status = {}
    for r in runs:
        by_status.setdefault(r.status, []).append(r)
    return "; ".join(f"{len(same)} seeds {status}" if len(same) > 10 else
                     f"{status}: seed{'s' if len(same) > 1 else ''} {', '.join(str(r.seed) for r in same)}"
                     f"{off_scale(same)}" for status, same in by_status.items())


def _failed_seeds_note(ax, failed, i, lo, hi):
    """One short line under cell `i`, below its box, naming its failed seeds (`_failed_seeds_text`). On a white
    ground, so no grid line or whisker runs through it; on the right when they all sit there."""
    if failed.empty:
        return
    note = _failed_seeds_text(list(failed.itertuples()), lambda runs: " (off scale)" if all(
        not lo <= r.value <= hi for r in runs) else "")
    right = bool((failed["value"] > hi).all())
    ax.annotate(note, xy=(0.99 if right else 0.01, i - 0.53), xycoords=("axes fraction", "data"),
                ha="right" if right else "left", va="center", fontsize=8, color="tab:red", zorder=4,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})


def _seed_panel(ax, data, label):
    """One metric: per cell a box over the trained seeds, every seed a point (failed seeds as red crosses, clipped
    to the edge when off the scale, named under the cell), the paper's interval and the true-data line."""
    cells = sorted(data["cell"].unique())
    lo, hi = _value_limits(data)
    for i, cell in enumerate(cells):
        rows = data[data["cell"] == cell]
        trained = rows[rows["status"] == Status.COMPLETED]
        if len(trained) > 1:
            ax.boxplot(trained["value"], positions=[i], **HORIZONTAL, widths=0.5, showfliers=False,
                       medianprops={"color": "0.2"}, boxprops={"color": "0.5"}, whiskerprops={"color": "0.5"},
                       capprops={"color": "0.5"})
        ref = rows["ref"].dropna()
        if len(ref):
            mean, se = ref.iloc[0]
            ax.fill_betweenx([i - 0.4, i + 0.4], mean - se, mean + se, color="tab:green", alpha=0.35,
                             label=f"paper: {mean} ± {se}")
        true_data = rows["true_data"].dropna()
        if len(true_data):
            ax.plot([true_data.iloc[0]] * 2, [i - 0.4, i + 0.4], color="0.3", linestyle="--", linewidth=1.2,
                    label=f"true data as centres: {true_data.iloc[0]:.0f}")
        for r in rows.itertuples():
            failed = r.status != Status.COMPLETED
            ax.plot(min(max(r.value, lo), hi), i, marker="X" if failed else "o", markersize=9 if failed else 7,
                    linestyle="none", color="tab:red" if failed else "tab:blue", alpha=0.9,
                    label=f"{r.status} seed" if failed else "trained seed", clip_on=False, zorder=3)
        _failed_seeds_note(ax, rows[rows["status"] != Status.COMPLETED], i, lo, hi)
    ax.set_xlim(lo, hi)
    ax.set_yticks(range(len(cells)), cells)
    ax.set_ylim(-0.7, len(cells) - 0.3)
    ax.set_xlabel(label)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def seed_distributions(runs_csv, fid_csv, out_pdf, baselines_csv=None):
    """Per-seed values of the headline metrics, one panel per metric, one row per (model, dataset). Returns whether
    it drew the paper's interval and the true-data baseline anywhere (the caption names only what is drawn)."""
    published = dict(parzen_table1())
    baselines = read_csv(baselines_csv) if baselines_csv and Path(baselines_csv).is_file() else None
    metrics = [(runs_csv, "test_mean_ll", "Parzen log-likelihood of the test set (nats; higher is better)"),
               (fid_csv, "fid", "FID (lower is better)")]
    frames = [(_seed_frame(path, column, published, baselines), label) for path, column, label in metrics
              if path is not None and Path(path).is_file()]
    frames = [(frame, label) for frame, label in frames if not frame.empty]
    sns.set_theme(style="whitegrid", context="paper")
    n_cells = max([frame["cell"].nunique() for frame, _ in frames] or [1])
    fig, axes = plt.subplots(len(frames) or 1, 1, figsize=(7.0, (1.1 + 0.75 * n_cells) * max(len(frames), 1)),
                             squeeze=False)
    for ax, (frame, label) in zip(axes[:, 0], frames):
        _seed_panel(ax, frame, label)
    if not frames:
        axes[0, 0].text(0.5, 0.5, "no scored seed: every run diverged", ha="center", va="center")
        axes[0, 0].set_axis_off()
    fig.tight_layout()
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)
    drawn = pd.concat([frame for frame, _ in frames]) if frames else pd.DataFrame(columns=["ref", "true_data"])
    return drawn["ref"].notna().any(), drawn["true_data"].notna().any()


def fid_curves(curves_csv, out_pdf):
    """FID per kept checkpoint, one line per seed, one panel per (model, dataset)."""
    data = read_csv(curves_csv)
    data["run"] = [f"{variant_class(m).title} / {DATASETS[d].title}" for m, d in zip(data["model"], data["dataset"])]
    data["seed"] = data["seed"].astype(str)
    run_panels(data, "fid", "FID", out_pdf, hue="seed", marker="o", height=2.4)


def read_curve_sources(own_csv, own_config, other_dirs):
    """The Parzen-per-checkpoint curves to plot: this study's (when it kept snapshots) and those of the other
    committed studies named by config `report.curves_from`, each with its study's config."""
    sources = []
    if own_csv:
        sources.append((own_config, read_csv(own_csv)))
    for results_dir in other_dirs:
        curves, config = Path(results_dir) / "parzen_curves.csv", Path(results_dir) / "config.json"
        if not curves.is_file() or not config.is_file():
            raise GanStudyError(f"report.curves_from names {results_dir}, which has no parzen_curves.csv and "
                                "config.json; name a committed study that kept Parzen curves, or remove it")
        sources.append((json.loads(config.read_text()), read_csv(curves)))
    return sources


def parzen_curves(sources, baselines_csv, out_pdf):
    """Test Parzen log-likelihood per kept checkpoint, one line per trained seed, one panel per (study, model,
    dataset); the paper's interval as a band and the Theis et al. true-data baseline as a line, where they exist.
    Returns whether it drew each anywhere."""
    baselines = read_csv(baselines_csv) if baselines_csv and Path(baselines_csv).is_file() else None
    published = dict(parzen_table1())
    panels = [(config, key, cell) for config, data in sources
              for key, cell in data[data["status"] == Status.COMPLETED].groupby(["model", "dataset"], sort=True)]
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.2), squeeze=False)
    band_drawn = line_drawn = False
    for ax, (config, (model, dataset), cell) in zip(axes[0], panels):
        variant = variant_class(model)
        ref = published.get(variant.published_row, {}).get(dataset)
        if ref is not None:
            ax.axhspan(ref[0] - ref[1], ref[0] + ref[1], color="0.75", alpha=0.6, label=f"paper: {ref[0]} ± {ref[1]}")
            band_drawn = True
        if baselines is not None:
            true_data = baselines[(baselines["baseline"] == "true_data") & (baselines["dataset"] == dataset)]
            for b in true_data.itertuples():
                ax.axhline(b.test_mean_ll, color="0.3", linestyle="--", linewidth=1,
                           label=f"true data as centres: {b.test_mean_ll:.0f}")
                line_drawn = True
        for seed, run in cell.groupby("seed"):
            line, = ax.plot(run["epoch"], run["test_mean_ll"], marker="o", markersize=2.5, label=f"seed {seed}")
            chosen = run[run["selected"]]
            ax.plot(chosen["epoch"], chosen["test_mean_ll"], marker="*", markersize=10, color=line.get_color(),
                    linestyle="none")
        ax.set_title(f"{variant.title} / {DATASETS[dataset].title}\nstudy {config['study']} ({config['device']})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test log-likelihood (nats)")
        ax.legend(fontsize=6, loc="lower right")
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)
    return band_drawn, line_drawn


def paired_figure(seeds, summary, out_pdf):
    """The paired comparisons (aggregate's paired_seeds and paired_summary tables), one row of two panels per (model,
    dataset, other study): each seed here against there (failed seeds as red crosses at the edge), and the differences
    of the seeds that trained in both with their mean and its 95% t interval."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(len(summary), 2, figsize=(9.0, 3.4 * len(summary)), squeeze=False)
    for (ax_scatter, ax_diff), p in zip(axes, summary.itertuples()):
        rows = seeds[(seeds["model"] == p.model) & (seeds["dataset"] == p.dataset)
                     & (seeds["other_study"] == p.other_study)]
        title = f"{variant_class(p.model).title} / {DATASETS[p.dataset].title}"
        _paired_scatter(ax_scatter, rows, p.study, p.other_study, title)
        _paired_differences(ax_diff, rows[rows["paired"]], p, title)
    fig.tight_layout()
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)


def _paired_scatter(ax, rows, study, other_study, title):
    trained = rows[rows["paired"]]
    values = list(trained["test_mean_ll"]) + list(trained["other_test_mean_ll"])
    lo, hi = _padded_limits(values or list(rows["test_mean_ll"].dropna()) + list(rows["other_test_mean_ll"].dropna()))
    ax.plot([lo, hi], [lo, hi], color="0.5", linestyle="--", linewidth=1, label="equal")
    ax.plot(trained["other_test_mean_ll"], trained["test_mean_ll"], "o", color="tab:blue", alpha=0.8,
            label="trained in both")
    failed = []
    for r in rows[~rows["paired"]].itertuples():
        x, y = (min(max(v, lo), hi) if pd.notna(v) else lo for v in (r.other_test_mean_ll, r.test_mean_ll))
        ax.plot(x, y, "X", color="tab:red", markersize=8, label="failed on a side", clip_on=False)
        ax.annotate(str(r.seed), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7, color="tab:red")
        sides = [f"{s} in {name}" for s, name in ((r.status, study), (r.other_status, other_study))
                 if s != Status.COMPLETED]
        failed.append(f"seed {r.seed}: " + ", ".join(sides))
    if failed:  # listed in a corner: crosses on the same edge would overprint their labels
        ax.text(0.98, 0.03, "\n".join(failed), transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5,
                color="tab:red", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"{other_study}: test log-likelihood (nats)")
    ax.set_ylabel(f"{study}: test log-likelihood (nats)")
    ax.set_title(f"{title}: seed by seed", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left")


def _paired_differences(ax, paired, p, title):
    ax.axvline(0, color="0.3", linewidth=1)
    if pd.notna(p.difference_low):
        ax.axvspan(p.difference_low, p.difference_high, color="tab:orange", alpha=0.25, label="95% t interval")
    if pd.notna(p.mean_difference):
        ax.axvline(p.mean_difference, color="tab:orange", linewidth=1.5,
                   label=f"mean {latex.text_number(p.mean_difference, '+.1f')} nats")
    ax.plot(paired["difference"], range(len(paired)), "o", color="tab:blue", alpha=0.8)
    ax.set_yticks(range(len(paired)), [f"seed {s}" for s in paired["seed"]], fontsize=6)
    ax.set_xlabel(f"{p.study} minus {p.other_study} (nats)")
    ax.set_title(f"{title}: {p.paired_seeds} seeds trained in both", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def _references_text(drawn, band_colour):
    """The caption's key to the reference marks a figure `drawn` (paper band, true-data line): only those it drew."""
    band, line = drawn
    keys = ([rf"{band_colour} band: the paper's Table~1 value $\pm$ its standard error"] if band else []) + (
        [r"dashed line: the true-data baseline of \citet{theis2016note} (the training images as centres)"] if line
        else [])
    text = "; ".join(keys)
    return f" {text[0].upper()}{text[1:]}." if text else ""


def _curves_caption(sources, own_study, drawn):
    """The caption of the Parzen-curve figure: which study each panel comes from and how often it kept snapshots."""
    kept = "; ".join(
        f"study \\texttt{{{latex.escape(c['study'])}}}" + (" (this study)" if c["study"] == own_study else
                                                            " (another committed study of this repository)")
        + f": a generator snapshot {latex.every(c['snapshots']['every_n_epochs'], 'epoch')}, seeds "
        + ", ".join(str(s) for s in sorted(d.loc[d["status"] == Status.COMPLETED, "seed"].unique()))
        for c, d in sources)
    return (r"Parzen-window test log-likelihood during training, each checkpoint scored like the final weights (its own "
            rf"$\sigma$ from validation images), one line per trained seed; {kept}. Stars: the checkpoint chosen on "
            r"validation images (never on test images)." + _references_text(drawn, "Grey"))


def _seeds_caption(drawn, none_failed):
    if none_failed:  # say so, rather than describe red crosses that are not there
        return (r"Every seed of every cell, one point each, with a box over them: every seed trained (none collapsed "
                r"or diverged)." + _references_text(drawn, "Green"))
    return (r"Every seed of every cell, one point each: boxes over the trained seeds, failed seeds (collapsed or "
            r"diverged) as red crosses, drawn at the edge when they lie off the scale and named under their cell (a "
            r"lone one with its value; the values of several are in the tables)." + _references_text(drawn, "Green"))


def figures(config, log_files, grid_files, out_dir, runs_csv=None, fid_csv=None, curves_csv=None,
            parzen_curves_csv=None, baselines_csv=None, curves_from=(), paired=None):
    out_dir = Path(out_dir)
    statuses = run_statuses(runs_csv)
    failed_runs = {run for run, status in statuses.items() if status != Status.COMPLETED}
    none_failed = bool(statuses) and not failed_runs  # without a runs table the outcomes are unknown: say nothing
    training_curves(log_files, out_dir / "training_curves.pdf", statuses)
    seeds_drawn = seed_distributions(runs_csv, fid_csv, out_dir / "seeds.pdf", baselines_csv) if runs_csv else None
    lines = ["% Generated by `python -m gan_study figures`; do not edit."]
    if none_failed:
        lines += [r"\providecommand{\gsNoSeedFailed}{}"]  # the training curves' caption then describes no failed seed
    every = config["snapshots"]["every_n_epochs"]
    sources = read_curve_sources(parzen_curves_csv, config, curves_from)
    if sources:
        drawn = parzen_curves(sources, baselines_csv, out_dir / "parzen_curves.pdf")
        lines += [r"\providecommand{\gsHasParzenCurves}{}"]  # the report's discussion refers to this figure
        lines += _figure_tex("parzen_curves.pdf", "fig:parzen-curves", _curves_caption(sources, config["study"], drawn))
    if curves_csv:
        fid_curves(curves_csv, out_dir / "fid_curves.pdf")
        lines += _figure_tex("fid_curves.pdf", "fig:fid-curves", (
            rf"FID during training: generator snapshots {latex.every(every, 'epoch')} and the "
            r"final weights, scored like the final FID (same sample count, noise and reference features). The table's "
            r"best-over-checkpoints FID is each line's minimum."))
    first = {}
    for path in sorted(grid_files, key=run_key):
        model, dataset, _ = run_key(path)
        first.setdefault((model, dataset), path)
    for path in first.values():
        lines += _sample_figure_tex(config, path, out_dir)
    if paired:  # (paired_seeds.csv, paired_summary.csv) from aggregate: config report.paired_with
        seeds, summary = (read_csv(path) for path in paired)
        paired_figure(seeds, summary, out_dir / "paired.pdf")
        lines += paired_tex(summary)
    if separation(log_files, runs_csv, config["collapse"], out_dir / "separation.pdf"):
        lines += [r"\providecommand{\gsHasSeparationFigure}{}"]  # the discussion of failed seeds refers to it
        lines += _figure_tex("separation.pdf", "fig:separation", _separation_caption(config["collapse"], none_failed))
    if seeds_drawn is not None:  # last, after the report's tables of the same numbers
        lines += _figure_tex("seeds.pdf", "fig:seeds", _seeds_caption(seeds_drawn, none_failed))
    write_text(out_dir / "figures.tex", "\n".join(lines) + "\n")


def _separation_caption(rule, none_failed):
    colours = (r"every seed trained (blue): none collapsed or diverged." if none_failed else
               r"failed seeds are red and named, trained seeds blue.")
    return (r"When the discriminator separated real from generated images: its mean output on generated images, "
            r"$D(G(z))$, per seed over training (log scale). A seed is collapsed when "
            + latex.escape(describe_rule(rule)) + r" (shaded: the epochs the rule judges); " + colours)


def _figure_tex(pdf_name, label, caption):
    return [r"\begin{figure}[tbp]\centering", latex.includegraphics(f"results/figures/{pdf_name}"),
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
    arg("--curves-from", nargs="*", default=[],
        help="results dirs of other studies whose Parzen curves to plot beside this one's (config report.curves_from)"),
    arg("--paired", nargs=2, metavar=("SEEDS_CSV", "SUMMARY_CSV"),
        help="paired_seeds.csv and paired_summary.csv from aggregate (config report.paired_with)"),
    arg("--out-dir", required=True)])
def figures_command(config, args):
    figures(config, args.train_logs, args.grids, args.out_dir, args.parzen_runs, args.fid_runs, args.fid_curves,
            args.parzen_curves, args.parzen_baselines, args.curves_from, args.paired)
