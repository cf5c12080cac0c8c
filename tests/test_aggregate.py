import json

import pandas as pd
import pytest

from gan_study.aggregate import aggregate
from gan_study.errors import GanStudyError
from gan_study.evaluate import parzen
from gan_study.sample import sample
from gan_study.train import train

PROV = {"git_commit": "abc123def456", "git_dirty": False, "device": "cpu", "packages": {"torch": "2.x"},
        "started": "t0", "finished": "t1"}


def write_run(tmp, seed, status="completed", ll=100.0, se=2.0, run_hash="h1", prov=PROV, model="mlp_gan",
              dataset="mnist"):
    base = {"model": model, "dataset": dataset, "seed": seed}
    train_json, parzen_json = tmp / f"train-{model}{dataset}{seed}.json", tmp / f"parzen-{model}{dataset}{seed}.json"
    train_json.write_text(json.dumps({**base, "status": status, "epochs_completed": 3, "train_images": 50000,
                                      "diverged": {"step": 7} if status == "diverged" else None,
                                      "wall_time_s": 1.0, "provenance": prov}))
    record = {**base, "status": status, "run_config_hash": run_hash, "wall_time_s": 1.0, "provenance": prov}
    if status == "completed":
        record.update(test_mean_ll=ll, test_se=se, sigma=0.2, n_centres=10000, n_test=10000)
    parzen_json.write_text(json.dumps(record))
    return parzen_json, train_json


def test_mean_and_std_over_seeds_with_diverged_runs_counted_not_averaged(tmp_path, tiny_config):
    files = [write_run(tmp_path, 0, ll=100.0, se=2.0), write_run(tmp_path, 1, ll=110.0, se=4.0),
             write_run(tmp_path, 2, status="diverged")]
    summary = aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    cell = summary.iloc[0]
    assert (cell.runs, cell.trained, cell.collapsed, cell.diverged) == (3, 2, 0, 1)
    assert cell.parzen_mean == pytest.approx(105.0)
    assert cell.parzen_seed_std == pytest.approx(7.0710678)  # sample std of (100, 110)
    assert cell.parzen_mean_se == pytest.approx(3.0)
    runs = pd.read_csv(tmp_path / "out" / "parzen_runs.csv")
    assert runs["status"].tolist() == ["completed", "completed", "diverged"]
    assert runs["diverged_at_step"].iloc[2] == 7
    macros = (tmp_path / "out" / "macros.tex").read_text()
    assert r"\newcommand{\gsParzenMlpGanMnistMean}{105.0}" in macros
    assert r"\newcommand{\gsParzenMlpGanMnistTrained}{2}" in macros
    assert r"\newcommand{\gsParzenMlpGanMnistFailures}{seed 2 diverged at step 7}" in macros
    assert r"\newcommand{\gsPaperParzenMnistMean}{225}" in macros
    assert r"\newcommand{\gsCells}{MLP GAN (2014) on MNIST}" in macros
    assert "gsOtherCellOutcomes" not in macros  # Table 1's cell has its own paragraph
    table = (tmp_path / "out" / "tables" / "table1.tex").read_text()
    assert r"\num{121 +- 1.6}" in table and r"\num{105.0 +- 3.0}" in table and "2/3" in table
    assert "trains no model on MNIST" not in table
    assert "Package versions: torch 2.x." in (tmp_path / "out" / "tables" / "provenance.tex").read_text()


def test_table1_of_a_study_without_an_mnist_cell_points_to_its_cells(tmp_path, tiny_config):
    """Table 1 holds MNIST and TFD: a Fashion-MNIST study's would show the paper's rows alone, no word of its own."""
    files = [write_run(tmp_path, seed, dataset="fashion_mnist") for seed in (0, 1)]
    aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    table = (tmp_path / "out" / "tables" / "table1.tex").read_text()
    assert (r"\multicolumn{5}{l}{\emph{This study trains no model on MNIST: its cells are in "
            r"Table~\ref{tab:parzen_all}.}} \\") in table.splitlines()
    assert "this study, final" not in table
    assert r"\num{100.0 +- 2.0}" in (tmp_path / "out" / "tables" / "parzen_all.tex").read_text()


