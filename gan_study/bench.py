"""Benchmarks: ratios measured side by side in one run, never asserted as timed tests.

`python -m gan_study bench-parzen` times the Parzen estimator both ways on the same inputs — squared distances
computed once per block and reused for every σ (ours) against the original's recomputation for every σ — checks
that both give the same numbers, and prints and writes the speed ratio with the device and package versions.
"""

import time

import numpy as np
import torch

from .atomic import write_json
from .parzen import parzen_log_likelihood, parzen_log_likelihood_per_sigma
from .provenance import device_name, now, package_versions
from .runtime import resolve_device


def _timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def bench_parzen(n_centres, n_points, dim, n_sigmas, block_size, device="auto", seed=0, out=None):
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
    print(f"Parzen, {n_points} points × {n_centres} centres × {dim} dims × {n_sigmas} σ on {result['device']}: "
          f"distances once {t_once:.3f} s, per-σ recomputation {t_per_sigma:.3f} s → {result['speedup']:.1f}× "
          f"(max difference {max_diff:.2e} nats)")
    if out:
        write_json(out, result)
    return result
