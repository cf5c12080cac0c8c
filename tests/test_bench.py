"""Benchmarks run by one command and stay out of the default test run (`python -m pytest -m bench`)."""

import pytest

from gan_study.bench import bench_parzen


def test_bench_parzen_reports_a_ratio_with_equal_numbers(tmp_path):
    # Small sizes: this checks the benchmark's plumbing and equality, not speed.
    r = bench_parzen(200, 20, 50, 4, 10, device="cpu", out=tmp_path / "b.json")
    assert r["max_abs_difference_nats"] < 1e-8 and r["speedup"] > 0 and (tmp_path / "b.json").is_file()


@pytest.mark.bench
def test_bench_parzen_paper_size(tmp_path):
    r = bench_parzen(10_000, 1000, 784, 10, 1000, device="auto", out=tmp_path / "parzen.json")
    print(f"Parzen speed-up at the paper's size: {r['speedup']}×")
    assert r["max_abs_difference_nats"] < 1e-6
