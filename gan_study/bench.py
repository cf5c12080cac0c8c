"""Benchmarks: ratios measured side by side in one run, never asserted as timed tests.

`python -m gan_study bench` times GAN training three ways on the same device, in one run, with the same
training step (`train.Trainer.step`, the one the study runs), so the ratios isolate the data path, host syncs and seed batching:
- naive: the loop a first PyTorch GAN uses — a DataLoader over the images (converted per item, as
  torchvision's ToTensor does), each batch copied to the device, one seed, losses read with `.item()` every step;
- resident: our training path for one seed — images on the device, minibatches by index, no host syncs;
- batched: our path with S seeds as one SeedStack (what `batch_seeds: true` trains), both vmapped and seed by
  seed; the headline uses the mode training uses on this device (vmap on GPUs, seed by seed on CPUs).
On a GPU it also times one seed and all seeds replayed from CUDA graphs (gan_study/graphs.py). It reports images/s
(per seed and over all seeds), achieved TFLOP/s (FLOPs of one step counted by
torch.utils.flop_counter), the fraction of the device's peak (gan_study/reference/devices.yaml), and the
Parzen distances-once vs per-σ ratio, and writes it all as JSON with the device and package versions.

`python -m gan_study graph-check` is no benchmark but the check a GPU run of CUDA graphs needs first: each model
trained a few steps eagerly and from graphs, side by side, losses and weights compared.

`python -m gan_study bench-parzen` times the Parzen estimator both ways on the same inputs — squared distances
computed once per block and reused for every σ (ours) against the original's recomputation for every σ — checks
that both give the same numbers, and prints and writes the speed ratio with the device and package versions.
"""

import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader, Dataset

from .atomic import write_json
from .parzen import parzen_log_likelihood, parzen_log_likelihood_per_sigma
from .provenance import device_name, git_state, now, package_versions
from .reference import device_peak
from .runtime import resolve_device, set_tf32
from .graphs import CudaGraphs
from .train import Trainer
from .commands import arg, command


def _timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def bench_parzen(n_centres, n_points, dim, n_sigmas, block_size, device="auto", seed=0, out=None, quiet=False):
    device = resolve_device(device)
    g = torch.Generator(device=device).manual_seed(seed)
    centres = torch.rand(n_centres, dim, generator=g, device=device)
    x = torch.rand(n_points, dim, generator=g, device=device)
    sigmas = np.logspace(-1, 0, n_sigmas)
    once, t_once = _timed(lambda: parzen_log_likelihood(x, centres, sigmas, block_size), device)
    per_sigma, t_per_sigma = _timed(lambda: parzen_log_likelihood_per_sigma(x, centres, sigmas), device)
    max_diff = float((once - per_sigma).abs().max())
    result = {
        "benchmark": "parzen distances-once vs per-sigma recomputation",
        "per_sigma_batch": 10, "n_centres": n_centres, "n_points": n_points, "dim": dim, "n_sigmas": n_sigmas, "block_size": block_size,
        "seconds_distances_once": round(t_once, 4), "seconds_per_sigma": round(t_per_sigma, 4),
        "speedup": round(t_per_sigma / t_once, 2), "max_abs_difference_nats": max_diff,
        "device": device_name(device), "packages": package_versions(), "date": now(),
    }
    if not quiet:
        print(f"Parzen, {n_points} points × {n_centres} centres × {dim} dims × {n_sigmas} σ on {result['device']}: "
              f"distances once {t_once:.3f} s, per-σ recomputation {t_per_sigma:.3f} s → {result['speedup']:.1f}× "
              f"(max difference {max_diff:.2e} nats)")
    if out:
        write_json(out, result)
    return result


class PerItemImages(Dataset):
    """uint8 images turned into floats one item at a time, as a torchvision dataset with ToTensor would."""

    def __init__(self, images_uint8):
        self.images = images_uint8

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        return self.images[i].float().div(255)


def _labels(trainer, batch, n_seeds=1):
    """Class labels for a conditional model's minibatch (the first `batch` training labels per seed), else None."""
    if not trainer.variant.conditional:
        return None
    return trainer.train_y[:batch].expand(n_seeds, batch)


def _trainer(config, model, seeds, vectorized=None, graph_backend=None):
    """The study's own Trainer (nets, optimisers, RNG streams, schedule), with no checkpoints or outputs."""
    return Trainer(config, model, "mnist", seeds, vectorized=vectorized, graph_backend=graph_backend)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed_steps(trainer, steps, warmup, next_batch, read_losses=False):
    """Seconds for `steps` calls of `trainer.step` after `warmup` untimed ones; `next_batch(done)` gives (x, y).
    `read_losses`: copy every step's losses to the host, as a loop that logs each step does (a sync per step)."""
    t0 = None
    for done in range(warmup + steps):
        if done == warmup:
            _sync(trainer.device)
            t0 = time.perf_counter()
        values = trainer.step(*next_batch(done))
        if read_losses:
            _ = {k: v.tolist() for k, v in values.items() if v is not None}
    _sync(trainer.device)
    return time.perf_counter() - t0