def test_a_study_trained_in_parts_names_every_commit_that_trained_it(tmp_path, tiny_config):
    """\\gsGitCommit names the first run's commit; a study trained at two commits says so (its report's title page and
    \\gsGitCommits), rather than letting the first commit stand for every run."""
    files = [write_run(tmp_path, 0), write_run(tmp_path, 1),
             write_run(tmp_path, 2, prov={**PROV, "git_commit": "fedcba987654"})]
    aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    macros = (tmp_path / "out" / "macros.tex").read_text()
    assert r"\newcommand{\gsGitCommit}{abc123def4}" in macros
    assert r"\newcommand{\gsGitCommits}{abc123def4, fedcba9876}" in macros
    assert r"\newcommand{\gsGitCommitCount}{2}" in macros


def test_a_study_without_table_1s_cell_says_what_it_trains_and_how_each_cell_ended(tmp_path, tiny_config):
    """The report's abstract and discussion of a study of other models (cpu-conv, cpu-cgan) come from \\gsCells and
    \\gsOtherCellOutcomes: each cell's seeds and score, or its verdict where a paper published a number."""
    files = [write_run(tmp_path, 0, model="dcgan", ll=90.0), write_run(tmp_path, 1, model="dcgan", ll=110.0),
             write_run(tmp_path, 0, model="wgan_gp", ll=50.0), write_run(tmp_path, 1, model="wgan_gp", status="diverged"),
             write_run(tmp_path, 0, model="cgan"), write_run(tmp_path, 1, model="cgan")]
    for _, train_json in files:  # the discriminators' logs were judged by the collapse rule; WGAN-GP's critic's not
        record = json.loads(train_json.read_text())
        judged = record["model"] != "wgan_gp"
        record["collapse"] = {"assessed": True, "collapsed": False} if judged else {"assessed": False, "reason": "-"}
        train_json.write_text(json.dumps(record))
    aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    macros = (tmp_path / "out" / "macros.tex").read_text()
    assert r"\newcommand{\gsCells}{Conditional GAN, DCGAN and WGAN-GP on MNIST}" in macros
    outcomes = next(line for line in macros.splitlines() if line.startswith(r"\newcommand{\gsOtherCellOutcomes}"))
    assert ("DCGAN on MNIST: 2 of 2 seeds trained, a failure rate of 0\\% (95\\% Wilson interval 0\\% to 66\\%); over "
            "the trained seeds 100.0 ± 2.0 nats after 3 epochs (seed std 14.1), 100.0 ± 2.0 at the checkpoint chosen on "
            "validation (epoch 3); no published Parzen number to set beside it.") in outcomes
    assert ("WGAN-GP on MNIST: 1 of 2 seeds trained (seed 1 diverged at step 7), a failure rate of 50\\% (95\\% Wilson "
            "interval 9\\% to 91\\%; divergence only: the collapse rule needs a discriminator's probabilities, and a "
            "critic outputs scores)") in outcomes
    table = (tmp_path / "out" / "tables" / "parzen_all.tex").read_text()
    assert "2/0/0 of 2" in table and "1/---/1 of 2" in table  # DCGAN's collapses were judged, the critic's not
    assert "after 3 epochs, 50.0 ± 2.0 at the checkpoint" in outcomes  # one trained seed: no seed std
    assert "Conditional GAN on MNIST: 2 of 2 seeds trained" in outcomes and "the paper's 132 ± 1.8 nats" in outcomes
    assert r"\gsParzenMlpGanMnist" not in macros


def test_seeds_trained_together_share_one_training_time_and_the_provenance_table_says_so(tmp_path, tiny_config):
    """A batched model's seeds record the stack's wall time each: the table marks them, so that nobody sums them."""
    files = [write_run(tmp_path, seed) for seed in (0, 1, 2)]
    for seed in (0, 1):  # seeds 0 and 1 as one stack; seed 2 alone
        train_json = files[seed][1]
        train_json.write_text(json.dumps({**json.loads(train_json.read_text()), "batched_seeds": [0, 1]}))
    aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    runs = pd.read_csv(tmp_path / "out" / "parzen_runs.csv", keep_default_na=False, dtype={"trained_together": str})
    assert runs["trained_together"].tolist() == ["0 1", "0 1", ""]
    table = (tmp_path / "out" / "tables" / "provenance.tex").read_text()
    rows = [line for line in table.splitlines() if line.startswith("mlp")]
    assert [row.endswith("1.0$^*$ \\\\") for row in rows] == [True, True, False]
    assert "$^*$Seeds 0, 1 of mlp\\_gan/mnist trained together as one batched model" in table


