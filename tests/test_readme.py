"""The README's results table is generated from the committed results; it must be current."""

import re

import pytest

from gan_study.readme import END, START, results_table
from tests.conftest import REPO


def committed_studies():
    return sorted(p.parent for p in (REPO / "results").glob("*/parzen_summary.csv") if p.parent.name != "smoke")


def test_readme_results_table_matches_committed_results():
    studies = committed_studies()
    assert studies, "results/ holds no committed study (results/<study>/parzen_summary.csv)"
    readme = (REPO / "README.md").read_text()
    block = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    assert block, "README has no generated results section"
    assert block.group(1) == results_table(studies[0]), (
        f"README is out of date: run python -m gan_study readme --results-dir results/{studies[0].name}"
    )


def test_committed_results_carry_provenance():
    import pandas as pd

    for study in committed_studies():
        runs = pd.read_csv(study / "parzen_runs.csv")
        assert runs["git_commit"].str.fullmatch(r"[0-9a-f]{40}").all()
        assert (~runs["git_dirty"]).all(), "committed results must come from a clean checkout"
        assert runs["run_config_hash"].str.fullmatch(r"[0-9a-f]{12}").all()
        for run in runs.itertuples():
            assert (study / "runs" / run.model / run.dataset / f"seed{run.seed}" / "parzen.json").is_file()
