"""The figures: the separation figure shows each seed's D(G(z)) with the collapse rule, failed seeds named; the paired
comparison shows every common seed, failed ones at the edge."""

import matplotlib
import pandas as pd

from gan_study.config import load_config
from gan_study.figures import _paired_differences, _paired_scatter, _seed_panel, _separation_panel, figures, separation
from gan_study.paired import summarise_pair

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RULE = load_config()["collapse"]


def _log(path, d_fake, d_real=0.6, epochs=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"step": 100 * (i + 1), "epoch": epochs * (i + 1) / 20, "d_loss": 0.5, "g_loss": 1.0,
             "d_real": d_real, "d_fake": d_fake} for i in range(20)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _runs(tmp_path, statuses):
    path = tmp_path / "parzen_runs.csv"
    rows = [{"model": "mlp_gan", "dataset": "mnist", "seed": s, "status": st, "test_mean_ll": 100.0 - s}
            for s, st in statuses.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_separation_panel_names_the_failed_seed_and_counts_the_failures(tmp_path):
    runs = tmp_path / "runs" / "mlp_gan" / "mnist"
    logs = {0: pd.read_csv(_log(runs / "seed0" / "train_log.csv", 0.3)),
            3: pd.read_csv(_log(runs / "seed3" / "train_log.csv", 1e-9, d_real=1.0))}
    status = {("mlp_gan", "mnist", 0): "completed", ("mlp_gan", "mnist", 3): "collapsed"}
    fig, ax = plt.subplots()
    _separation_panel(ax, sorted(logs.items()), ("mlp_gan", "mnist"), status, RULE)
    assert ax.get_title() == "MLP GAN (2014) / MNIST: 1 of 2 seeds failed"
    assert [t.get_text() for t in ax.texts] == ["seed 3"]
    red = [line for line in ax.get_lines() if line.get_color() == "tab:red"]
    assert len(red) == 1 and min(red[0].get_ydata()) == 1e-8  # drawn at the floor of the log scale, not dropped
    assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == RULE["d_fake_below"] for line in ax.get_lines())
    plt.close(fig)


def test_the_figures_include_the_separation_figure_with_the_rule_in_its_caption(tmp_path, tiny_config):
    runs = tmp_path / "runs" / "mlp_gan" / "mnist"
    logs = [_log(runs / "seed0" / "train_log.csv", 0.3), _log(runs / "seed1" / "train_log.csv", 1e-5, d_real=1.0)]
    figures(tiny_config, logs, [], tmp_path / "figures", runs_csv=_runs(tmp_path, {0: "completed", 1: "collapsed"}))
    tex = (tmp_path / "figures" / "figures.tex").read_text()
    assert (tmp_path / "figures" / "separation.pdf").stat().st_size > 1000
    assert r"\label{fig:separation}" in tex and "D(G(z)) < 0.001 and D(x) > 0.999" in tex
    assert r"last 10\% of its epochs" in tex


def test_the_captions_say_every_seed_trained_only_when_the_runs_table_says_so(tmp_path, tiny_config):
    runs = tmp_path / "runs" / "mlp_gan" / "mnist"
    logs = [_log(runs / "seed0" / "train_log.csv", 0.3), _log(runs / "seed1" / "train_log.csv", 0.2)]
    captions = {}
    for name, statuses in (("none", {0: "completed", 1: "completed"}), ("one", {0: "completed", 1: "collapsed"}),
                           ("unknown", None)):
        (tmp_path / name).mkdir()
        runs_csv = _runs(tmp_path / name, statuses) if statuses else None
        figures(tiny_config, logs, [], tmp_path / name / "figures", runs_csv=runs_csv)
        captions[name] = (tmp_path / name / "figures" / "figures.tex").read_text()
    assert r"\providecommand{\gsNoSeedFailed}{}" in captions["none"]  # the report's training-curves caption
    assert captions["none"].count("every seed trained") == 2  # separation and seeds figures
    assert "red" not in captions["none"]
    for name in ("one", "unknown"):  # a failed seed, or outcomes not known: no claim that none failed
        assert "gsNoSeedFailed" not in captions[name] and "every seed trained" not in captions[name]
    assert "failed seeds (collapsed or diverged) as red crosses" in captions["one"]


def test_critics_without_probabilities_get_a_note_not_a_separation_figure(tmp_path):
    log = tmp_path / "runs" / "wgan" / "mnist" / "seed0" / "train_log.csv"
    log.parent.mkdir(parents=True)
    pd.DataFrame([{"step": 100, "epoch": 1.0, "d_loss": -0.1, "g_loss": 0.1, "wasserstein": 0.1}]).to_csv(log)
    assert separation([log], None, RULE, tmp_path / "separation.pdf") is False
    assert (tmp_path / "separation.pdf").is_file()  # the rule declares it: always written


