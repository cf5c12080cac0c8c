"""The README's results table is generated from the committed results; it must be current."""

import math
import re

import pytest

from gan_study.readme import END, START, results_table
from tests.conftest import REPO


def passage(doc, start, end):
    """The text of docs/`doc` from `start` up to `end`, whitespace folded: where the docs quote a committed file."""
    text = " ".join((REPO / "docs" / doc).read_text().split())
    text = text[text.index(start):]
    return text[: text.index(end)]


def committed_studies():
    return sorted(p.parent for p in (REPO / "results").glob("*/parzen_summary.csv") if p.parent.name != "smoke")


def test_readme_results_table_matches_committed_results():
    studies = committed_studies()
    assert studies, "results/ holds no committed study (results/<study>/parzen_summary.csv)"
    readme = (REPO / "README.md").read_text()
    block = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    assert block, "README has no generated results section"
    named = re.match(r"Study `([\w-]+)`", block.group(1))
    assert named, "the results section does not name its study"
    study = REPO / "results" / named.group(1)
    assert study in studies, f"the README shows results/{study.name}, which holds no committed study"
    assert block.group(1) == results_table(study), (
        f"README is out of date: run python -m gan_study readme --results-dir results/{study.name}"
    )


def test_the_readme_is_short_and_names_every_committed_study_and_no_other():
    """Five minutes of reading (the rest is in docs/), and its list of studies is the committed one."""
    readme = (REPO / "README.md").read_text()
    assert len(readme) <= 15_000, f"README.md has {len(readme):,} characters; move detail to docs/"
    named = {study for study, _, _ in studies_table(readme)}
    assert named == {study.name for study in committed_studies()}, named
    for link in re.findall(r"\]\((docs/[\w.-]+\.md)", readme):
        assert (REPO / link).is_file(), link


def studies_table(readme):
    """(study, seeds, epochs) per row of the README's table of committed studies."""
    results = readme[readme.index("## Results"):readme.index(START)]
    return re.findall(r"^\| `([\w-]+)` \|[^|]*\| (\d+) \| (\d+) \|$", results, re.M)


def test_the_readme_table_of_studies_gives_each_study_s_seeds_and_epochs():
    import pandas as pd

    for study, seeds, epochs in studies_table((REPO / "README.md").read_text()):
        summary = pd.read_csv(REPO / "results" / study / "parzen_summary.csv")
        assert set(summary["runs"]) == {int(seeds)} and set(summary["epochs"]) == {int(epochs)}, study


def test_the_two_commands_are_the_makefiles_and_ci_runs_the_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"^(make \w+)", readme[readme.index("## Two commands"):], re.M)
    assert commands[:2] == ["make study", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^study: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M)
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test"


def test_the_docs_training_time_is_the_committed_one():
    import json

    wall = {json.loads(p.read_text())["wall_time_s"] for p in (REPO / "results" / "paper").glob("runs/*/*/*/train.json")}
    assert len(wall) == 1  # the seeds trained as one job
    for doc in ("running.md", "benchmarks.md"):
        assert f"{round(next(iter(wall)))} s" in (REPO / "docs" / doc).read_text(), doc


def test_the_docs_cpu_training_times_are_the_committed_ones():
    import json

    running = (REPO / "docs" / "running.md").read_text()
    for study in ("cpu", "cpu-long", "cpu-cgan", "cpu-conv", "cpu-fashion"):
        minutes = sorted(round(json.loads(p.read_text())["wall_time_s"] / 60)
                         for p in (REPO / "results" / study).glob("runs/*/*/*/train.json"))
        row = next(line for line in running.splitlines() if line.startswith(f"| {study} |"))
        span = f"{minutes[0]}–{minutes[-1]}" if minutes[0] != minutes[-1] else f"{minutes[0]}"
        assert f"training {span} min per seed in `results/{study}`" in row, (study, minutes)


