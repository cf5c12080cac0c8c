"""GAN objectives, written on discriminator logits for numerical stability.

`d_real`/`d_fake` are the discriminator's pre-sigmoid outputs on real and generated batches, shaped (batch,)
for one run or (seeds, batch) for several seeds trained together: every loss averages over the last (batch)
axis only, so a batched run sums the per-seed losses and each seed gets exactly its own gradient.
"""

import torch
import torch.nn.functional as F


def bce_discriminator_loss(d_real, d_fake):
    """½[BCE(D(x), 1) + BCE(D(G(z)), 0)]: the 2014 code's discriminator objective (AdversaryCost2)."""
    real = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real), reduction="none").mean(-1)
    fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake), reduction="none").mean(-1)
    return 0.5 * (real + fake)


def non_saturating_generator_loss(d_fake):
    """BCE(D(G(z)), 1) = −E log D(G(z)): the paper's non-saturating generator objective."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake), reduction="none").mean(-1)


def critic_loss(d_real, d_fake):
    """WGAN critic objective to minimise: E[f(G(z))] − E[f(x)] (the negative Wasserstein estimate)."""
    return d_fake.mean(-1) - d_real.mean(-1)


def wasserstein_generator_loss(d_fake):
    return -d_fake.mean(-1)


def wasserstein_estimate(d_real, d_fake):
    """E[f(x)] − E[f(G(z))]: the critic's estimate of the Wasserstein-1 distance (up to its Lipschitz constant)."""
    return d_real.mean(-1) - d_fake.mean(-1)


@torch.no_grad()
def clip_weights_(module, bound):
    for p in module.parameters():
        p.clamp_(-bound, bound)


def gradient_penalty(critic, real, fake, eps):
    """E[(‖∇f(x̂)‖₂ − 1)²] with x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per example (Gulrajani et al. 2017).

    Images are (…, C, H, W); `eps` is (…, 1, 1, 1). Each critic output depends on its own example only, so
    the gradient of their sum gives every example's own input gradient.
    """
    seedwise = getattr(critic, "seedwise", lambda fn, *tensors: fn(*tensors))  # a SeedStack: as a lone seed computes it
    x_hat = seedwise(lambda e, r, f: e * r + (1 - e) * f, eps, real, fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return seedwise(lambda g: ((g.flatten(-3).norm(dim=-1) - 1) ** 2).mean(-1), grad)
