import copy
import re

import pandas as pd
import pytest

from gan_study.aggregate import aggregate
from gan_study.config import load_config
from gan_study.errors import GanStudyError
from gan_study.paired import setting_differences
from tests.conftest import REPO
from tests.test_aggregate import write_run


def study(tmp_path, config, name, scores, **model_settings):
    """A study aggregated from fake per-run files: `scores` {seed: test log-likelihood, or a failure status}."""
    config = copy.deepcopy(config)
    config["study"] = name
    config["models"]["mlp_gan"].update(model_settings)
    folder = tmp_path / name
    folder.mkdir()
    files = [write_run(folder, seed, **({"status": v} if isinstance(v, str) else {"ll": v}))
             for seed, v in scores.items()]
    return config, files, folder / "results"


def aggregated(config, files, out, paired_dirs=()):
    return aggregate(config, [p for p, _ in files], [t for _, t in files], out, paired_dirs=paired_dirs)


def test_seeds_are_compared_one_by_one_and_a_failed_seed_is_named_not_differenced(tmp_path, tiny_config):
    other = study(tmp_path, tiny_config, "uniform", {0: 100.0, 1: 110.0, 2: 120.0, 3: "diverged", 7: 90.0})
    aggregated(*other)
    here = study(tmp_path, tiny_config, "gaussian", {0: 104.0, 1: 113.0, 2: 126.0, 3: 130.0}, noise="gaussian")
    aggregated(*here, paired_dirs=[other[2]])
    out = here[2]
    seeds = pd.read_csv(out / "paired_seeds.csv")
    assert seeds["seed"].tolist() == [0, 1, 2, 3]  # seed 7 ran there only
    assert seeds["paired"].tolist() == [True, True, True, False]
    assert seeds["difference"].iloc[:3].tolist() == pytest.approx([4.0, 3.0, 6.0])
    assert seeds["difference"].isna().iloc[3]
    p = pd.read_csv(out / "paired_summary.csv").iloc[0]
    assert (p.common_seeds, p.paired_seeds, p.failed, p.other_failed) == (4, 3, 0, 1)
    assert p.mean_difference == pytest.approx(13 / 3)
    assert p.difference_seed_std == pytest.approx(1.527525) and p.difference_se == pytest.approx(0.881917)
    # The 95% t interval over 3 seeds: t(0.975, 2 degrees of freedom) = 4.302653.
    half = 4.302653 * 0.881917
    assert (p.difference_low, p.difference_high) == pytest.approx((13 / 3 - half, 13 / 3 + half))
    assert p.differs_in == "models.mlp_gan.noise gaussian in gaussian, uniform in uniform"
    assert p.other_failed_seeds == "seed 3 diverged" and p.higher_here == 3
    assert (p.failed_here_only, p.failed_there_only, p.failure_mcnemar_p) == (0, 1, 1.0)  # one discordant seed
    assert "+4.3 nats" in p.verdict and "gaussian's is higher" in p.verdict and "seed 3 diverged" in p.verdict
    table = (out / "tables" / "paired.tex").read_text()
    assert r"\texttt{uniform}" in table and "3 of 4" in table and r"\num{4.3 +- 0.9}" in table
    assert "exact McNemar test of the two failure rates: p = 1.00" in p.verdict
    assert r"\newcommand{\gsPairedVerdicts}{MLP GAN (2014) on MNIST, study gaussian" in (out / "macros.tex").read_text()


def test_an_interval_holding_zero_is_said_to_tell_nothing_apart(tmp_path, tiny_config):
    other = study(tmp_path, tiny_config, "a", {0: 100.0, 1: 110.0, 2: 120.0})
    aggregated(*other)
    here = study(tmp_path, tiny_config, "b", {0: 105.0, 1: 104.0, 2: 123.0})
    aggregated(*here, paired_dirs=[other[2]])
    p = pd.read_csv(here[2] / "paired_summary.csv").iloc[0]
    assert p.difference_low < 0 < p.difference_high
    assert "cannot be told apart" in p.verdict and p.differs_in == "the same settings"
    assert pd.isna(p.failure_mcnemar_p) and "McNemar" not in p.verdict  # no seed failed: nothing to test
    # Its numbers carry a true minus sign, as the tables print them, and the report's macro typesets it.
    low = f"{p.difference_low:+.1f}".replace("-", "\N{MINUS SIGN}")
    assert f"over seeds {low} to +" in p.verdict and not re.search(r"-\d", p.verdict)
    macros = (here[2] / "macros.tex").read_text()
    assert f"over seeds \\textminus{{}}{low[1:]} to +" in macros and "\N{MINUS SIGN}" not in macros