def _paired(tmp_path):
    """paired_seeds.csv and paired_summary.csv of 4 common seeds, seed 2 collapsed in the other study."""
    seeds = pd.DataFrame([{"model": "mlp_gan", "dataset": "mnist", "other_study": "there", "seed": s,
                           "status": "completed", "other_status": "collapsed" if s == 2 else "completed",
                           "test_mean_ll": 100.0 + s, "other_test_mean_ll": -300.0 if s == 2 else 98.0 + 2 * s,
                           "git_commit": "abc", "other_git_commit": "abc"} for s in range(4)])
    seeds["paired"] = seeds["other_status"] == "completed"
    seeds["difference"] = (seeds["test_mean_ll"] - seeds["other_test_mean_ll"]).where(seeds["paired"])
    summary = pd.DataFrame([summarise_pair(seeds, [("models.mlp_gan.noise", "gaussian", "uniform")], "here",
                                           "there")])
    paths = tmp_path / "paired_seeds.csv", tmp_path / "paired_summary.csv"
    seeds.to_csv(paths[0], index=False)
    summary.to_csv(paths[1], index=False)
    return seeds, paths


def test_the_paired_scatter_keeps_a_failed_seed_on_the_edge_and_names_it(tmp_path):
    seeds, _ = _paired(tmp_path)
    fig, ax = plt.subplots()
    _paired_scatter(ax, seeds, "here", "there", "MLP GAN (2014) / MNIST")
    assert [t.get_text() for t in ax.texts] == ["2", "seed 2: collapsed in there"]  # at the cross; listed
    lo, hi = ax.get_xlim()
    crosses = [line for line in ax.get_lines() if line.get_marker() == "X"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == lo > -300.0  # clipped to the edge, not dropped
    assert ax.get_ylabel() == "here: test log-likelihood (nats)"
    plt.close(fig)


def test_the_paired_differences_label_their_mean_with_a_true_minus_sign(tmp_path):
    seeds, (_, summary_csv) = _paired(tmp_path)
    p = next(pd.read_csv(summary_csv).assign(mean_difference=-9.9).itertuples())
    fig, ax = plt.subplots()
    _paired_differences(ax, seeds[seeds["paired"]], p, "MLP GAN (2014) / MNIST")
    assert "mean \N{MINUS SIGN}9.9 nats" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def test_the_figures_include_the_paired_table_and_figure_when_given(tmp_path, tiny_config):
    _, paths = _paired(tmp_path)
    log = _log(tmp_path / "runs" / "mlp_gan" / "mnist" / "seed0" / "train_log.csv", 0.3)
    figures(tiny_config, [log], [], tmp_path / "figures", paired=paths)
    tex = (tmp_path / "figures" / "figures.tex").read_text()
    assert (tmp_path / "figures" / "paired.pdf").stat().st_size > 1000
    assert r"\input{results/tables/paired.tex}" in tex and r"\label{fig:paired}" in tex
    assert "models.mlp\\_gan.noise gaussian in here, uniform in there" in tex
    figures(tiny_config, [log], [], tmp_path / "without")
    assert "paired" not in (tmp_path / "without" / "figures.tex").read_text()


def _seed_data(values, statuses, cells=("MLP GAN (2014)\nMNIST",)):
    return pd.DataFrame([{"cell": cell, "seed": seed, "value": value, "status": status, "ref": (225, 2),
                          "true_data": None} for cell in cells
                         for seed, (value, status) in enumerate(zip(values, statuses))])


def _note_and_data_extents(values, statuses, cells=("MLP GAN (2014)\nMNIST",)):
    """The failed-seed notes of a seed panel, their extents, the extents of everything plotted, and the axes'."""
    fig, ax = plt.subplots(figsize=(7.0, 1.1 + 0.75 * len(cells)))
    _seed_panel(ax, _seed_data(values, statuses, cells), "Parzen")
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    notes = [t for t in ax.texts if t.get_text()]
    drawn = [line.get_window_extent(renderer) for line in ax.lines] + [p.get_window_extent(renderer)
                                                                       for p in ax.collections]
    texts, extents, frame = [t.get_text() for t in notes], [t.get_window_extent(renderer) for t in notes], \
        ax.get_window_extent(renderer)
    plt.close(fig)
    return texts, extents, drawn, frame


def _clear(extents, drawn, frame):
    """No note crosses a plotted box, point or band, and each lies inside the axes."""
    return (not [(e, d) for e in extents for d in drawn if e.overlaps(d)]
            and all(frame.x0 <= e.x0 and e.x1 <= frame.x1 for e in extents))


def test_failed_seeds_are_named_under_their_cell_clear_of_every_box_point_and_band():
    """The note sits below the box, not across it (it used to cross the box and its whiskers), with a true minus sign;
    several failed seeds make one short line inside the axes, not labels written over each other."""
    completed, collapsed, diverged = "completed", "collapsed", "diverged"
    texts, *extents = _note_and_data_extents([-370.1, 173.4, 182.7, 179.4, 176.4], [collapsed] + [completed] * 4,
                                             cells=("a", "b"))
    assert texts == ["seed 0 collapsed: \N{MINUS SIGN}370.1 (off scale)"] * 2 and _clear(*extents)
    texts, *extents = _note_and_data_extents([-502.9, 176.4, 180.0, -376.8, -320.7, 60.0],
                                             [collapsed, completed, completed, collapsed, diverged, completed])
    assert texts == ["collapsed: seeds 0, 3 (off scale); diverged: seed 4 (off scale)"] and _clear(*extents)
    texts, *extents = _note_and_data_extents([300.0, 176.4, 180.0], [collapsed, completed, completed])
    assert texts == ["seed 0 collapsed: 300.0 (off scale)"] and _clear(*extents)  # on the right, where it sits
    texts, *extents = _note_and_data_extents([-400.0] * 12 + [176.4, 180.0], [collapsed] * 12 + [completed] * 2)
    assert texts == ["12 seeds collapsed"] and _clear(*extents)


def _loss_log(g_loss, d_loss=0.5, epochs=10):
    return pd.DataFrame({"epoch": [epochs * (i + 1) / len(g_loss) for i in range(len(g_loss))], "g_loss": g_loss,
                         "d_loss": d_loss})


def test_training_curves_keep_the_trained_seeds_scale_and_name_the_failed_seed_off_it():
    """A collapsed generator's loss climbs to ~17 where the trained seeds' stay near 1: the scale is the trained
    seeds' (it used to be the collapsed seed's, flattening every trained curve), the failed seed is dashed and named."""
    from gan_study.figures import _curves_panel

    trained = [1.0, 4.0, 2.0, 1.5]
    seeds = [(0, _loss_log(trained)), (1, _loss_log([1.0, 4.0, 12.0, 17.0], d_loss=[0.5, 0.2, 0.0, 0.0])),
             (2, _loss_log([x + 0.1 for x in trained]))]
    fig, ax = plt.subplots()
    _curves_panel(ax, ("mlp_gan", "mnist"), seeds, {("mlp_gan", "mnist", 1): "collapsed"})
    low, high = ax.get_ylim()
    assert 4.1 < high < 5.0 and -0.1 < low < 0.5
    assert [t.get_text() for t in ax.texts] == ["seed 1 collapsed (off scale)"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(dashed) == 2 and max(max(line.get_ydata()) for line in dashed) == 17.0  # drawn, leaving the frame
    labels = ax.get_legend_handles_labels()[1]
    assert {"generator loss", "discriminator loss", "trained seed", "failed seed (named)"} == set(labels)
    plt.close(fig)


def test_training_curves_of_failed_seeds_alone_are_on_their_own_scale():
    from gan_study.figures import _curves_panel

    fig, ax = plt.subplots()
    _curves_panel(ax, ("mlp_gan", "mnist"), [(0, _loss_log([1.0, 17.0])), (1, _loss_log([1.0, float("inf")]))],
                  {("mlp_gan", "mnist", 0): "collapsed", ("mlp_gan", "mnist", 1): "diverged"})
    assert ax.get_ylim()[1] > 17.0
    assert [t.get_text() for t in ax.texts] == ["collapsed: seed 0; diverged: seed 1"]
    plt.close(fig)


def test_the_training_curves_figure_reads_the_seeds_outcomes_from_the_runs_table(tmp_path, tiny_config, monkeypatch):
    from gan_study import figures as module

    seen = {}
    monkeypatch.setattr(module, "_curves_panel", lambda ax, cell, seeds, status: seen.update(status))
    runs = tmp_path / "runs" / "mlp_gan" / "mnist"
    logs = [_log(runs / "seed0" / "train_log.csv", 0.3), _log(runs / "seed1" / "train_log.csv", 1e-5, d_real=1.0)]
    figures(tiny_config, logs, [], tmp_path / "figures", runs_csv=_runs(tmp_path, {0: "completed", 1: "collapsed"}))
    assert seen == {("mlp_gan", "mnist", 0): "completed", ("mlp_gan", "mnist", 1): "collapsed"}


def test_the_training_curves_legend_names_the_curves_first_and_makes_room_for_them(tmp_path, monkeypatch):
    """A WGAN's third curve comes first in the legend with the losses, not after the seed styles; a third legend row
    gets room of its own below the panels instead of running into their axis labels."""
    from gan_study import figures as module

    drawn = {}
    monkeypatch.setattr(module, "write_figure_pdf", lambda fig, path: drawn.update(
        legend=[t.get_text() for t in fig.legends[0].get_texts()], height=fig.get_figheight()))
    logs = []
    for model in ("mlp_gan", "wgan"):
        frame = _loss_log([1.0, 2.0])
        if model == "wgan":
            frame["wasserstein"] = 0.3
        logs.append(tmp_path / "runs" / model / "mnist" / "seed0" / "train_log.csv")
        logs[-1].parent.mkdir(parents=True)
        frame.to_csv(logs[-1], index=False)
    module.training_curves(logs, tmp_path / "curves.pdf", {("mlp_gan", "mnist", 0): "collapsed"})
    assert drawn["legend"] == ["discriminator loss", "generator loss", "critic's Wasserstein estimate",
                               "failed seed (named)", "trained seed"]
    assert drawn["height"] == 2.6 + 0.25 * 3


def test_failed_seeds_ending_at_the_same_floor_get_labels_apart(tmp_path):
    """Three collapsed seeds end at one D(G(z)): their names used to print over each other ("seed 16" and "seed 18"
    as one smudge); now each sits a fixed step above the one below, the lowest at its line's end."""
    runs = tmp_path / "runs" / "mlp_gan" / "mnist"
    seeds = [(s, pd.read_csv(_log(runs / f"seed{s}" / "train_log.csv", 0.3 if s == 0 else 1e-5, d_real=1.0)))
             for s in (0, 4, 16, 18)]
    status = {("mlp_gan", "mnist", s): "collapsed" for s in (4, 16, 18)}
    fig, ax = plt.subplots()
    _separation_panel(ax, seeds, ("mlp_gan", "mnist"), status, RULE)
    to_axes = ax.transAxes.inverted()
    heights = [to_axes.transform(ax.transData.transform(t.xy))[1] for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == ["seed 4", "seed 16", "seed 18"]
    assert ax.texts[0].xy[1] == 1e-5 and all(b - a > 0.069 for a, b in zip(heights, heights[1:]))
    plt.close(fig)


def _curves(tmp_path, model):
    path = tmp_path / f"curves-{model}.csv"
    rows = [{"model": model, "dataset": "mnist", "seed": 0, "status": "completed", "epoch": e, "test_mean_ll": 50.0 + e,
             "selected": e == 2} for e in (1, 2)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_captions_name_only_the_reference_marks_their_figure_draws(tmp_path, tiny_config):
    """The paper's band and the true-data line are named only where a cell has them: a study of DCGAN (no published
    Parzen number) without baselines gets neither in its captions; the MLP GAN with its baseline gets both."""
    config = {**tiny_config, "snapshots": {**tiny_config["snapshots"], "every_n_epochs": 1}}
    log = _log(tmp_path / "runs" / "dcgan" / "mnist" / "seed0" / "train_log.csv", 0.3)
    runs = tmp_path / "dcgan_runs.csv"
    pd.DataFrame([{"model": "dcgan", "dataset": "mnist", "seed": 0, "status": "completed", "test_mean_ll": 80.0}]
                 ).to_csv(runs, index=False)
    figures(config, [log], [], tmp_path / "dcgan", runs_csv=runs, parzen_curves_csv=_curves(tmp_path, "dcgan"))
    tex = (tmp_path / "dcgan" / "figures.tex").read_text()
    assert "a generator snapshot every epoch, seeds 0" in tex
    assert "band" not in tex and "true-data baseline" not in tex
    assert r"\label{fig:seeds}" in tex and tex.index("fig:parzen-curves") < tex.index("fig:seeds")

    baselines = tmp_path / "parzen_baselines.csv"
    pd.DataFrame([{"baseline": "true_data", "dataset": "mnist", "test_mean_ll": 241.0}]).to_csv(baselines, index=False)
    figures(config, [log], [], tmp_path / "mlp", runs_csv=_runs(tmp_path, {0: "completed"}),
            parzen_curves_csv=_curves(tmp_path, "mlp_gan"), baselines_csv=baselines)
    tex = (tmp_path / "mlp" / "figures.tex").read_text()
    assert tex.count("band: the paper's Table~1 value") == 2  # Grey (curves) and Green (seeds)
    assert tex.count(r"dashed line: the true-data baseline of \citet{theis2016note}") == 2