def _naive(config, model, steps, warmup):
    trainer = _trainer(config, model, [0])
    images = trainer.variant.to_unit_range(trainer.train_x).cpu()
    as_uint8 = (images * 255).round().to(torch.uint8)
    loader = DataLoader(PerItemImages(as_uint8), batch_size=trainer.batch, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0), pin_memory=trainer.device.type == "cuda")
    batches = iter(loader)

    def next_batch(done):
        nonlocal batches
        x = next(batches, None)
        if x is None:
            batches = iter(loader)
            x = next(batches)
        x = trainer.variant.from_unit_range(x.to(trainer.device))[None]
        return x, _labels(trainer, x.shape[1])

    return _timed_steps(trainer, steps, warmup, next_batch, read_losses=True)


def _resident(config, model, steps, warmup, seeds, vectorized=None, graph_backend=None):
    trainer = _trainer(config, model, seeds, vectorized, graph_backend)
    seconds = _timed_steps(trainer, steps, warmup, trainer.steps_through_epochs())
    return seconds if graph_backend is None or trainer.graphed is not None else None  # None: capture failed


def step_flops(config, model):
    """FLOPs of one training step of one seed (forward and backward), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = _trainer(config, model, [0])
    x = trainer.train_x[None, : trainer.batch]
    with FlopCounterMode(display=False) as counter:
        trainer.step(x, _labels(trainer, trainer.batch, 1))
    return counter.get_total_flops()


# Operators that launch no kernel: a reshape that copies nothing, an allocation, the optimiser's profiler markers.
NO_KERNEL = ("aten._unsafe_view.default", "aten.empty.memory_format", "aten.empty_strided.default")


class KernelCounter(TorchDispatchMode):
    """Records the operators (views excluded) dispatched while active. On a GPU each aten operator is about one kernel
    launch, and the paper's nets are so small that launches, not arithmetic, bound a training step: this is the launch
    count a CPU can measure. `kernels` leaves out what launches none (NO_KERNEL, and operators outside aten)."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view:  # a view launches no kernel
            self.ops.append(str(func))
        return func(*args, **(kwargs or {}))

    @property
    def aten_ops(self):
        return [op for op in self.ops if op.startswith("aten.")]

    @property
    def kernels(self):
        return [op for op in self.aten_ops if op not in NO_KERNEL]


def step_ops(config, model, seeds, vectorized=None):
    """The operators of one training step of `seeds` (after one untimed step, so optimiser state exists): every one
    dispatched (as counted before `kernels`), and those that launch a kernel."""
    trainer = _trainer(config, model, seeds, vectorized)
    x = trainer.train_x[: trainer.batch].expand(len(seeds), *trainer.train_x[: trainer.batch].shape)
    y = _labels(trainer, trainer.batch, len(seeds))
    trainer.step(x, y)
    with KernelCounter() as counter:
        trainer.step(x, y)
    return {"ops": len(counter.ops), "kernels": len(counter.kernels)}


def bench_training(config, model, n_seeds, steps, warmup, device):
    cfg = config["models"][model]
    batch = cfg["batch_size"]
    seeds = list(range(n_seeds))
    t_naive = _naive(config, model, steps, warmup)
    t_single = _resident(config, model, steps, warmup, [0])
    t_vmap = _resident(config, model, steps, warmup, seeds, vectorized=True)
    t_loop = _resident(config, model, steps, warmup, seeds, vectorized=False)
    t_graph_single = t_graph = None  # CUDA graphs: GPUs only; the warm-up steps include the capture
    if device.type == "cuda":
        t_graph_single = _resident(config, model, steps, warmup, [0], True, CudaGraphs())
        t_graph = _resident(config, model, steps, warmup, seeds, True, CudaGraphs())
    flops = step_flops(config, model)
    counts = {"one_seed": step_ops(config, model, [0]), "vmap_all_seeds": step_ops(config, model, seeds, True),
              "seed_by_seed_all_seeds": step_ops(config, model, seeds, False)}
    ops = {kind: {key: count[kind] for key, count in counts.items()} for kind in ("ops", "kernels")}
    naive, single = steps * batch / t_naive, steps * batch / t_single
    vmap_total, loop_total = (steps * batch * n_seeds / t for t in (t_vmap, t_loop))
    graph_single, graph_total = (None if t is None else steps * batch * k / t for t, k in ((t_graph_single, 1),
                                                                                           (t_graph, n_seeds)))
    # The headline is the fastest way train_seeds trains on this device: vmap (with CUDA graphs when they captured)
    # on GPUs, seed by seed on CPUs.
    default_mode = "seed_by_seed" if device.type == "cpu" else "vmap" if graph_total is None else "vmap+cuda_graphs"
    batched_total = {"seed_by_seed": loop_total, "vmap": vmap_total, "vmap+cuda_graphs": graph_total}[default_mode]
    record = _training_record(config, model, n_seeds, steps, warmup, device, flops,
                              {"naive": naive, "single": single, "vmap": vmap_total, "loop": loop_total,
                               "graph_single": graph_single, "graph": graph_total,
                               "batched": batched_total, "mode": default_mode, "ops": ops})
    record["checkpoint"] = checkpoint_cost(config, model, seeds, batched_total)
    return record


