"""bench-stack: how training speed grows with the models trained as one stack, and where a step's time goes.

On a GPU the paper's nets leave the device mostly idle: a 5-seed step of the MLP GAN is a few hundred small kernels,
so more models per stack (seeds, or cells whose schedules agree) buy speed almost for free until the arithmetic fills
the device. `python -m gan_study bench-stack` times the naive one-seed loop and then stacks of each size side by side
in one run, on the path training takes on this device (`train_seeds`' default: vmapped on GPUs, seed by seed on
CPUs; also replayed from CUDA graphs on GPUs), records a `torch.profiler` trace of a few steps of one stack with
the operators that took the most time, and with `--compile` times that stack with its nets compiled (config
`torch_compile`, off until such a measurement says it pays). Ratios, never timed assertions:
`results/bench/stack-<device>.json`.
"""

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import torch

from .atomic import atomic_path, write_json
from .bench import _naive, _resident, _trainer
from .commands import arg, command
from .graphs import CudaGraphs
from .provenance import device_name, git_state, now, package_versions
from .runtime import resolve_device, set_tf32


def stack_speed(config, model, size, steps, warmup, device, naive):
    """Seed-images/s of a `size`-model stack eagerly (and from CUDA graphs on a GPU), and their ratios to `naive`."""
    batch, seeds = config["models"][model]["batch_size"], list(range(size))
    row = {"models": size, "images_per_s": round(steps * batch * size / _resident(config, model, steps, warmup,
                                                                                   seeds), 1)}
    if device.type == "cuda":
        graphed = _resident(config, model, steps, warmup, seeds, graph_backend=CudaGraphs())
        row["images_per_s_cuda_graphs"] = None if graphed is None else round(steps * batch * size / graphed, 1)
    for key in [k for k in row if k.startswith("images_per_s")]:
        row[key.replace("images_per_s", "ratio_vs_naive")] = None if row[key] is None else round(row[key] / naive, 2)
    print(f"bench-stack {model}, {size} model(s) per stack"
          + (f", torch.compile ({config['torch_compile']})" if config.get("torch_compile") else "") + ": "
          + ", ".join(f"{k} {v}" for k, v in row.items() if k != "models"), flush=True)
    return row


def stack_speeds(config, model, sizes, steps, warmup, device):
    """Per stack size: seed-images/s eagerly (and from CUDA graphs on a GPU), and the ratios to the naive loop."""
    naive = steps * config["models"][model]["batch_size"] / _naive(config, model, steps, warmup)
    return {"naive_images_per_s": round(naive, 1),
            "stacks": [stack_speed(config, model, size, steps, warmup, device, naive) for size in sizes]}


def profile_steps(config, model, size, steps, trace_path, top=15):
    """`steps` training steps of a `size`-model stack (after two untimed ones) under torch.profiler, eagerly (a
    graph replay hides its kernels from the host's view); the Chrome trace is written gzipped to `trace_path` and the
    `top` operators by their own time are returned."""
    trainer = _trainer(config, model, list(range(size)))
    cuda = trainer.device.type == "cuda"
    if not cuda:  # the profiler's library reports, as an error, that it found no GPU
        os.environ.setdefault("KINETO_LOG_LEVEL", "5")
    from torch.profiler import ProfilerActivity, profile

    next_batch = trainer.steps_through_epochs()
    for done in range(2):
        trainer.step(*next_batch(done))
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
    with profile(activities=activities) as prof:
        for done in range(2, 2 + steps):
            trainer.step(*next_batch(done))
        if cuda:
            torch.cuda.synchronize()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(raw))
        with atomic_path(trace_path) as part, raw.open("rb") as src, gzip.open(part, "wb") as dst:
            shutil.copyfileobj(src, dst)
    own = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, own), reverse=True)[:top]
    return [{"name": e.key, "calls": e.count, "self_time_us": round(getattr(e, own), 1),
             "self_time_us_per_step": round(getattr(e, own) / steps, 2)} for e in events]


def bench_stack(config, model="mlp_gan", sizes=(1, 5, 10, 20), steps=50, warmup=5, trace_models=5, trace_steps=20,
                out_dir="results/bench", compile_backend=None):
    """Writes stack-<device>.json once the stacks are timed and the trace taken, and again with the compiled stack
    (`compile_backend`: config `torch_compile` at the traced size, compilation in its warm-up) when that is done."""
    device = resolve_device(config["device"])
    set_tf32(config["allow_tf32"])
    out = Path(out_dir)
    trace = out / f"trace-{device.type}-{model}-{trace_models}.json.gz"
    result = {"benchmark": "training speed by models per stack, side by side, and a profiler trace",
              "model": model, "timed_steps": steps, "warmup_steps": warmup, "device": device_name(device),
              "packages": package_versions(), "git": git_state(), "date": now(),
              "vmapped": device.type != "cpu", **stack_speeds(config, model, sizes, steps, warmup, device),
              "trace": {"models": trace_models, "steps": trace_steps, "file": trace.name,
                        "top_operators": profile_steps(config, model, trace_models, trace_steps, trace)}}
    path = out / f"stack-{device.type}.json"
    write_json(path, result)
    print(f"written to {path} and {trace}")
    if compile_backend:
        compiled = {**config, "torch_compile": compile_backend}
        result["compiled"] = {"backend": compile_backend, **stack_speed(compiled, model, trace_models, steps, warmup,
                                                                        device, result["naive_images_per_s"])}
        write_json(path, result)
    return result


@command("bench-stack", [
    arg("--model", default="mlp_gan"),
    arg("--sizes", type=int, nargs="+", default=[1, 5, 10, 20], help="models per stack to time"),
    arg("--steps", type=int, default=50, help="timed training steps per stack size"), arg("--warmup", type=int, default=5),
    arg("--trace-models", type=int, default=5, help="the stack size profiled"),
    arg("--trace-steps", type=int, default=20, help="training steps in the profiler trace"),
    arg("--compile", nargs="?", const=True, default=None, metavar="BACKEND",
        help="also time the traced stack size with torch.compile (default backend: inductor)"),
    arg("--out-dir", default="results/bench", help="writes stack-<cpu|cuda>.json and the gzipped trace here")])
def bench_stack_command(config, args):
    bench_stack(config, args.model, args.sizes, args.steps, args.warmup, args.trace_models, args.trace_steps,
                args.out_dir, args.compile)
