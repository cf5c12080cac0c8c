import math

import numpy as np
import pytest
import torch

from gan_study.parzen import (
    evaluate,
    parzen_log_likelihood,
    parzen_log_likelihood_per_sigma,
    select_sigma,
    squared_distances,
)


def brute_force(x, centres, sigma):
    """Direct float64 evaluation of log (1/N) Σ_j N(x; μ_j, σ²I), one example at a time."""
    x, centres = x.double().numpy(), centres.double().numpy()
    d = x.shape[1]
    out = []
    for row in x:
        log_k = -((row - centres) ** 2).sum(1) / (2 * sigma**2) - d * math.log(sigma * math.sqrt(2 * math.pi))
        m = log_k.max()
        out.append(m + math.log(np.exp(log_k - m).mean()))
    return np.array(out)


def test_squared_distances_match_direct_differences():
    g = torch.Generator().manual_seed(0)
    x, c = torch.rand(7, 13, generator=g), torch.rand(5, 13, generator=g)
    direct = ((x[:, None, :].double() - c[None].double()) ** 2).sum(-1)
    assert torch.allclose(squared_distances(x, c), direct, atol=1e-12)


@pytest.mark.parametrize("block_size", [1, 3, 1000])
def test_matches_brute_force_for_every_sigma_and_block_size(block_size):
    g = torch.Generator().manual_seed(1)
    x, centres = torch.rand(9, 20, generator=g), torch.rand(30, 20, generator=g)
    sigmas = [0.05, 0.2, 1.0]
    got = parzen_log_likelihood(x, centres, sigmas, block_size=block_size)
    for i, sigma in enumerate(sigmas):
        np.testing.assert_allclose(got[i].numpy(), brute_force(x, centres, sigma), rtol=1e-10, atol=1e-8)


def test_distances_once_equals_per_sigma_recomputation():
    g = torch.Generator().manual_seed(2)
    x, centres = torch.rand(11, 16, generator=g), torch.rand(25, 16, generator=g)
    sigmas = np.logspace(-1, 0, 10)
    fast = parzen_log_likelihood(x, centres, sigmas, block_size=4)
    slow = parzen_log_likelihood_per_sigma(x, centres, sigmas, block_size=4)
    assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-8)


def test_single_centre_is_the_gaussian_density_in_closed_form():
    # With one centre μ the estimate is exactly log N(x; μ, σ²I).
    d, sigma = 5, 0.3
    x = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5]], dtype=torch.float64)
    mu = torch.zeros(1, d)
    expected = -0.5 * float((x**2).sum()) / sigma**2 - d / 2 * math.log(2 * math.pi * sigma**2)
    assert parzen_log_likelihood(x, mu, [sigma])[0, 0].item() == pytest.approx(expected, abs=1e-10)


def test_many_samples_from_a_gaussian_approach_its_entropy_and_sigma_choice_is_sensible():
    # Centres and test points from N(0, s²I): the mean test log-likelihood approaches −H = −d/2·log(2πe·s²)
    # from below, the chosen σ is interior to the grid, and tiny/huge σ are worse.
    d, s = 2, 0.5
    g = torch.Generator().manual_seed(3)
    centres = s * torch.randn(20000, d, generator=g)
    valid, test = s * torch.randn(1000, d, generator=g), s * torch.randn(2000, d, generator=g)
    sigmas = np.logspace(-2, 1, 13)
    sigma, valid_lls = select_sigma(valid, centres, sigmas, block_size=500)
    assert sigmas[0] < sigma < sigmas[-1]
    assert valid_lls[0] < max(valid_lls) and valid_lls[-1] < max(valid_lls)
    result = evaluate(centres, valid, test, sigmas, block_size=500)
    entropy = d / 2 * math.log(2 * math.pi * math.e * s**2)
    # E[log p̂(x)] ≤ −H (cross-entropy ≥ entropy); the test mean may exceed it only by sampling noise.
    assert 0 < result["test_se"] < 0.1
    assert -entropy - 0.1 < result["test_mean_ll"] < -entropy + 3 * result["test_se"]


def test_sigma_is_chosen_on_validation_data_only():
    g = torch.Generator().manual_seed(4)
    centres = torch.rand(200, 10, generator=g)
    valid = torch.rand(50, 10, generator=g)
    sigmas = np.logspace(-1, 0, 10)
    test_a = torch.rand(60, 10, generator=g)
    test_b = 5 + torch.rand(60, 10, generator=g)  # a test set far away would prefer the largest σ
    a, b = evaluate(centres, valid, test_a, sigmas), evaluate(centres, valid, test_b, sigmas)
    assert a["sigma"] == b["sigma"] == select_sigma(valid, centres, sigmas)[0]
    assert a["valid_mean_ll_per_sigma"] == b["valid_mean_ll_per_sigma"]


def test_standard_error_is_std_over_test_examples_over_sqrt_n():
    g = torch.Generator().manual_seed(5)
    centres, valid, test = (torch.rand(n, 6, generator=g) for n in (100, 20, 40))
    sigma = 0.3
    result = evaluate(centres, valid, test, [sigma])
    ll = parzen_log_likelihood(test, centres, [sigma])[0].numpy()
    assert result["test_mean_ll"] == pytest.approx(ll.mean())
    assert result["test_se"] == pytest.approx(ll.std() / math.sqrt(len(ll)))
