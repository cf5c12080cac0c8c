"""Gaussian Parzen-window log-likelihood, the protocol of Goodfellow et al. (2014).

goodfeli/adversarial `parzen_ll.py`: the generator's samples are the centres of an isotropic
Gaussian kernel density; σ is chosen from logspace(−1, 0, 10) by the mean log-likelihood of the
first 1,000 validation images; the reported number is the mean log-likelihood of the 10,000 test
images, in nats, with standard error std/√N over test examples.

    log p(x) = logsumexp_j(−‖x − μ_j‖² / 2σ²) − log N − d·log(σ√(2π))

The original recomputes x − μ for every σ. Here squared distances are computed once per block of
rows with matrix products in float64 and reused for every σ, which gives the same numbers for a
fraction of the work (see `python -m gan_study bench-parzen`).
"""

import math

import numpy as np
import torch


def squared_distances(x, centres):
    """‖x_i − c_j‖² for all pairs, in float64 (the expansion |x|² + |c|² − 2x·c loses digits in float32)."""
    x = x.flatten(1).double()
    centres = centres.flatten(1).double()
    d2 = (x * x).sum(1, keepdim=True) + (centres * centres).sum(1) - 2.0 * x @ centres.T
    return d2.clamp_(min=0.0)


def log_likelihood_from_distances(d2, sigma, dim):
    n_centres = d2.shape[1]
    return (
        torch.logsumexp(-d2 / (2.0 * sigma * sigma), dim=1)
        - math.log(n_centres)
        - dim * math.log(sigma * math.sqrt(2.0 * math.pi))
    )


def parzen_log_likelihood(x, centres, sigmas, block_size=1000):
    """Per-example log-likelihood of `x` under the Parzen window on `centres`, for every σ.

    Returns a float64 tensor of shape (len(sigmas), len(x)). Distances are computed once per block
    of `block_size` rows (memory: block_size × len(centres) doubles) and reused for all σ.
    """
    sigmas = [float(s) for s in np.atleast_1d(sigmas)]
    dim = x[0].numel()
    out = torch.empty(len(sigmas), x.shape[0], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], block_size):
        d2 = squared_distances(x[start : start + block_size], centres)
        for i, sigma in enumerate(sigmas):
            out[i, start : start + block_size] = log_likelihood_from_distances(d2, sigma, dim)
    return out


def parzen_log_likelihood_per_sigma(x, centres, sigmas, block_size=10):
    """The original's approach, for the benchmark: x − μ broadcast and recomputed for every σ, in batches of
    `block_size` rows (parzen_ll.py's default batch is 10)."""
    sigmas = [float(s) for s in np.atleast_1d(sigmas)]
    dim = x[0].numel()
    x, centres = x.flatten(1).double(), centres.flatten(1).double()
    rows = []
    for sigma in sigmas:
        parts = []
        for start in range(0, x.shape[0], block_size):
            block = x[start : start + block_size]
            d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
            parts.append(log_likelihood_from_distances(d2, sigma, dim))
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def select_sigma(valid, centres, sigmas, block_size=1000):
    """σ with the highest mean validation log-likelihood; also returns the mean for every σ."""
    lls = parzen_log_likelihood(valid, centres, sigmas, block_size).mean(1)
    best = int(torch.argmax(lls))
    return float(np.atleast_1d(sigmas)[best]), [float(v) for v in lls]


def evaluate(samples, valid, test, sigmas, block_size=1000, select=None):
    """The full paper protocol: σ from `valid` only, then mean log-likelihood and s.e. on `test`.

    `select` (other validation images, optional): their mean log-likelihood at that σ, the number a checkpoint is
    chosen by — so neither σ nor the checkpoint ever sees a test image.
    """
    sigma, valid_lls = select_sigma(valid, samples, sigmas, block_size)
    ll = parzen_log_likelihood(test, samples, [sigma], block_size)[0]
    chosen = {}
    if select is not None:
        chosen = {"select_mean_ll": float(parzen_log_likelihood(select, samples, [sigma], block_size)[0].mean()),
                  "n_select": int(select.shape[0])}
    return {
        "sigma": sigma,
        "sigma_grid": [float(s) for s in np.atleast_1d(sigmas)],
        "valid_mean_ll_per_sigma": valid_lls,
        **chosen,
        "test_mean_ll": float(ll.mean()),
        "test_se": float(ll.std(unbiased=False) / math.sqrt(ll.numel())),
        "n_centres": int(samples.shape[0]),
        "n_valid": int(valid.shape[0]),
        "n_test": int(test.shape[0]),
        "units": "nats",
    }