def test_committed_results_carry_provenance():
    import pandas as pd

    for study in committed_studies():
        runs = pd.read_csv(study / "parzen_runs.csv")
        assert runs["git_commit"].str.fullmatch(r"[0-9a-f]{40}").all()
        assert (~runs["git_dirty"]).all(), "committed results must come from a clean checkout"
        assert runs["run_config_hash"].str.fullmatch(r"[0-9a-f]{12}").all()
        for run in runs.itertuples():
            assert (study / "runs" / run.model / run.dataset / f"seed{run.seed}" / "parzen.json").is_file()


def test_readme_benchmark_numbers_match_the_committed_bench_file():
    """docs/benchmarks.md quotes results/bench/bench-cpu.json by hand: a rerun of the benchmark must update both."""
    import json

    bench = json.loads((REPO / "results" / "bench" / "bench-cpu.json").read_text())
    quoted = passage("benchmarks.md", "Committed CPU run", "GPU run (")
    for m in bench["models"]:
        rates = m["images_per_s"]
        for key in ("naive", "resident_one_seed", "batched_all_seeds"):
            assert f"{rates[key]:,.0f}" in quoted, (m["model"], key)
        assert f"{m['ratio_batched_vs_naive']:.2f}×" in quoted, m["model"]
        for ops in (m["aten_ops_per_step"], m["kernels_per_step"]):
            assert f"{ops['one_seed']}" in quoted and f"{ops['vmap_all_seeds']}" in quoted, m["model"]
            assert f"{ops['seed_by_seed_all_seeds']}" in quoted, m["model"]
    assert f"{bench['parzen']['speedup']:.0f}×" in quoted
    cost = bench["models"][0]["checkpoint"]  # the 5-seed MLP GAN's, written in a thread
    assert f"{cost['save_s']:.2f} s" in quoted and f"{cost['host_copy_s']:.2f} s" in quoted
    for share in (cost["share_of_training"], cost["share_of_training_written_in_line"]):
        assert f"{100 * share:.2f}%" in quoted


def test_the_stack_benchmark_numbers_match_the_committed_file():
    """docs/benchmarks.md quotes results/bench/stack-cpu.json by hand: a rerun must update both."""
    import json

    stack = json.loads((REPO / "results" / "bench" / "stack-cpu.json").read_text())
    quoted = passage("benchmarks.md", "Committed CPU run (`results/bench/stack-cpu.json`",
                     "more models per stack buy it")
    assert f"naive {stack['naive_images_per_s']:,.0f} img/s" in quoted
    assert " / ".join(f"{row['images_per_s']:,.0f}" for row in stack["stacks"]) in quoted
    assert " / ".join(f"{row['ratio_vs_naive']:.2f}×" for row in stack["stacks"]) in quoted
    compiled = stack["compiled"]
    assert f"{compiled['images_per_s']:,.0f} ({compiled['ratio_vs_naive']:.2f}×)" in quoted


def test_the_docs_quote_the_committed_reproduction_of_the_cpu_study():
    """docs/running.md quotes results/cpu/reproduced-mlp_gan-mnist.json: a new reproduction must update both."""
    import json

    report = json.loads((REPO / "results" / "cpu" / "reproduced-mlp_gan-mnist.json").read_text())
    quoted = passage("running.md", "Measured (`results/cpu/reproduced-mlp_gan-mnist.json`)", "Its numbers stand")
    assert f"retrained on an {report['retrained_by']['device'].split(', ')[1]} one" in quoted
    runs = {run["seed"]: run for run in report["runs"]}
    assert not any(run["identical"] for run in runs.values())
    assert f"step {runs[0]['first_step_apart']} (seed 0) and step {runs[1]['first_step_apart']} (seed 1)" in quoted
    last_step = max(run["rows"] for run in runs.values()) * 100  # the study logs every 100 steps
    assert f"by step {last_step}, the first epoch's end, a logged value differs by up to " \
           f"{max(run['max_abs_difference'] for run in runs.values()):.2f}" in quoted
    assert report["retrained_by"]["git_dirty"] is False


