import json
from pathlib import Path

import pytest

from gan_study.config import load_config
from gan_study.toy1d import DATA_MEAN, DATA_STD, figure1

REPO = Path(__file__).resolve().parent.parent


def test_figure1_comes_from_a_1d_gan_that_learns(tiny_config, tmp_path):
    summary = figure1(tiny_config, tmp_path / "figure1.pdf", tmp_path / "figure1.json")
    a, b, d = summary["a"], summary["b"], summary["d"]
    assert b["d_on_data"] > a["d_on_data"] and b["d_on_data"] > 0.9  # (b) D trained towards D*
    assert abs(d["p_g_mean"] - DATA_MEAN) < abs(a["p_g_mean"] - DATA_MEAN) / 2  # (d) p_g moved to the data
    assert d["d_on_data"] == pytest.approx(0.5, abs=0.1)  # (d) D ≈ ½
    assert (tmp_path / "figure1.pdf").stat().st_size > 1000
    tex = (tmp_path / "figure1.tex").read_text()
    assert f"{d['p_g_mean']:.2f}" in tex and f"{d['d_gap_near_data']:.2f} of" in tex
    assert f"$k={tiny_config['figure1']['d_steps_per_g_step']}$" in tex and "results/figures/figure1.pdf" in tex
    assert json.loads((tmp_path / "figure1.json").read_text())["stages"]["d"] == d


@pytest.mark.parametrize("study", sorted(p.parents[1].name for p in REPO.glob("results/*/figures/figure1.json")))
def test_every_committed_figure1_is_todays_and_shows_the_papers_panel_d(study):
    """Every committed report's Figure 1 was drawn with today's settings, and its panel (d) is what the paper draws:
    p_g on p_data (mean and spread) and D ≈ ½ across the data's central 95%."""
    made = json.loads((REPO / "results" / study / "figures" / "figure1.json").read_text())
    assert made["config"] == load_config()["figure1"], (
        f"results/{study}: delete its figures/figure1.* and run python -m gan_study reaggregate --study {study}")
    d = made["stages"]["d"]
    assert d["p_g_mean"] == pytest.approx(DATA_MEAN, abs=0.1) and d["p_g_std"] == pytest.approx(DATA_STD, abs=0.05)
    assert d["d_on_data"] == pytest.approx(0.5, abs=0.03) and d["d_gap_near_data"] < 0.15
