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
    for m in result["models"]:  # launches: vmap runs every seed in each kernel; seed by seed launches per seed
        ops = m["aten_ops_per_step"]
        assert ops["one_seed"] < ops["vmap_all_seeds"] < ops["seed_by_seed_all_seeds"] < 5 * ops["one_seed"] + 50
        assert ops["seed_by_seed_all_seeds"] > 2 * ops["one_seed"]
    mlp = result["models"][0]
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


def test_graph_check_compares_replayed_and_eager_training(tmp_path, tiny_config):
    """Off a GPU the replay is emulated (the machinery, not a capture, is checked) and the JSON says so."""
    import json

    from gan_study.bench import graph_check_command

    tiny_config["models"]["dcgan"].update(train_limit=640, width=8)

    class Args:
        models, seeds, steps, out_dir = ["mlp_gan", "dcgan"], 2, 4, str(tmp_path)

    graph_check_command(tiny_config, Args())
    result = json.loads((tmp_path / "graph-check-cpu.json").read_text())
    assert result["backend"] == "EagerReplay" and result["passed"] and result["steps"] == 4
    assert [m["model"] for m in result["models"]] == ["mlp_gan", "dcgan"]
    assert all(m["captured"] and m["max_abs_loss_difference"] < 1e-5 for m in result["models"])
    # Eager training run twice from the same seeds: on a CPU it repeats bitwise (the baseline a GPU check reports).
    assert all(m["eager_repeat_max_abs_loss_difference"] == 0.0 == m["eager_repeat_max_abs_weight_difference"]
               for m in result["models"])


def test_graph_check_fails_loudly_when_replay_and_eager_disagree(tmp_path, tiny_config, monkeypatch):
    import json

    from gan_study import bench
    from gan_study.errors import GanStudyError
    from gan_study.graphs import EagerReplay

    class Drifting(EagerReplay):  # a replay that reads stale inputs: the kind of bug the check exists for
        @staticmethod
        def capture(step, generators):
            def replay():
                outputs = step()
                return {k: None if v is None else v + 1e-2 for k, v in outputs.items()}
            return replay

    monkeypatch.setattr(bench, "EagerReplay", Drifting)

    class Args:
        models, seeds, steps, out_dir = ["mlp_gan"], 1, 3, str(tmp_path)

    with pytest.raises(GanStudyError, match="mlp_gan replayed from CUDA graphs do not agree .* keep cuda_graphs: false"):
        bench.graph_check_command(tiny_config, Args())
    result = json.loads((tmp_path / "graph-check-cpu.json").read_text())
    assert not result["passed"] and result["models"][0]["max_abs_loss_difference"] > 5e-3
    assert result["models"][0]["eager_repeat_max_abs_loss_difference"] == 0.0  # the drift is the replay's alone


def test_graph_check_keeps_a_copy_of_every_replayed_step(tiny_config):
    """A replay returns the same static tensors every step (a CUDA graph's outputs; emulated on the CPU): kept without
    a copy, every row would read as the last one and the check would compare nothing. The check copies each step, and
    compares the generator loss of every step that has one (WGAN: one in five)."""
    from gan_study.bench import _step_losses, _trainer
    from gan_study.graphs import EagerReplay

    tiny_config["models"]["wgan"].update(train_limit=640, width=8)
    trainer = _trainer(tiny_config, "wgan", [0, 1], True, EagerReplay())
    from gan_study.bench import _resident_batches

    batches = _resident_batches(trainer)
    kept = [trainer.step(*batches(i)) for i in range(3)]
    assert kept[0]["d_loss"] is kept[2]["d_loss"]  # the static outputs: the trap
    losses = _step_losses(trainer, 10)
    assert losses["d_loss"].shape == (10, 2) and not torch.equal(losses["d_loss"][0], losses["d_loss"][-1])
    assert losses["g_loss"].shape == (2, 2)  # steps 5 and 10 of the 13: every fifth step updates the generator