def test_refuses_to_mix_configs_in_one_cell_unless_told(tmp_path, tiny_config):
    files = [write_run(tmp_path, 0, run_hash="h1"), write_run(tmp_path, 1, run_hash="h2")]
    args = (tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out")
    with pytest.raises(GanStudyError, match="mixes runs made with different configs"):
        aggregate(*args)
    assert not (tmp_path / "out").exists()
    assert aggregate(*args, allow_mixed=True).iloc[0].trained == 2


def test_diverged_run_flows_through_sample_and_parzen(tmp_path, tiny_config, monkeypatch):
    from gan_study.models import variant_class

    variant = variant_class("mlp_gan")
    original = variant.generator_loss
    monkeypatch.setattr(variant, "generator_loss", lambda self, d_fake: original(self, d_fake) * float("inf"))
    d = tmp_path
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    payload = sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    assert payload["status"] == "diverged" and "images" not in payload
    record = parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")
    assert record["status"] == "diverged" and "test_mean_ll" not in record
    assert "NaN" not in (d / "parzen.json").read_text()


def test_completed_run_samples_are_in_unit_range_and_scored(tmp_path, tiny_config):
    d = tmp_path
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    payload = sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    images = payload["images"]
    assert images.shape == (200, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    record = parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")
    assert record["n_centres"] == 200 and record["n_test"] == 100 and record["n_valid"] == 50
    assert record["sigma"] in record["sigma_grid"]
    assert record["provenance"]["seed"] == 0 and len(record["provenance"]["config_hash"]) == 12


def write_fid(tmp, seed, final_fid, curve, status="completed"):
    base = {"model": "mlp_gan", "dataset": "mnist", "seed": seed, "status": status, "run_config_hash": "h1"}
    fid_json, curve_json = tmp / f"fid{seed}.json", tmp / f"curve{seed}.json"
    record = dict(base)
    if status == "completed":
        record.update(fid=final_fid, kid_mean=0.01, kid_std=0.001, precision=0.5, recall=0.4, f_score=0.45,
                      n_generated=10000, n_real=10000, batch_size=64)
    fid_json.write_text(json.dumps(record))
    points = [{"epoch": e, "source": "snapshot", "fid": f, "kid_mean": 0.01, "kid_std": 0.001, "precision": 0.5,
               "recall": 0.4} for e, f in curve]
    if status == "completed":
        points.append({"epoch": 10, "source": "final", "fid": final_fid, "kid_mean": 0.01, "kid_std": 0.001,
                       "precision": 0.5, "recall": 0.4})
    curve_json.write_text(json.dumps({**base, "points": points}))
    return fid_json, curve_json


def test_best_fid_over_checkpoints_is_a_separate_labelled_column(tmp_path, tiny_config):
    runs = [write_run(tmp_path, s) for s in (0, 1, 2)]
    runs[2] = write_run(tmp_path, 2, status="diverged")
    fids = [write_fid(tmp_path, 0, 30.0, [(5, 20.0)]), write_fid(tmp_path, 1, 40.0, [(5, 35.0)]),
            write_fid(tmp_path, 2, None, [(5, 1.0)], status="diverged")]
    out = tmp_path / "out"
    aggregate(tiny_config, [p for p, _ in runs], [t for _, t in runs], out, fid_files=[f for f, _ in fids],
              fid_curve_files=[c for _, c in fids])
    cell = pd.read_csv(out / "fid_summary.csv").iloc[0]
    assert cell["fid_mean"] == pytest.approx(35.0)  # the table's FID: final weights
    assert cell["fid_best_mean"] == pytest.approx(27.5)  # best of {20, 30} and of {35, 40}; the diverged run is out
    curves = pd.read_csv(out / "fid_curves.csv")
    assert len(curves) == 5 and set(curves["source"]) == {"snapshot", "final"}
    table = (out / "tables" / "fid.tex").read_text()
    assert "Best FID (ckpts)" in table and "selected on the test set" in table
    assert "gsFidMlpGanMnistBestMean" in (out / "macros.tex").read_text()
    # A run that kept no snapshot has no curve file: its best is its final FID.
    aggregate(tiny_config, [p for p, _ in runs], [t for _, t in runs], out, fid_files=[f for f, _ in fids],
              fid_curve_files=[fids[0][1]])
    assert pd.read_csv(out / "fid_summary.csv").iloc[0]["fid_best_mean"] == pytest.approx(30.0)  # (20 + 40) / 2


def test_without_checkpoint_fids_the_table_has_no_best_column(tmp_path, tiny_config):
    runs = [write_run(tmp_path, s) for s in (0, 1)]
    fids = [write_fid(tmp_path, s, 30.0 + s, []) for s in (0, 1)]
    aggregate(tiny_config, [p for p, _ in runs], [t for _, t in runs], tmp_path / "out", fid_files=[f for f, _ in fids])
    assert "Best FID" not in (tmp_path / "out" / "tables" / "fid.tex").read_text()


def write_log(tmp, seed, d_real, d_fake, epochs=20, rows_per_epoch=2):
    """A training log whose D(x), D(G(z)) are given per row as functions of the epoch."""
    rows = []
    for i in range(1, epochs * rows_per_epoch + 1):
        epoch = i / rows_per_epoch
        rows.append({"step": i * 10, "epoch": epoch, "d_loss": 0.5, "g_loss": 1.0, "d_real": d_real(epoch),
                     "d_fake": d_fake(epoch)})
    path = tmp / f"log{seed}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path, rows[-1]


def with_last_row(train_json, last_row):
    record = json.loads(train_json.read_text())
    train_json.write_text(json.dumps({**record, "final_log_row": last_row}))


def test_a_collapsed_seed_is_counted_named_and_kept_out_of_the_trained_mean(tmp_path, tiny_config):
    healthy = (lambda e: 0.6, lambda e: 0.4)
    collapses_late = (lambda e: 0.6 if e < 12 else 0.99995, lambda e: 0.4 if e < 12 else 2e-5)
    files = [write_run(tmp_path, s, ll=ll) for s, ll in ((0, 100.0), (1, 110.0), (2, -300.0))]
    logs = []
    for seed, (d_real, d_fake) in enumerate((healthy, healthy, collapses_late)):
        log, last = write_log(tmp_path, seed, d_real, d_fake)
        with_last_row(files[seed][1], last)
        logs.append(log)
    summary = aggregate(tiny_config, [p for p, _ in files], [t for _, t in files], tmp_path / "out",
                        train_log_files=logs)
    cell = summary.iloc[0]
    assert (cell.runs, cell.trained, cell.collapsed, cell.diverged) == (3, 2, 1, 0)
    assert cell.parzen_mean == pytest.approx(105.0)  # the collapsed seed is not in the trained mean
    assert cell.parzen_all_mean == pytest.approx(-30.0) and cell.parzen_all_median == pytest.approx(100.0)
    assert cell.parzen_all_min == pytest.approx(-300.0)
    assert "seed 2 collapsed" in cell.failures and "from epoch 12" in cell.failures
    assert "2 of 3 seeds trained" in cell.verdict and "seed 2 collapsed" in cell.verdict
    runs = pd.read_csv(tmp_path / "out" / "parzen_runs.csv")
    assert runs["status"].tolist() == ["completed", "completed", "collapsed"]
    assert runs["trained_status"].tolist() == ["completed"] * 3  # training said completed; the log says collapsed
    table = (tmp_path / "out" / "tables" / "table1.tex").read_text()
    assert "2/3 (1 failed)" in table and "all 3 seeds" in table and r"\num{-300.0}" in table
    macros = (tmp_path / "out" / "macros.tex").read_text()
    assert r"\newcommand{\gsParzenMlpGanMnistCollapsed}{1}" in macros
    assert r"\newcommand{\gsParzenMlpGanMnistAllMedian}{100.0}" in macros


def test_the_collapse_rule_comes_from_the_config(tmp_path, tiny_config):
    files = [write_run(tmp_path, 0)]
    log, last = write_log(tmp_path, 0, lambda e: 0.9995, lambda e: 5e-4)
    with_last_row(files[0][1], last)
    args = ([p for p, _ in files], [t for _, t in files], tmp_path / "out")
    assert aggregate(tiny_config, *args, train_log_files=[log]).iloc[0].collapsed == 1
    tiny_config["collapse"]["d_fake_below"] = 1e-4  # a stricter rule: the same log is no longer a collapse
    assert aggregate(tiny_config, *args, train_log_files=[log]).iloc[0].collapsed == 0


def test_a_training_log_of_another_run_is_refused(tmp_path, tiny_config):
    files = [write_run(tmp_path, 0)]
    log, last = write_log(tmp_path, 0, lambda e: 0.6, lambda e: 0.4)
    with_last_row(files[0][1], {**last, "step": last["step"] + 10})
    with pytest.raises(GanStudyError, match="does not end at step"):
        aggregate(tiny_config, [files[0][0]], [files[0][1]], tmp_path / "out", train_log_files=[log])
    assert not (tmp_path / "out").exists()


def test_the_same_run_twice_or_a_run_without_parzen_is_refused(tmp_path, tiny_config):
    p0, t0 = write_run(tmp_path, 0)
    p1, t1 = write_run(tmp_path, 1)
    with pytest.raises(GanStudyError, match="given twice"):
        aggregate(tiny_config, [p0, p0], [t0], tmp_path / "out")
    with pytest.raises(GanStudyError, match="no parzen.json for mlp_gan/mnist/1"):
        aggregate(tiny_config, [p0], [t0, t1], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_parzen_curve_of_another_config_or_run_is_refused_as_it_would_choose_table_1_s_checkpoint(tmp_path,
                                                                                                     tiny_config):
    (p0, t0), out = write_run(tmp_path, 0, ll=100.0, run_hash="h1"), tmp_path / "out"

    def curve(seed=0, run_hash="h1"):
        path = tmp_path / f"curve{seed}{run_hash}.json"
        path.write_text(json.dumps({
            "model": "mlp_gan", "dataset": "mnist", "seed": seed, "status": "completed", "run_config_hash": run_hash,
            "selected": {"epoch": 2}, "points": [{"epoch": e, "test_mean_ll": ll, "test_se": 2.0, "valid_mean_ll": ll}
                                                 for e, ll in ((2, 120.0), (3, 100.0))]}))
        return path

    assert aggregate(tiny_config, [p0], [t0], out, parzen_curve_files=[curve()]).iloc[0].selected_mean == 120.0
    with pytest.raises(GanStudyError, match="parzen_curve.json result of mlp_gan/mnist/0 was made under run config "
                                            "h2, its Parzen result under h1"):
        aggregate(tiny_config, [p0], [t0], out, parzen_curve_files=[curve(run_hash="h2")])
    with pytest.raises(GanStudyError, match="parzen_curve.json result for mlp_gan/mnist/1, which has no train.json"):
        aggregate(tiny_config, [p0], [t0], out, parzen_curve_files=[curve(), curve(seed=1)])
    with pytest.raises(GanStudyError, match="parzen_curve.json for mlp_gan/mnist/0 given twice"):
        aggregate(tiny_config, [p0], [t0], out, parzen_curve_files=[curve(), curve()])


def test_one_baselines_file_per_dataset(tmp_path, tiny_config):
    """A second file for the same dataset would give its rows twice and define its macros twice."""
    p0, t0 = write_run(tmp_path, 0)
    result = {"test_mean_ll": 300.0, "test_se": 1.0, "sigma": 0.2, "centres": 10000, "n_test": 10000}
    files = []
    for name in ("a.json", "b.json"):
        files.append(tmp_path / name)
        files[-1].write_text(json.dumps({"dataset": "mnist", "true_data": result, "kmeans": result}))
    summary_args = (tiny_config, [p0], [t0], tmp_path / "out")
    aggregate(*summary_args, baseline_files=files[:1])
    assert len(pd.read_csv(tmp_path / "out" / "parzen_baselines.csv")) == 2
    with pytest.raises(GanStudyError, match="two parzen-baselines files for mnist .*b.json.*; pass one per dataset"):
        aggregate(*summary_args, baseline_files=files)