def checkpoint_cost(config, model, seeds, images_per_s, repeats=3):
    """What the resumable checkpoint costs a run of `seeds` trained together: its size, the seconds its copy to the
    host and its (atomic) write take (medians of `repeats`), and what training waits for as a share of training at
    `images_per_s` (seed-images/s) and the model's `checkpoint_every`: the copy, plus whatever of the write the
    epochs until the next checkpoint do not hide (training writes it in a thread: run_files.BackgroundCheckpoint)."""
    import tempfile

    from . import checkpoint
    from .run_files import host_copy

    trainer = _trainer(config, model, seeds)  # vmapped or seed by seed as train_seeds would on this device
    next_batch = trainer.steps_through_epochs()
    trainer.step(*next_batch(0))  # optimiser state exists, as in a real checkpoint
    copies, writes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkpoint.pt"
        for _ in range(repeats):
            t0 = time.perf_counter()
            state = host_copy(trainer.state_dict())
            _sync(trainer.device)
            t1 = time.perf_counter()
            checkpoint.save(path, state)
            copies.append(t1 - t0)
            writes.append(time.perf_counter() - t1)
        size = path.stat().st_size
    copy_s, write_s = (sorted(times)[len(times) // 2] for times in (copies, writes))
    epoch_s = trainer.n_batches * trainer.batch * len(seeds) / images_per_s
    every = config["models"][model]["checkpoint_every"]
    stall_s = copy_s + max(0.0, write_s - every * epoch_s)
    return {"bytes": size, "host_copy_s": round(copy_s, 4), "save_s": round(copy_s + write_s, 4),
            "stall_s": round(stall_s, 4), "epoch_training_s": round(epoch_s, 3), "checkpoint_every": every,
            "share_of_training": round(stall_s / (every * epoch_s + stall_s), 6),
            "share_of_training_written_in_line": round((copy_s + write_s) / (every * epoch_s + copy_s + write_s), 6)}


def _rounded(value):
    return None if value is None else round(value, 1)


def _training_record(config, model, n_seeds, steps, warmup, device, flops, speed):
    cfg = config["models"][model]
    batch = cfg["batch_size"]
    naive, single, vmap_total, loop_total = speed["naive"], speed["single"], speed["vmap"], speed["loop"]
    batched_total, default_mode = speed["batched"], speed["mode"]
    tflops = flops / batch * batched_total / 1e12
    peak = device_peak(device_name(device)) if device.type == "cuda" else None
    precision = "tf32" if config["allow_tf32"] and device.type == "cuda" else "fp32"
    return {
        "model": model, "batch_size_per_seed": batch, "seeds_batched": n_seeds, "timed_steps": steps,
        "warmup_steps": warmup, "update_order": cfg["update_order"],
        "batched_mode": default_mode,
        "flops_per_image": flops / batch,
        # Operators per training step: one seed, and all seeds both ways. Every one dispatched (views excluded), and
        # those that launch a kernel (≈ launches on a GPU; allocations, copy-free reshapes and markers left out).
        "aten_ops_per_step": speed["ops"]["ops"],
        "kernels_per_step": speed["ops"]["kernels"],
        # Images/s summed over seeds: with S seeds batched, the time to train S seeds is S/this per image.
        "images_per_s": {"naive": round(naive, 1), "resident_one_seed": round(single, 1),
                         "batched_all_seeds": round(batched_total, 1), "batched_vmap_all_seeds": round(vmap_total, 1),
                         "batched_seed_by_seed_all_seeds": round(loop_total, 1),
                         # CUDA graphs: GPUs only (None on CPUs, or where the capture failed).
                         "resident_one_seed_cuda_graphs": _rounded(speed["graph_single"]),
                         "batched_vmap_cuda_graphs_all_seeds": _rounded(speed["graph"])},
        "ratio_batched_vs_naive": round(batched_total / naive, 2),
        "ratio_resident_vs_naive": round(single / naive, 2),
        "achieved_tflops": round(tflops, 4),
        "precision": precision,
        "peak_tflops": None if peak is None else peak[f"{precision}_tflops"],
        "fraction_of_peak": None if peak is None else round(tflops / peak[f"{precision}_tflops"], 5),
        "peak_source": "no peak figure for CPUs in gan_study/reference/devices.yaml" if peak is None
        else peak["citation"],
    }


def _describe(r, n_seeds):
    ips, ops = r["images_per_s"], r["kernels_per_step"]
    graphed = ips["batched_vmap_cuda_graphs_all_seeds"]
    return (f"{r['model']}: naive {ips['naive']:.0f} img/s | resident, 1 seed {ips['resident_one_seed']:.0f} img/s | "
            f"{n_seeds} seeds batched {ips['batched_all_seeds']:.0f} seed-img/s ({r['batched_mode']}; vmap "
            f"{ips['batched_vmap_all_seeds']:.0f}, seed by seed {ips['batched_seed_by_seed_all_seeds']:.0f}"
            + ("" if graphed is None else f", vmap + CUDA graphs {graphed:.0f}")
            + f") → {r['ratio_batched_vs_naive']}× naive; kernels per step: 1 seed {ops['one_seed']}, "
            f"{n_seeds} seeds {ops['vmap_all_seeds']} vmapped / {ops['seed_by_seed_all_seeds']} seed by seed; "
            f"{r['achieved_tflops']:.3f} TFLOP/s"
            + (f"; checkpoint {r['checkpoint']['bytes'] / 2**20:.0f} MiB in {r['checkpoint']['save_s']} s, of which "
               f"training waits {r['checkpoint']['stall_s']} s: {100 * r['checkpoint']['share_of_training']:.1f}% of "
               f"training (written in line: {100 * r['checkpoint']['share_of_training_written_in_line']:.1f}%) at every "
               f"{r['checkpoint']['checkpoint_every']} epoch(s)" if r.get("checkpoint") else "")
            + ("" if r["fraction_of_peak"] is None else f" = {100 * r['fraction_of_peak']:.2f}% of {r['precision']} peak"))


def bench(config, models=("mlp_gan", "dcgan"), n_seeds=5, steps=50, warmup=5, parzen_size=(10_000, 1000),
          out_dir="results/bench"):
    """Run the training and Parzen benchmarks on config['device'] and write bench-<device type>.json."""
    device = resolve_device(config["device"])
    set_tf32(config["allow_tf32"])
    result = {"benchmark": "training throughput (naive vs resident vs seeds batched) and Parzen",
              "device": device_name(device), "packages": package_versions(), "git": git_state(), "date": now(),
              "models": []}
    for model in models:
        r = bench_training(config, model, n_seeds, steps, warmup, device)
        result["models"].append(r)
        print(_describe(r, n_seeds))
    centres, points = parzen_size
    result["parzen"] = bench_parzen(centres, points, 784, 10, 1000, device=config["device"], quiet=True)
    p = result["parzen"]
    print(f"Parzen ({points} points × {centres} centres × 784 dims × 10 σ): distances once {p['seconds_distances_once']} s "
          f"vs per-σ recomputation {p['seconds_per_sigma']} s → {p['speedup']}×")
    path = Path(out_dir) / f"bench-{device.type}.json"
    write_json(path, result)
    print(f"written to {path}")
    return result


@command("bench", [
    arg("--models", nargs="+", default=["mlp_gan", "dcgan"]),
    arg("--seeds", type=int, default=5, help="seeds trained together in the batched path"),
    arg("--steps", type=int, default=50, help="timed training steps per path"), arg("--warmup", type=int, default=5),
    arg("--parzen-centres", type=int, default=10_000), arg("--parzen-points", type=int, default=1000),
    arg("--quick", action="store_true",
        help="CPU-sized run (8 steps, Parzen 2,000 × 200): checks the benchmark, not the hardware"),
    arg("--out-dir", default="results/bench", help="writes bench-<cpu|cuda>.json here")])
def bench_command(config, args):
    if args.quick:
        args.steps, args.warmup, args.parzen_centres, args.parzen_points = 8, 2, 2000, 200
    bench(config, args.models, args.seeds, args.steps, args.warmup, (args.parzen_centres, args.parzen_points),
          args.out_dir)


@command("bench-parzen", [
    arg("--centres", type=int, default=10_000), arg("--points", type=int, default=1000, help="validation points"),
    arg("--dim", type=int, default=784), arg("--sigmas", type=int, default=10), arg("--block-size", type=int, default=1000),
    arg("--device", default="auto"), arg("--out", help="write the result as JSON (e.g. results/bench/parzen-cpu.json)")])
def bench_parzen_command(config, args):
    bench_parzen(args.centres, args.points, args.dim, args.sigmas, args.block_size, args.device, out=args.out)
