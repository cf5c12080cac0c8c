"""Committed results are an interface: the current code loads, re-scores and rebuilds every committed study."""

import json
import subprocess
import sys

import pytest

from gan_study.atomic import read_csv
from gan_study.config import CONFIG_VERSION, load_config
from gan_study.readme import results_table
from tests.conftest import REPO

STUDIES = sorted(p.parent.name for p in (REPO / "results").glob("*/parzen_summary.csv") if p.parent.name != "smoke")
PUBLISHED = sorted(p.parents[1].name for p in (REPO / "results").glob("*/weights/weights.json"))
# What `reaggregate` rebuilds from the committed per-run files; each must come out as committed.
REBUILT = ("parzen_runs.csv", "parzen_summary.csv", "macros.tex", "methods.tex", "tables/table1.tex",
           "tables/parzen_all.tex", "tables/fid.tex", "tables/metrics.tex")
PAIRED = ("paired_seeds.csv", "paired_summary.csv", "tables/paired.tex")  # a study paired with another (cpu-noise, …)
# Rebuilt to the PDF: Table 1's study, the one with a paired comparison, and two without Table 1's cell (one on
# another dataset); paper and cpu-noise have collapsed seeds, the other two none.
WITH_REPORT = ("paper", "cpu-noise", "cpu-conv", "cpu-fashion")


def test_the_committed_studies_are_the_nine_we_know():
    assert STUDIES == ["cpu", "cpu-cgan", "cpu-cgan-no-dropout", "cpu-conv", "cpu-failures", "cpu-fashion", "cpu-long",
                       "cpu-noise", "paper"]


@pytest.mark.parametrize("study", STUDIES)
def test_a_committed_config_loads_and_says_what_a_migration_filled(study):
    config = load_config(base=REPO / "results" / study / "config.json")
    assert config["study"] == study and config["config_version"] == CONFIG_VERSION
    assert config["collapse"] == load_config()["collapse"]


def test_an_older_config_is_migrated_with_the_older_behaviour_recorded(tmp_path):
    import json

    old = json.loads((REPO / "results" / "cpu-long" / "config.json").read_text())
    for key in ("config_version", "cuda_graphs", "collapse"):
        old.pop(key, None)
    old["report"].pop("curves_from", None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(old))
    config = load_config(base=path)
    assert config["cuda_graphs"] is False  # the code of that time trained eagerly, whatever today's default
    filled = config["migrated"]["filled"]
    assert filled["cuda_graphs"] is False and filled["report.curves_from"] == [] and "collapse" in filled
    assert config["migrated"]["from_version"] == 1