def test_the_docs_quote_the_bitwise_reproduction_of_the_cpu_study_by_its_own_code():
    """docs/running.md quotes results/cpu/reproduced-mlp_gan-mnist-code-8a484c2.json: a new reproduction must update
    both."""
    import json

    report = json.loads((REPO / "results" / "cpu" / "reproduced-mlp_gan-mnist-code-8a484c2.json").read_text())
    quoted = passage("running.md", "Retrained by the code of the commit that trained it", "repeats bitwise")
    assert f"(`--code`, {report['trained_with_code_of'][:7]}) on an AMD EPYC" in quoted
    assert "AMD EPYC" in report["retrained_by"]["device"] and report["retrained_by"]["git_dirty"] is False
    assert [(run["seed"], run["identical"]) for run in report["runs"]] == [(0, True), (1, True)]
    rows = {run["rows"] for run in report["runs"]}
    assert rows == {100} and f"at all {rows.pop()} logged steps of their 20 epochs" in quoted


def readme_snakemake_commands():
    """Every `snakemake …` line of the README's and docs' code blocks, comments removed, `<name>` read as the smoke
    profile."""
    text = "\n".join(p.read_text() for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    lines = re.findall(r"^\s*(snakemake [^#\n]*)", text, re.M)
    return [line.strip().replace("<name>", "smoke") for line in lines]


def test_readme_snakemake_commands_parse(repo_copy):
    """Each README command plans (dry run) with exactly its own arguments and --config strings. `--use-conda` is
    dropped: this machine has no conda, and Snakemake asks conda for its version even in a dry run."""
    import os
    import shlex
    import subprocess

    from tests.conftest import data_dir

    commands = readme_snakemake_commands()
    assert any("--config" in c for c in commands) and any("--use-conda" in c for c in commands)
    for command in commands:
        args = [a for a in shlex.split(command)[1:] if a != "--use-conda"]
        done = subprocess.run(["snakemake", *args, "-n"], cwd=repo_copy, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir())})
        assert done.returncode == 0, f"{command}: {done.stdout[-800:]} {done.stderr[-800:]}"


def test_citation_cff_is_citable():
    import tomllib

    import yaml

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert cff["version"] == version and cff["preferred-citation"]["version"] == version
    import gan_study

    assert gan_study.__version__ == version
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))
    assert "results/" in cff["preferred-citation"]["title"]


def test_readme_bibtex_entry_matches_citation_cff():
    import tomllib

    import yaml

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    entry = re.search(r"```bibtex\n(@misc\{(\w+),\n.*?\n\})\n```", (REPO / "README.md").read_text(), re.S)
    assert entry, "the README's citation section has no BibTeX entry"
    text, key = entry.group(1), entry.group(2)
    assert key not in ("YourReferenceHere", "key", "citation") and str(cff["date-released"])[:4] in key
    fields = dict(re.findall(r"^  (\w+) *= \{(.*)\},?$", text, re.M))
    assert fields["title"] == cff["title"] and fields["author"] == "{" + cff["authors"][0]["name"] + "}"
    assert fields["year"] == str(cff["date-released"])[:4] and fields["month"] == str(int(str(cff["date-released"])[5:7]))
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"Version {version}." in fields["note"]


def test_readme_gpu_numbers_match_the_committed_gpu_files():
    """docs/benchmarks.md quotes bench-cuda.json and graph-check-cuda.json by hand: a rerun must update both."""
    import json

    bench = json.loads((REPO / "results" / "bench" / "bench-cuda.json").read_text())
    check = json.loads((REPO / "results" / "bench" / "graph-check-cuda.json").read_text())
    quoted = passage("benchmarks.md", "GPU run (", "torch.compile")
    assert bench["device"] in quoted and check["device"] in quoted
    for m in bench["models"]:
        rates = m["images_per_s"]
        assert f"{rates['naive']:,.0f}" in quoted and f"{rates['batched_all_seeds']:,.0f}" in quoted, m["model"]
        assert f"{m['ratio_batched_vs_naive']:.2f}×" in quoted, m["model"]
    failed = [m["model"] for m in check["models"] if not m["passed"]]
    assert failed == ["dcgan", "wgan", "wgan_gp"] and "DCGAN, WGAN and WGAN-GP do not" in quoted


