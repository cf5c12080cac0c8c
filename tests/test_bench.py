"""Benchmarks run by one command and stay out of the default test run (`python -m pytest -m bench`)."""

import pytest
import torch

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


def test_bench_command_measures_naive_resident_and_batched_paths(tmp_path, mnist_dir):
    """The CPU run CI makes: all three training paths and the Parzen ratio, written as JSON (not a timing test)."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    overlay = tmp_path / "cpu.yaml"
    overlay.write_text(f"device: cpu\ndata_dir: {mnist_dir}\n")
    done = subprocess.run([sys.executable, "-m", "gan_study", "--config", str(overlay), "bench", "--quick",
                           "--out-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "bench-cpu.json").read_text())
    assert [m["model"] for m in result["models"]] == ["mlp_gan", "dcgan"]
    for m in result["models"]:
        rates = m["images_per_s"]
        graphed = ("resident_one_seed_cuda_graphs", "batched_vmap_cuda_graphs_all_seeds")
        assert all(rates[k] is None for k in graphed)  # CUDA graphs: GPUs only
        assert all(v > 0 for k, v in rates.items() if k not in graphed) and m["seeds_batched"] == 5
        assert m["ratio_batched_vs_naive"] == pytest.approx(rates["batched_all_seeds"] / rates["naive"], rel=0.02)
        assert m["fraction_of_peak"] is None and "no peak" in m["peak_source"]  # CPUs have no peak entry
        cost = m["checkpoint"]  # what the resumable checkpoint costs: measured, not assumed
        assert cost["bytes"] > 0 and cost["save_s"] > 0 and 0 < cost["share_of_training_written_in_line"] < 1
        # Written in a thread, training waits for the copy to the host (and any write the next epoch cannot hide).
        assert 0 < cost["host_copy_s"] <= cost["stall_s"] <= cost["save_s"]
        assert cost["share_of_training"] <= cost["share_of_training_written_in_line"]
    for m in result["models"]:  # launches: vmap runs every seed in each kernel; seed by seed launches per seed
        ops = m["aten_ops_per_step"]
        assert ops["one_seed"] < ops["vmap_all_seeds"] < ops["seed_by_seed_all_seeds"] < 5 * ops["one_seed"] + 50
        assert ops["seed_by_seed_all_seeds"] > 2 * ops["one_seed"]
    for m in result["models"]:  # what launches a kernel is a subset of what is dispatched
        assert all(m["kernels_per_step"][k] <= m["aten_ops_per_step"][k] for k in m["aten_ops_per_step"])
    mlp = result["models"][0]
    # The target for a 5-seed MLP GAN step (314 operators before stacked draws, the vmapped Linear and foreach SGD).
    assert mlp["kernels_per_step"]["vmap_all_seeds"] <= 180
    # Counted, not assumed: G 100→1200→1200→784 and two passes of the maxout D, forward and backward (≈ 30 MFLOP).
    assert 20e6 < mlp["flops_per_image"] < 40e6
    assert result["parzen"]["max_abs_difference_nats"] < 1e-8 and result["parzen"]["speedup"] > 1
    assert result["packages"]["torch"] and "cpu" in result["device"]
    assert "× naive" in done.stdout and "Parzen" in done.stdout


def test_device_peaks_come_from_the_cited_file():
    from gan_study.reference import device_peak

    h100 = device_peak("NVIDIA H100 80GB HBM3")
    assert h100["fp32_tflops"] == 67.0 and "datasheet" in h100["citation"]
    assert device_peak("cpu (x86_64, 2 threads)") is None


def test_bench_stack_times_each_stack_size_beside_the_naive_loop_and_writes_a_trace(tmp_path, tiny_config):
    """Speeds by models per stack, their ratios to the naive loop measured in the same run, and a readable profiler
    trace with the operators that took the most time (plumbing, not speed)."""
    import gzip
    import json

    from gan_study.bench_stack import bench_stack

    result = bench_stack(tiny_config, "mlp_gan", sizes=(1, 2), steps=2, warmup=1, trace_models=2, trace_steps=2,
                         out_dir=tmp_path, compile_backend="aot_eager")
    assert json.loads((tmp_path / "stack-cpu.json").read_text()) == json.loads(json.dumps(result))
    assert [row["models"] for row in result["stacks"]] == [1, 2] and not result["vmapped"]
    assert result["compiled"]["backend"] == "aot_eager" and result["compiled"]["models"] == 2
    for row in [*result["stacks"], result["compiled"]]:
        assert row["images_per_s"] > 0
        assert row["ratio_vs_naive"] == pytest.approx(row["images_per_s"] / result["naive_images_per_s"], abs=0.01)
    trace = json.loads(gzip.decompress((tmp_path / result["trace"]["file"]).read_bytes()))
    assert any(event.get("name") == "aten::mm" for event in trace["traceEvents"])
    top = result["trace"]["top_operators"]
    assert top and {"aten::mm", "aten::addmm"} & {op["name"] for op in top}
    assert [op["self_time_us"] for op in top] == sorted((op["self_time_us"] for op in top), reverse=True)
