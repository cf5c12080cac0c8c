"""No silent wrong result: every per-run file is checked against the run it is used for, every image batch before it
is scored, and every misuse ends in one line and a non-zero exit, with no output written."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from gan_study.aggregate import aggregate
from gan_study.atomic import save_torch
from gan_study.errors import GanStudyError
from gan_study.evaluate import fid, parzen, parzen_curve
from gan_study.sample import SAMPLES_FORMAT, sample
from gan_study.train import train
from tests.conftest import REPO
from tests.test_cli import assert_one_line_error, cli


@pytest.fixture
def run(tmp_path, tiny_config):
    """One tiny trained, sampled and scored run of mlp_gan/mnist/seed0."""
    d = tmp_path / "run"
    train(tiny_config, "mlp_gan", "mnist", 0, d, d / "final.pt", d / "train_log.csv", d / "train.json")
    sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")
    return d


def config_file(tmp_path, config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


# Silent wrong results: a file of another run, another config or another format is refused.

def test_samples_of_another_run_are_not_scored_as_this_one(run, tiny_config):
    with pytest.raises(GanStudyError, match="belongs to mlp_gan/mnist/seed0, not mlp_gan/mnist/seed7"):
        parzen(tiny_config, "mlp_gan", "mnist", 7, run / "samples.pt", run / "other.json")
    with pytest.raises(GanStudyError, match="not cgan/fashion_mnist/seed0"):
        fid(tiny_config, "cgan", "fashion_mnist", 0, run / "samples.pt", run / "ref.json", run / "other.json")
    assert not (run / "other.json").exists()


def test_a_checkpoint_or_samples_of_another_config_are_refused(run, tiny_config):
    tiny_config["models"]["mlp_gan"]["lr_initial"] = 0.05  # another run config: another hash
    with pytest.raises(GanStudyError, match="was trained under run config"):
        sample(tiny_config, "mlp_gan", "mnist", 0, run / "final.pt", run / "s2.pt", run / "g2.png")
    with pytest.raises(GanStudyError, match="was made under run config"):
        parzen(tiny_config, "mlp_gan", "mnist", 0, run / "samples.pt", run / "p2.json")
    assert not (run / "s2.pt").exists() and not (run / "p2.json").exists()


def test_parzen_curve_refuses_another_runs_final_score(run, tiny_config, tmp_path):
    other = json.loads((run / "parzen.json").read_text())
    (tmp_path / "cgan.json").write_text(json.dumps({**other, "model": "cgan"}))
    with pytest.raises(GanStudyError, match="belongs to cgan/mnist/seed0, not mlp_gan/mnist/seed0"):
        parzen_curve(tiny_config, "mlp_gan", "mnist", 0, run / "train.json", tmp_path / "cgan.json", tmp_path / "c.json")
    (tmp_path / "truncated.json").write_text((run / "parzen.json").read_text()[:40])
    with pytest.raises(GanStudyError, match="not valid JSON"):
        parzen_curve(tiny_config, "mlp_gan", "mnist", 0, run / "train.json", tmp_path / "truncated.json",
                     tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def fake_samples(path, images, run_config_hash):
    save_torch(path, {"format": SAMPLES_FORMAT, "model": "mlp_gan", "dataset": "mnist", "seed": 0,
                      "run_config_hash": run_config_hash, "status": "completed", "generator": "completed",
                      "images": images})


@pytest.mark.parametrize("images, says", [
    (torch.full((200, 1, 28, 28), float("nan")), "NaN"),
    (torch.rand(200, 1, 32, 32), "shape (1, 32, 32)"),
    (torch.rand(200, 1, 28, 28) * 255, "not [0, 1]"),
    ((torch.rand(200, 1, 28, 28) * 255).to(torch.uint8), "uint8"),
    (torch.rand(10, 1, 28, 28), "fewer than the 200"),
    (torch.rand(0, 1, 28, 28), "fewer than the 200"),
])
def test_samples_that_are_not_images_of_the_dataset_are_not_scored(run, tiny_config, tmp_path, images, says):
    run_hash = torch.load(run / "samples.pt", weights_only=True)["run_config_hash"]
    fake_samples(tmp_path / "bad.pt", images, run_hash)
    with pytest.raises(GanStudyError, match=says.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parzen(tiny_config, "mlp_gan", "mnist", 0, tmp_path / "bad.pt", tmp_path / "p.json")
    with pytest.raises(GanStudyError):
        fid(tiny_config, "mlp_gan", "mnist", 0, tmp_path / "bad.pt", tmp_path / "ref.json", tmp_path / "f.json")
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "f.json").exists()


def test_aggregate_refuses_a_parzen_result_of_another_config(run, tiny_config, tmp_path):
    record = json.loads((run / "parzen.json").read_text())
    (tmp_path / "p.json").write_text(json.dumps({**record, "run_config_hash": "0123456789ab"}))
    with pytest.raises(GanStudyError, match="but its train.json was trained under"):
        aggregate(tiny_config, [tmp_path / "p.json"], [run / "train.json"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# Tracebacks: every misuse ends in one line on stderr and exit status 2.

@pytest.mark.parametrize("content", ["[]", "{}", "{\"model\": "])
def test_aggregate_given_a_file_that_is_no_record(tmp_path, content):
    bad = tmp_path / "parzen.json"
    bad.write_text(content)
    done = cli("aggregate", "--parzen", bad, "--train", bad, "--out-dir", tmp_path / "out")
    assert_one_line_error(done, str(bad))
    assert not (tmp_path / "out").exists()


def test_outputs_under_a_file_or_a_work_dir_that_is_a_file(run, tmp_path, tiny_config):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cfg = config_file(tmp_path, tiny_config)
    done = cli("--config", cfg, "parzen", "--model", "mlp_gan", "--dataset", "mnist", "--seed", "0",
               "--samples", run / "samples.pt", "--out", blocker / "parzen.json")
    assert_one_line_error(done, "a-file")
    done = cli("--config", cfg, "train", "--model", "mlp_gan", "--dataset", "mnist", "--seed", "0",
               "--work-dir", blocker, "--final", tmp_path / "f.pt", "--log-csv", tmp_path / "l.csv",
               "--summary", tmp_path / "t.json")
    assert_one_line_error(done, "a-file")
    assert not (tmp_path / "f.pt").exists()


def test_a_seed_out_of_range_and_a_key_given_twice_are_config_errors(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(f"seeds: [{2**64}]\n")
    assert_one_line_error(cli("--config", big, "check-config"), "seeds.0")
    twice = tmp_path / "twice.yaml"
    twice.write_text("device: cpu\nstudy: x\ndevice: cuda\n")
    assert_one_line_error(cli("--config", twice, "check-config"), "'device' is given twice", "lines 1 and 3")


def test_snakemake_refuses_a_config_file_with_a_key_given_twice(repo_copy):
    twice = repo_copy / "twice.yaml"
    twice.write_text("study: twice\ndevice: cpu\ndevice: cuda\n")
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--profile",
                           "workflows/profiles/smoke", "--configfile", "workflows/studies/smoke.yaml",
                           str(twice)], cwd=repo_copy, capture_output=True, text=True, timeout=1200)
    assert done.returncode != 0 and "'device' is given twice" in done.stdout + done.stderr


def test_readme_without_results_or_readme(tmp_path):
    assert_one_line_error(cli("readme", "--results-dir", tmp_path), "parzen_summary.csv is missing")
    assert_one_line_error(cli("readme", "--results-dir", REPO / "results" / "paper", "--readme", tmp_path / "no.md"),
                          "does not exist")


def test_ctrl_c_ends_train_with_one_line_and_it_resumes(tmp_path, tiny_config):
    tiny_config["models"]["mlp_gan"].update(epochs=400)  # long enough to be interrupted mid-training
    cfg, d = config_file(tmp_path, tiny_config), tmp_path / "run"
    args = [sys.executable, "-m", "gan_study", "--config", str(cfg), "train", "--model", "mlp_gan", "--dataset",
            "mnist", "--seed", "0", "--work-dir", str(d), "--final", str(d / "final.pt"), "--log-csv",
            str(d / "log.csv"), "--summary", str(d / "train.json")]
    # SIGINT as a terminal delivers it: a shell that started these tests in the background may have set it ignored.
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 1200  # a hang guard
    while not (d / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("gan-study: train interrupted")
    assert not (d / "final.pt").exists() and (d / "checkpoint.pt").exists()


# Robustness.

def test_a_stack_that_cannot_fit_in_memory_is_refused_before_allocating():
    from gan_study.models import get_variant
    from gan_study.config import load_config
    from gan_study.train import check_stack_memory

    variant = get_variant("mlp_gan", load_config()["models"]["mlp_gan"])
    with pytest.raises(GanStudyError, match=r"training 300 seeds as one stack needs about 3\d\.\d GiB"):
        check_stack_memory(variant, (1, 28, 28), 300, torch.device("cpu"), free=4 * 2**30)
    check_stack_memory(variant, (1, 28, 28), 5, torch.device("cpu"), free=4 * 2**30)  # 5 seeds fit in 4 GiB


def test_a_study_whose_every_run_diverged_still_gets_its_tables_figures_and_readme(tmp_path, tiny_config):
    from gan_study.figures import figures
    from gan_study.readme import results_table
    from tests.test_aggregate import PROV

    d = tmp_path / "results" / "all-diverged"
    logs, grids = [], []
    base = {"model": "mlp_gan", "dataset": "mnist", "wall_time_s": 1.0, "provenance": PROV, "run_config_hash": "h1"}
    for seed in (0, 1):
        run = d / "runs" / "mlp_gan" / "mnist" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "train.json").write_text(json.dumps({**base, "seed": seed, "status": "diverged", "epochs_completed": 0,
                                                    "train_images": 600, "diverged": {"step": 1}}))
        (run / "parzen.json").write_text(json.dumps({**base, "seed": seed, "status": "diverged"}))
        (run / "fid.json").write_text(json.dumps({**base, "seed": seed, "status": "diverged"}))
        (run / "train_log.csv").write_text("")
        logs.append(run / "train_log.csv")
        grids.append(run / "samples.png")
        from gan_study.sample import write_grid

        write_grid(torch.ones(1, 1, 28, 28), run / "samples.png", 1, 1)
    runs = sorted((d / "runs").glob("*/*/seed*"))
    aggregate(tiny_config, [r / "parzen.json" for r in runs], [r / "train.json" for r in runs], d,
              fid_files=[r / "fid.json" for r in runs], train_log_files=logs)
    tables = "".join(p.read_text() for p in (d / "tables").glob("*.tex")) + (d / "macros.tex").read_text()
    assert "nan" not in tables.lower()
    figures(tiny_config, logs, grids, d / "figures", runs_csv=d / "parzen_runs.csv", fid_csv=d / "fid_runs.csv")
    assert all((d / "figures" / name).is_file() for name in ("training_curves.pdf", "seeds.pdf", "separation.pdf"))
    assert "fig:separation" not in (d / "figures" / "figures.tex").read_text()  # no log row to show
    table = results_table(d)
    assert "0 / 2 (2 diverged)" in table and "nan" not in table.lower()


def test_the_report_names_the_first_real_latex_error(tmp_path):
    import shutil

    from gan_study.report import build_report

    results = tmp_path / "paper"
    shutil.copytree(REPO / "results" / "paper", results)
    macros = results / "macros.tex"
    macros.write_text("".join(line for line in macros.read_text().splitlines(keepends=True)
                              if "gsParzenMlpGanMnistEpochs}" not in line))  # as a study made before that macro
    with pytest.raises(GanStudyError, match=r"\\gsParzenMlpGanMnistEpochs is not defined by .*reaggregate"):
        build_report(results, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_hundreds_of_seeds_in_one_stack_are_refused_before_training(tmp_path, tiny_config):
    cfg, d = config_file(tmp_path, tiny_config), tmp_path / "run"
    seeds = [str(s) for s in range(3000)]
    per_seed = [str(d / f"s{s}" / name) for s in seeds for name in ("f.pt",)]
    done = cli("--config", cfg, "train-seeds", "--model", "mlp_gan", "--dataset", "mnist", "--seeds", *seeds,
               "--work-dir", d, "--final", *per_seed, "--log-csv", *[p + ".csv" for p in per_seed],
               "--summary", *[p + ".json" for p in per_seed])
    assert_one_line_error(done, "training 3000 seeds as one stack needs about", "train fewer seeds per job")
    assert not any(p.suffix == ".pt" for p in d.rglob("*"))


def test_a_refused_fid_input_leaves_the_previous_outputs_as_they_were(run, tiny_config, tmp_path):
    out = tmp_path / "out"
    aggregate(tiny_config, [run / "parzen.json"], [run / "train.json"], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    record = {"model": "mlp_gan", "dataset": "mnist", "seed": 0, "status": "completed", "fid": 10.0,
              "run_config_hash": "0123456789ab", "n_generated": 100, "n_real": 100}
    (tmp_path / "fid.json").write_text(json.dumps(record))
    with pytest.raises(GanStudyError, match="FID result of mlp_gan/mnist/0 was made under run config"):
        aggregate(tiny_config, [run / "parzen.json"], [run / "train.json"], out, fid_files=[tmp_path / "fid.json"])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