def test_a_results_table_names_every_commit_that_trained_the_study():
    """cpu-failures was trained in parts: the table's first line names each training commit, not the first alone."""
    import pandas as pd

    from gan_study.readme import results_table

    study = REPO / "results" / "cpu-failures"
    commits = list(dict.fromkeys(pd.read_csv(study / "parzen_runs.csv")["git_commit"].str[:10]))
    assert len(commits) > 1
    first_line = results_table(study).splitlines()[0]
    assert "trained by commits " + ", ".join(f"`{c}`" for c in commits) + ", device: " in first_line


def test_readme_shows_every_seed_of_the_study():
    """A mean over seeds hides a failed seed: the generated section lists each one."""
    import pandas as pd

    readme = (REPO / "README.md").read_text()
    block = readme[readme.index(START):readme.index(END)]
    study = REPO / "results" / re.search(r"Study `([\w-]+)`", block).group(1)
    for run in pd.read_csv(study / "parzen_runs.csv").itertuples():
        assert f"seed {run.seed}: {run.test_mean_ll:.1f}".replace("-", "−") in block
        if run.status != "completed":  # a failed seed is named as such, never only a number
            assert f"seed {run.seed}: {run.test_mean_ll:.1f}".replace("-", "−") + f" (FID" in block
            assert f"**{run.status}**" in block


def test_the_docs_quote_the_cpu_failure_study():
    """The failure rate, and how near the trained seeds came to collapsing, as the committed study has them."""
    import pandas as pd

    study = REPO / "results" / "cpu-failures"
    quoted = passage("protocol.md", "`results/cpu-failures/` counts", "This study's budget")
    verdict = pd.read_csv(study / "parzen_summary.csv").iloc[0]["verdict"]
    assert verdict[: verdict.index(");") + 1] in quoted  # up to the failure rate's interval
    runs = pd.read_csv(study / "parzen_runs.csv")
    lows, lasts, when = [], [], []
    for seed in runs.loc[runs["status"] == "completed", "seed"]:
        log = pd.read_csv(study / "runs" / "mlp_gan" / "mnist" / f"seed{seed}" / "train_log.csv")
        lows.append(log["d_fake"].min())
        when.append(log.loc[log["d_fake"].idxmin(), "epoch"])
        lasts.append(log["d_fake"].iloc[-1])
    assert f"fell to its lowest, {min(lows):.3f} to {max(lows):.3f}, within its first {math.ceil(max(when))} epochs" \
        in quoted
    assert f"rose again to {min(lasts):.2f} to {max(lasts):.2f} by epoch {int(log['epoch'].iloc[-1])}" in quoted
    summary = pd.read_csv(study / "parzen_summary.csv").iloc[0]
    assert (f"the {summary['trained']} trained seeds' Parzen log-likelihoods have seed std "
            f"{summary['parzen_seed_std']:.1f} nats (range {summary['parzen_min']:.1f} to {summary['parzen_max']:.1f}) "
            f"beside a standard error of {summary['parzen_mean_se']:.1f} over test images "
            f"(mean {summary['parzen_mean']:.1f})") in quoted
    table1 = pd.read_csv(REPO / "results" / "paper" / "parzen_summary.csv").iloc[0]
    assert (f"Table 1's one collapse in five seeds ({100 * table1['failure_rate']:.0f}%, 95% Wilson interval "
            f"{100 * table1['failure_low']:.0f}% to {100 * table1['failure_high']:.0f}%)") in quoted
    assert table1["collapsed"] + table1["diverged"] == 1 and table1["runs"] == 5


