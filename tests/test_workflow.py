"""The Snakemake DAG: dry runs of both profiles, the linter, and the smoke study end to end to the PDF."""

import json
import os
import shutil
import subprocess
import time

import pytest

from gan_study.config import load_config
from tests.conftest import data_dir


def snakemake(repo, *args, timeout=3600, data=None):  # a hang guard, not a speed test
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data or data_dir())}
    return subprocess.run(["snakemake", *args], cwd=repo, capture_output=True, text=True, env=env, timeout=timeout)


def without_paper_results(repo):
    """The checkout as before any paper-profile results were committed: the dry runs below count a whole study's
    jobs, and the linter must write no results of its own."""
    shutil.rmtree(repo / "results" / "paper", ignore_errors=True)
    return repo


def test_lint_is_clean(repo_copy):
    without_paper_results(repo_copy)
    done = snakemake(repo_copy, "--lint")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr
    assert not (repo_copy / "work").exists() and not (repo_copy / "results" / "paper").exists()  # lint writes nothing


def test_snakefmt_is_clean(repo_copy):
    done = subprocess.run(["snakefmt", "--check", "Snakefile", "workflows"], cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr  # fix with: snakefmt Snakefile workflows


def test_smoke_and_paper_dry_runs(repo_copy):
    without_paper_results(repo_copy)
    smoke = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/smoke")
    assert smoke.returncode == 0, smoke.stderr
    smoke_jobs = dict(line.split()[:2] for line in smoke.stdout.splitlines() if line.split()[:1] == ["train"])
    assert smoke_jobs == {"train": "12"}  # (5 models on MNIST + the MLP GAN on Fashion-MNIST) × 2 seeds
    paper = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper")
    assert paper.returncode == 0, paper.stderr
    jobs = dict(line.split()[:2] for line in paper.stdout.splitlines()
                if line.split()[:1] in (["train"], ["train_seeds"], ["parzen"]))
    assert jobs == {"train_seeds": "10", "parzen": "50"}  # 5 models × 2 datasets, each job training its 5 seeds
    assert "--seeds 0 1 2 3 4" in paper.stdout and "batched-seeds0-1-2-3-4" in paper.stdout
    for model in ("mlp_gan", "cgan", "dcgan", "wgan", "wgan_gp"):
        for dataset in ("mnist", "fashion_mnist"):
            for seed in range(5):
                assert f"work/paper/runs/{model}/{dataset}/seed{seed}/final.pt" in paper.stdout
    assert not (repo_copy / "work").exists()  # a dry run writes nothing (the resolved config is written on start)
    resolved = load_config(repo_copy / "workflows" / "studies" / "paper.yaml")
    assert resolved["parzen"]["n_samples"] == 10_000 and resolved["parzen"]["n_test"] == 10_000
    assert resolved["parzen"]["n_valid"] == 1000 and resolved["parzen"]["sigma_count"] == 10
    assert resolved["device"] == "cuda"
    assert "CIFAR-10 is left out of this study" in paper.stderr  # the test data dir has no CIFAR-10


def test_one_training_job_per_seed_when_seeds_are_not_batched(repo_copy):
    without_paper_results(repo_copy)
    paper = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper", "--config", "batch_seeds=False")
    assert paper.returncode == 0, paper.stderr
    jobs = dict(line.split()[:2] for line in paper.stdout.splitlines()
                if line.split()[:1] in (["train"], ["train_seeds"], ["parzen"]))
    assert jobs == {"train": "50", "parzen": "50"}
    assert "--seed 4 --work-dir work/paper/runs/wgan_gp/fashion_mnist/seed4" in paper.stdout


def test_paper_dry_run_includes_cifar10_when_present(repo_copy, tmp_path):
    without_paper_results(repo_copy)
    from tests.test_data import write_fake_cifar

    data = tmp_path / "data"
    write_fake_cifar(data / "cifar-10-batches-py")
    for name in ("mnist", "fashion-mnist"):
        (data / name).symlink_to(data_dir() / name)
    paper = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper", data=data)
    assert paper.returncode == 0, paper.stderr
    assert "left out" not in paper.stderr
    jobs = dict(line.split()[:2] for line in paper.stdout.splitlines() if line.split()[:1] == ["train_seeds"])
    assert jobs == {"train_seeds": "13"}  # + dcgan, wgan, wgan_gp on CIFAR-10
    assert "work/paper/runs/wgan_gp/cifar10/seed4/final.pt" in paper.stdout


@pytest.mark.slow
def test_smoke_study_builds_the_pdf_with_the_computed_number(repo_copy):
    """The whole smoke DAG to the PDF, from a checkout whose path holds spaces (every rule's shell line quotes it)."""
    (repo_copy.parent / "a checkout").mkdir()
    repo_copy = repo_copy.rename(repo_copy.parent / "a checkout" / "gan study")
    done = snakemake(repo_copy, "--profile", "workflows/profiles/smoke")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    pdf = repo_copy / "report" / "smoke" / "gan_study.pdf"
    assert pdf.is_file() and (repo_copy / "report" / "gan_study.pdf").read_bytes() == pdf.read_bytes()
    # A finished smoke study must not make the paper study look done.
    paper = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper")
    assert "Nothing to be done" not in paper.stdout + paper.stderr and "train" in paper.stdout
    summary = (repo_copy / "results" / "smoke" / "parzen_summary.csv").read_text().splitlines()
    import pandas as pd

    cells = pd.read_csv(repo_copy / "results" / "smoke" / "parzen_summary.csv").set_index("model")
    assert sorted(cells.index) == ["cgan", "dcgan", "mlp_gan", "mlp_gan", "wgan", "wgan_gp"], summary
    assert (cells["trained"] == 2).all() and (cells["runs"] == 2).all(), summary
    cell = cells[cells["dataset"] == "mnist"].loc["mlp_gan"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    table1 = text[text.index("DBN"):]
    for row in ("DBN", "Stacked CAE", "Deep GSN", "Adversarial nets", "Conditional adversarial nets",
                "MLP GAN (2014), this study", "Conditional GAN, this study", "DCGAN, this study",
                "WGAN (clipping), this study", "WGAN-GP, this study"):
        assert row in table1, row
    measured = f"{cell['parzen_mean']:.1f}".replace("-", "−")
    assert measured in table1 or f"{cell['parzen_mean']:.1f}" in table1
    assert "225 ± 2" in text and "The paper’s Figure 1 from a real run" in text.replace("'", "’")
    assert "Discussion" in text and "Training outcome" in text
    assert "MLP GAN (2014) on Fashion-MNIST, seed 0" in text and "Theis et al." in text
    assert "Inception Score: not" in text and "nan" not in text.lower().split()
    # FID per checkpoint (smoke: every epoch): the 2-epoch models have a snapshot point before their final one.
    curves = pd.read_csv(repo_copy / "results" / "smoke" / "fid_curves.csv")
    mlp = curves[(curves["model"] == "mlp_gan") & (curves["dataset"] == "mnist") & (curves["seed"] == 0)]
    assert mlp[["epoch", "source"]].values.tolist() == [[1, "snapshot"], [2, "final"]]
    assert "Best FID (ckpts)" in text and "FID during training" in text
    # Parzen per checkpoint: the curve file, the checkpoint chosen on validation in Table 1, the figure and verdict.
    parzen_curves = pd.read_csv(repo_copy / "results" / "smoke" / "parzen_curves.csv")
    mlp = parzen_curves[(parzen_curves["model"] == "mlp_gan") & (parzen_curves["dataset"] == "mnist")]
    assert mlp[["seed", "epoch", "source"]].values.tolist() == [[0, 1, "snapshot"], [0, 2, "final"],
                                                                [1, 1, "snapshot"], [1, 2, "final"]]
    assert mlp.groupby("seed")["selected"].sum().tolist() == [1, 1]
    flat = " ".join(text.split())
    assert "MLP GAN (2014), this study, chosen on validation (epoch" in flat
    assert cell["verdict"].startswith("MLP GAN (2014) on MNIST: 2 of 2 seeds trained, a failure rate of 0% (95% Wilson "
                                      "interval 0% to 66%); over the trained seeds their mean")  # none failed of 2: ≤ 66%
    assert "Parzen-window test log-likelihood during training" in flat and "Table 1. MLP GAN (2014) on MNIST: 2 of 2" in flat
    # Snakemake's own HTML report: a browsable page holding the study's tables.
    html = repo_copy / "report.html"
    made = snakemake(repo_copy, "--profile", "workflows/profiles/smoke", "--report", str(html))
    assert made.returncode == 0, made.stderr[-2000:]
    page = html.read_text(errors="replace")
    assert "gan_study.pdf" in page and "Parzen-window" in page
    import base64
    import re

    embedded = re.search(r"data:text/csv;charset=utf8;filename=parzen_summary\.csv;base64,([A-Za-z0-9+/=]+)", page)
    assert embedded, "the report does not embed parzen_summary.csv"
    table = base64.b64decode(embedded.group(1)).decode()
    assert table == (repo_copy / "results" / "smoke" / "parzen_summary.csv").read_text()
    assert shutil.which("pdftotext")


def test_documented_recovery_after_killing_the_workflow_mid_job(repo_copy):
    """kill -9 of Snakemake (and its job) mid-training leaves a locked working directory and an incomplete output;
    the README's two commands (--unlock, then the same command with --rerun-incomplete) finish the study."""
    import signal
    import time

    target = "results/smoke/runs/mlp_gan/mnist/seed0/train.json"
    # Long enough to be killed mid-job, small epochs so that the resumed job finishes soon.
    (repo_copy / "longer.yaml").write_text("models: {mlp_gan: {epochs: 30, train_limit: 1000}}\n")
    args = ["--profile", "workflows/profiles/smoke", "--configfile", "workflows/studies/smoke.yaml",
            "longer.yaml", "--", target]
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir())}
    proc = subprocess.Popen(["snakemake", *args], cwd=repo_copy, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = repo_copy / "work/smoke/runs/mlp_gan/mnist/seed0/checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert checkpoint.exists(), "training never wrote its first checkpoint"
    os.killpg(proc.pid, signal.SIGKILL)  # the workflow and its job, as a power cut or an OOM killer would
    proc.wait()
    plain = snakemake(repo_copy, *args)
    assert plain.returncode != 0 and "unlock" in (plain.stdout + plain.stderr).lower()
    assert snakemake(repo_copy, "--unlock", *args).returncode == 0
    done = snakemake(repo_copy, "--rerun-incomplete", *args)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((repo_copy / target).read_text())
    assert summary["status"] == "completed" and len(summary["trained_by"]) == 2  # resumed, not restarted


def test_cpu_long_dry_run(repo_copy):
    shutil.rmtree(repo_copy / "results" / "cpu-long")  # the committed study: without it, a fresh run's DAG
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/cpu-long")
    assert done.returncode == 0, done.stderr
    jobs = dict(line.split()[:2] for line in done.stdout.splitlines()
                if line.split()[:1] in (["train"], ["parzen_curve"], ["fid_curve"]))
    assert jobs == {"train": "2", "parzen_curve": "2"}  # FID per checkpoint is off: a CPU FID costs minutes
    assert "--seed 2" in done.stdout and "--seed 3" in done.stdout


def test_a_study_grown_by_a_seed_rewrites_its_methods_in_a_fresh_clone(repo_copy):
    """A clone holds no Snakemake record of the methods rule's params: the methods follow the results' config, so a
    committed study given one more seed trains that seed alone and rewrites its methods (which name the seeds), not
    only its tables (its methods once stayed at the old seed list beside tables of the new one)."""
    results, now = repo_copy / "results" / "cpu-failures", time.time()
    for path in results.rglob("*"):  # as a clone leaves them: each run's files checked out after the study's tables
        os.utime(path, (now + ("runs" in path.relative_to(results).parts),) * 2)
    study = repo_copy / "workflows" / "studies" / "cpu-failures.yaml"
    seeds = load_config(study)["seeds"]
    study.write_text(study.read_text().replace(f"seeds: {seeds}", f"seeds: {seeds + [max(seeds) + 1]}"))
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/cpu", "--configfile", str(study))
    assert done.returncode == 0, done.stderr
    jobs = job_counts(done.stdout)
    assert {job: jobs.get(job) for job in ("train", "aggregate", "methods", "report")} == {
        "train": "1", "aggregate": "1", "methods": "1", "report": "1"}
    assert f"--seed {max(seeds) + 1} " in done.stdout


def job_counts(stdout):
    """The job-stats table of a dry run: rule -> count."""
    stats = stdout[stdout.index("Job stats"):]
    return dict(line.split() for line in stats[:stats.index("\n\n")].splitlines()[3:])


def test_a_committed_curve_stays_done_when_a_clone_writes_train_json_last(repo_copy):
    """A clone's checkout writes each run's files in name order: train.json after parzen_curve.json, at times a clock
    tick later. The curve, whose command samples snapshots a clone does not hold, must not be planned for that; a
    retraining still replans it (through parzen.json)."""
    results, now = repo_copy / "results" / "cpu-long", time.time()
    for path in results.rglob("*"):
        os.utime(path, (now + (path.name in ("train.json", "train_log.csv")),) * 2)
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/cpu-long")
    assert done.returncode == 0, done.stderr
    assert not {"train", "sample", "parzen", "parzen_curve"} & job_counts(done.stdout).keys()
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/cpu-long", "--forcerun", "train")
    assert done.returncode == 0, done.stderr
    assert {job: job_counts(done.stdout).get(job) for job in ("train", "parzen", "parzen_curve")} == {
        "train": "2", "parzen": "2", "parzen_curve": "2"}


def test_paper_long_dry_run(repo_copy):
    """The paper-long profile: the MLP GAN on MNIST, 5 seeds batched, 2,000 epochs, Parzen at every snapshot."""
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper-long")
    assert done.returncode == 0, done.stderr
    jobs = dict(line.split()[:2] for line in done.stdout.splitlines()
                if line.split()[:1] in (["train_seeds"], ["parzen_curve"], ["fid_curve"], ["fid"]))
    assert jobs == {"train_seeds": "1", "parzen_curve": "5", "fid": "5"}
    assert "work/paper-long/runs/mlp_gan/mnist/batched-seeds0-1-2-3-4" in done.stdout


def test_the_noise_study_plans_its_seed_by_seed_comparison_with_table_1(repo_copy):
    """paper-noise names results/paper in report.paired_with: aggregate reads its committed runs and writes the
    paired tables, the figures rule draws them (a dry run: the printed shell commands)."""
    done = snakemake(repo_copy, "-n", "--profile", "workflows/profiles/paper", "--configfile",
                     "workflows/studies/paper-noise.yaml")
    assert done.returncode == 0, done.stderr
    assert "--paired-with results/paper --out-dir results/paper-noise" in done.stdout
    assert "--paired results/paper-noise/paired_seeds.csv results/paper-noise/paired_summary.csv" in done.stdout


def test_a_bad_config_stops_snakemake_with_one_line(repo_copy):
    (repo_copy / "bad.yaml").write_text("seeds: [-1]\n")
    done = snakemake(repo_copy, "-n", "--configfile", "bad.yaml")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == ["gan-study: error: invalid config: at 'seeds.0': -1 is less than the minimum of 0 "
                      "(allowed keys and values: workflows/config/schema.yaml)"], done.stderr