def test_a_study_without_pairing_writes_no_paired_files(tmp_path, tiny_config):
    here = study(tmp_path, tiny_config, "alone", {0: 100.0})
    aggregated(*here)
    assert not list(here[2].rglob("paired*"))
    assert "gsPairedVerdicts" not in (here[2] / "macros.tex").read_text()


@pytest.mark.parametrize("case, message", [
    ("missing", "which has no parzen_runs.csv and config.json"),
    ("itself", "this study's own results"),
    ("disjoint", "ran no (model, dataset, seed) of this study"),
])
def test_a_pairing_that_cannot_be_made_is_refused_before_anything_is_written(tmp_path, tiny_config, case, message):
    other = study(tmp_path, tiny_config, "other", {5: 100.0, 6: 101.0} if case == "disjoint" else {0: 100.0})
    aggregated(*other)
    here = study(tmp_path, tiny_config, "here", {0: 100.0, 1: 99.0})
    if case == "itself":
        here[0]["study"] = "other"  # the named dir holds this study's own earlier results
    named = tmp_path / "nothing" if case == "missing" else other[2]
    with pytest.raises(GanStudyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        aggregated(*here, paired_dirs=[named])
    assert not here[2].exists()


def test_the_cpu_noise_study_differs_from_cpu_failures_in_the_noise_alone():
    """cpu-noise is paired with the committed cpu-failures: the comparison is of the noise, nothing else."""
    here = load_config(REPO / "workflows" / "studies" / "cpu-noise.yaml")
    there = load_config(base=REPO / "results" / "cpu-failures" / "config.json")
    assert here["report"]["paired_with"] == ["results/cpu-failures"] and here["seeds"] == there["seeds"]
    assert setting_differences(here, there, "mlp_gan") == [("models.mlp_gan.noise", "gaussian", "uniform")]


def test_the_failure_rates_are_tested_on_the_seeds_that_failed_on_one_side_only():
    """Exact McNemar: 3 seeds failed here only, 1 there only, 1 on both sides (it counts for neither): p = 0.625."""
    from gan_study.paired import summarise_pair

    statuses = [("collapsed", "completed")] * 3 + [("completed", "collapsed"), ("collapsed", "diverged")] + [
        ("completed", "completed")] * 3
    seeds = pd.DataFrame([{"model": "mlp_gan", "dataset": "mnist", "other_study": "b", "seed": i, "status": here,
                           "other_status": there, "test_mean_ll": 100.0 + i, "other_test_mean_ll": 99.0,
                           "git_commit": "c", "other_git_commit": "c"} for i, (here, there) in enumerate(statuses)])
    seeds["paired"] = (seeds["status"] == "completed") & (seeds["other_status"] == "completed")
    seeds["difference"] = (seeds["test_mean_ll"] - seeds["other_test_mean_ll"]).where(seeds["paired"])
    p = summarise_pair(seeds, [], "a", "b")
    assert (p["failed"], p["other_failed"], p["failed_here_only"], p["failed_there_only"]) == (4, 2, 3, 1)
    assert p["failure_mcnemar_p"] == pytest.approx(0.625) and "p = 0.62" in p["verdict"]
    assert p["paired_seeds"] == 3 and p["mean_difference"] == pytest.approx(7.0)


def test_the_verdict_names_each_sides_commits_and_counts_a_lone_seed_in_words():
    """A side trained in parts lists its commits ("commits a1, b2 in a"), a side of one commit says "commit"; one
    paired seed is "1 seed", never "1 seed(s)"."""
    from gan_study.paired import summarise_pair

    seeds = pd.DataFrame([{"model": "mlp_gan", "dataset": "mnist", "other_study": "b", "seed": i, "status": here,
                           "other_status": "completed", "test_mean_ll": 100.0, "other_test_mean_ll": 99.0,
                           "git_commit": commit, "other_git_commit": "c3"}
                          for i, (here, commit) in enumerate([("completed", "a1"), ("collapsed", "b2")])])
    seeds["paired"] = (seeds["status"] == "completed") & (seeds["other_status"] == "completed")
    seeds["difference"] = (seeds["test_mean_ll"] - seeds["other_test_mean_ll"]).where(seeds["paired"])
    verdict = summarise_pair(seeds, [], "a", "b")["verdict"]
    assert ": 1 seed trained in both, too few to compare." in verdict
    assert verdict.endswith("Trained by the code of commits a1, b2 in a and of commit c3 in b.")
