import json

import pytest

from gan_study.toy1d import DATA_MEAN, figure1


def test_figure1_comes_from_a_1d_gan_that_learns(tiny_config, tmp_path):
    summary = figure1(tiny_config, tmp_path / "figure1.pdf", tmp_path / "figure1.json")
    a, b, d = summary["a"], summary["b"], summary["d"]
    assert b["d_on_data"] > a["d_on_data"] and b["d_on_data"] > 0.9  # (b) D trained towards D*
    assert abs(d["p_g_mean"] - DATA_MEAN) < abs(a["p_g_mean"] - DATA_MEAN) / 2  # (d) p_g moved to the data
    assert d["d_on_data"] == pytest.approx(0.5, abs=0.1)  # (d) D ≈ ½
    assert (tmp_path / "figure1.pdf").stat().st_size > 1000
    tex = (tmp_path / "figure1.tex").read_text()
    assert f"{d['p_g_mean']:.2f}" in tex and "results/figures/figure1.pdf" in tex
    assert json.loads((tmp_path / "figure1.json").read_text())["stages"]["d"] == d