def test_the_docs_quote_the_noise_study_and_its_comparison_seed_by_seed():
    """cpu-noise's failure rate, and its seed-by-seed comparison with cpu-failures, as the committed files have them."""
    import pandas as pd

    study = REPO / "results" / "cpu-noise"
    quoted = passage("protocol.md", "`results/cpu-noise/` asks", "TFD is licensed")
    verdict = pd.read_csv(study / "parzen_summary.csv").iloc[0]["verdict"]
    assert verdict[: verdict.index(");") + 1] in quoted  # up to the failure rate's interval
    paired = pd.read_csv(study / "paired_summary.csv").iloc[0]
    assert paired["other_study"] == "cpu-failures"
    assert paired["differs_in"] == "models.mlp_gan.noise gaussian in cpu-noise, uniform in cpu-failures"
    sentence = paired["verdict"]
    assert sentence[sentence.index("over the"): sentence.index("apart") + len("apart")] in quoted
    assert (f"{paired['failed_here_only']} seeds failed with Gaussian noise only, {paired['failed_there_only']} with "
            f"uniform noise only (exact McNemar test, p = {paired['failure_mcnemar_p']:.2f})") in quoted
    assert f"their scores correlate at r = {paired['correlation']:.2f}" in quoted


def test_the_docs_quote_the_cgan_studies_and_their_comparison_seed_by_seed():
    """cpu-cgan's verdict, and how far sampling without the generator's dropout moves it, as the committed files say."""
    import pandas as pd

    quoted = passage("protocol.md", "`results/cpu-cgan/` is", "TFD is licensed")
    verdict = pd.read_csv(REPO / "results" / "cpu-cgan" / "parzen_summary.csv").iloc[0]["verdict"]
    assert verdict[: verdict.index("(test images).") + len("(test images).")] in quoted
    paired = pd.read_csv(REPO / "results" / "cpu-cgan-no-dropout" / "paired_summary.csv").iloc[0]
    assert (paired["other_study"], paired["differs_in"]) == (
        "cpu-cgan", "models.cgan.sample_dropout false in cpu-cgan-no-dropout, true in cpu-cgan")
    sentence = paired["verdict"]
    assert sentence[sentence.index("over the"): sentence.index(" seeds);") + len(" seeds)")] in quoted
    fid = {study: pd.read_csv(REPO / "results" / study / "fid_summary.csv").iloc[0]
           for study in ("cpu-cgan", "cpu-cgan-no-dropout")}
    assert (f"FID on 2,048 images {fid['cpu-cgan-no-dropout']['fid_mean']:.1f} against "
            f"{fid['cpu-cgan']['fid_mean']:.1f} with dropout, recall {fid['cpu-cgan-no-dropout']['recall_mean']:.2f} "
            f"against {fid['cpu-cgan']['recall_mean']:.2f}") in quoted


def test_the_docs_quote_the_conv_study_cell_by_cell():
    """cpu-conv's cells (seeds, Parzen, the checkpoint chosen on validation) and FIDs, as the committed files say."""
    import pandas as pd

    from gan_study.aggregate import cell_outcome

    quoted = passage("protocol.md", "`results/cpu-conv/` trains", "`results/cpu-fashion/` trains")
    summary = pd.read_csv(REPO / "results" / "cpu-conv" / "parzen_summary.csv")
    assert sorted(summary["model"]) == ["dcgan", "wgan", "wgan_gp"]
    for cell in summary.itertuples():
        assert cell_outcome(cell) in quoted, cell.model
    fid = pd.read_csv(REPO / "results" / "cpu-conv" / "fid_summary.csv").set_index("model")
    for model, title in (("dcgan", "DCGAN"), ("wgan_gp", "WGAN-GP"), ("wgan", "WGAN (clipping)")):
        assert f"{title} {fid.loc[model, 'fid_mean']:.1f} ± {fid.loc[model, 'fid_std']:.1f}" in quoted, model
    curves = pd.read_csv(REPO / "results" / "cpu-conv" / "parzen_curves.csv")
    for model in ("wgan", "wgan_gp"):  # "the critics' Parzen numbers peak at epoch 2 and fall after it"
        by_epoch = curves[curves["model"] == model].groupby("epoch")["test_mean_ll"].mean()
        assert by_epoch.idxmax() == 2 and by_epoch.iloc[-1] < by_epoch.max(), model