@pytest.mark.parametrize("study", STUDIES)
def test_reaggregate_rebuilds_the_committed_tables_exactly(study, repo_copy):
    """Every committed study's tables, macros, methods and figures, rebuilt from its per-run files (the figures byte
    for byte: they carry no creation date); the reports of the paper study and of the paired one too (the other
    reports go through the same rules: the smoke study builds one end to end)."""
    figures = sorted(f"figures/{p.name}" for p in (REPO / "results" / study / "figures").glob("*.pdf")
                     if p.name != "figure1.pdf")  # figure1 trains its own toy GAN: not made from the runs
    rebuilt = (*REBUILT, *(name for name in PAIRED if (REPO / "results" / study / name).is_file()))
    targets = [] if study in WITH_REPORT else [f"results/{study}/{name}" for name in (*rebuilt, *figures)]
    done = subprocess.run([sys.executable, "-m", "gan_study", "reaggregate", "--study", study, *targets],
                          cwd=repo_copy, capture_output=True, text=True, timeout=2400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rule train" not in done.stdout and "rule parzen:" not in done.stdout
    for name in rebuilt:
        assert (repo_copy / "results" / study / name).read_text() == (REPO / "results" / study / name).read_text(), (
            f"results/{study}/{name} is not what the current code makes of the committed runs: re-run "
            f"python -m gan_study reaggregate --study {study}")
    redrawn = [name for name in figures
               if (repo_copy / "results" / study / name).read_bytes() != (REPO / "results" / study / name).read_bytes()]
    assert figures and not redrawn, f"results/{study}/{redrawn}: not what the current code draws from the runs"
    if study in WITH_REPORT:
        assert (repo_copy / "report" / study / "gan_study.pdf").stat().st_size > 50_000
        text = subprocess.run(["pdftotext", str(repo_copy / "report" / study / "gan_study.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "Discussion" in text and "Training outcome" in text
        assert ("Seed by seed against another study" in text) == (study == "cpu-noise")
        words = " ".join(text.split())
        with_table1_cell = study in ("paper", "cpu-noise")  # the 2014 MLP GAN on MNIST: its own paragraphs
        assert ("The budget question" in text) == with_table1_cell
        assert ("This study does not train the paper" in words) == (not with_table1_cell)
        assert ("This study trains no model on MNIST: its cells are in Table 2" in words) == (study == "cpu-fashion")
        assert ("Each cell. DCGAN on MNIST: 2 of 2 seeds trained" in words) == (study == "cpu-conv")
        none_failed = study in ("cpu-conv", "cpu-fashion")  # the training curves' caption says what its lines are
        assert ("a thin line per seed: every seed trained (none collapsed or diverged)" in words) == none_failed
        assert ("Failed seeds are dashed and named in red" in words) == (not none_failed)


@pytest.mark.parametrize("study", STUDIES)
def test_readme_table_of_every_committed_study(study):
    """The table names the command that made the study, and that command names files that exist."""
    import re

    table = results_table(REPO / "results" / study)
    assert f"Study `{study}`" in table and "seeds trained / run" in table
    command = re.search(r"made by `(snakemake [^`]*)`", table).group(1)
    profile = re.search(r"--profile (\S+)", command).group(1)
    assert (REPO / profile / "config.yaml").is_file(), command
    configfile = re.search(r"--configfile (\S+)", command)
    named = configfile.group(1) if configfile else (REPO / profile / "config.yaml").read_text().split("configfile: ")[1]
    assert named.split()[0] == f"workflows/studies/{study}.yaml", command


def test_the_paper_study_reports_four_trained_seeds_and_names_the_collapse():
    table = results_table(REPO / "results" / "paper")
    assert "| 178.0 ± 2.1 |" in table and "4 / 5 (1 collapsed)" in table
    assert "seed 1: −370.1 (FID 263.5; **collapsed**" in table
    macros = (REPO / "results" / "paper" / "macros.tex").read_text()
    assert r"\newcommand{\gsParzenMlpGanMnistTrained}{4}" in macros
    assert r"\newcommand{\gsParzenMlpGanMnistAllMean}{68.3}" in macros


def test_the_studies_with_published_weights_are_the_two_we_know_and_the_readme_names():
    assert PUBLISHED == ["cpu-cgan", "cpu-long"]
    sentence = next(line for line in (REPO / "README.md").read_text().splitlines()
                    if line.startswith("Published generator weights"))
    assert all(f"`{study}`" in sentence for study in PUBLISHED)


@pytest.mark.parametrize("study", PUBLISHED)
def test_rescore_reproduces_the_numbers_a_study_reported_for_its_published_weights(study, tmp_path):
    done = subprocess.run([sys.executable, "-m", "gan_study", "rescore", "--results-dir", f"results/{study}",
                           "--out-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    recomputed = [float(line.split("recomputed ")[1].split()[0]) for line in done.stdout.splitlines()
                  if "recomputed" in line]
    assert recomputed == pytest.approx(_reported(study), abs=1e-4)


def test_the_no_dropout_study_rescores_from_cpu_cgans_weights_to_its_own_numbers(tmp_path):
    """The paired comparison's other side, checkable from the same published generators sampled otherwise."""
    done = subprocess.run([sys.executable, "-m", "gan_study", "rescore", "--results-dir", "results/cpu-cgan-no-dropout",
                           "--weights-from", "results/cpu-cgan", "--out-dir", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if "recomputed" in line]
    reported = [float(line.split("reported ")[1].split(",")[0]) for line in lines]
    recomputed = [float(line.split("recomputed ")[1].split()[0]) for line in lines]
    runs = read_csv(REPO / "results" / "cpu-cgan-no-dropout" / "parzen_runs.csv").sort_values("seed")
    assert reported[:2] == pytest.approx(list(runs.test_mean_ll), abs=1e-4) and max(reported) < 0
    assert recomputed == pytest.approx(reported, abs=1e-4)


def _reported(study):
    """The test log-likelihood the study's tables report for each published file, in the manifest's order: the final
    generator's from parzen_runs.csv, a snapshot's from its run's curve."""
    runs = {(r.model, r.dataset, r.seed): r for r in read_csv(REPO / "results" / study / "parzen_runs.csv").itertuples()}
    reported = []
    for entry in json.loads((REPO / "results" / study / "weights" / "weights.json").read_text())["weights"]:
        run = runs[entry["model"], entry["dataset"], entry["seed"]]
        if entry["checkpoint"] == "final":
            reported.append(run.test_mean_ll)
        else:
            assert entry["epoch"] == run.selected_epoch
            reported.append(run.selected_test_mean_ll)
    return reported