def test_the_docs_quote_the_fashion_study_as_its_files_say():
    """cpu-fashion's cell, curve, baselines and FID, beside the MNIST numbers they are compared with."""
    import pandas as pd

    from gan_study.aggregate import cell_outcome
    from gan_study.reference import lucic_fid

    quoted = passage("protocol.md", "`results/cpu-fashion/` trains", "TFD is licensed")
    results = REPO / "results"
    cell = next(pd.read_csv(results / "cpu-fashion" / "parzen_summary.csv").itertuples())
    assert cell_outcome(cell) in quoted
    curves = pd.read_csv(results / "cpu-fashion" / "parzen_curves.csv")
    by_epoch = curves.groupby("epoch")["test_mean_ll"].mean()
    assert (f"from {by_epoch[20]:.1f} nats at epoch 20 to {by_epoch.max():.1f} at epoch {by_epoch.idxmax()} "
            f"({by_epoch[50]:.1f} at 50)") in quoted
    baselines = {study: pd.read_csv(results / study / "parzen_baselines.csv").set_index("baseline")
                 for study in ("cpu-fashion", "cpu-long")}
    fashion, mnist = baselines["cpu-fashion"], baselines["cpu-long"]
    assert (f"the training images as centres score {fashion.loc['true_data', 'test_mean_ll']:.1f} ± "
            f"{fashion.loc['true_data', 'test_se']:.1f} nats, k-means centroids of them "
            f"{fashion.loc['kmeans', 'test_mean_ll']:.1f} ± {fashion.loc['kmeans', 'test_se']:.1f} (MNIST, "
            f"`results/cpu-long`: {mnist.loc['true_data', 'test_mean_ll']:.1f} and "
            f"{mnist.loc['kmeans', 'test_mean_ll']:.1f})") in quoted
    fid = {study: pd.read_csv(results / study / "fid_summary.csv").iloc[0] for study in ("cpu-fashion", "cpu")}
    assert (f"FID on 2,048 images {fid['cpu-fashion']['fid_mean']:.1f} ± {fid['cpu-fashion']['fid_std']:.1f}, "
            f"precision {fid['cpu-fashion']['precision_mean']:.2f}, recall {fid['cpu-fashion']['recall_mean']:.2f}"
            ) in quoted
    assert f"FID {fid['cpu']['fid_mean']:.1f}, recall {fid['cpu']['recall_mean']:.2f}" in quoted
    mean, std = lucic_fid("NS GAN", "fashion_mnist")  # quoted from the one file of published numbers
    assert f"Lucic et al.'s best NS GAN on Fashion-MNIST ({mean} ± {std})" in quoted


def test_every_committed_conditional_fid_covers_every_class_and_the_docs_say_what_the_first_ones_scored():
    """A conditional model's samples come in class blocks: its FID images are a tenth per class (`scored_subset`),
    as each record says; docs/protocol says what the cGAN studies' first FID records scored instead."""
    import json

    import torch

    from gan_study.config import load_config
    from gan_study.models import get_variant

    config = json.loads((REPO / "results" / "cpu-cgan" / "config.json").read_text())
    variant = get_variant("cgan", load_config()["models"]["cgan"])
    conditional = [p for p in (REPO / "results").glob("*/runs/*/*/*/fid.json")
                   if get_variant(p.parts[-4], load_config()["models"][p.parts[-4]]).conditional]
    assert conditional
    for path in conditional:
        record = json.loads(path.read_text())
        assert record["generated_per_class"] == torch.bincount(variant.sample_labels(record["n_generated"],
                                                                                    "cpu")).tolist(), path
    quoted = passage("protocol.md", "`results/cpu-cgan/` is the conditional GAN", "`results/cpu-conv/` trains")
    drawn = variant.sample_labels(config["parzen"]["n_samples"], "cpu")
    counts = torch.bincount(drawn[: config["fid"]["n_samples"]]).tolist()  # what the first records scored
    assert counts[:2] == [1000, 1000] and len(counts) == 3
    assert f"the first 2,048 of them, classes 0 and 1 and {counts[2]} images of class 2" in quoted
