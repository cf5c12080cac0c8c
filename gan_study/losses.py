"""GAN objectives, written on discriminator logits for numerical stability.

`d_real`/`d_fake` are the discriminator's pre-sigmoid outputs on real and generated batches.
"""

import torch
import torch.nn.functional as F


def bce_discriminator_loss(d_real, d_fake):
    """½[BCE(D(x), 1) + BCE(D(G(z)), 0)]: the 2014 code's discriminator objective (AdversaryCost2)."""
    real = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
    fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    return 0.5 * (real + fake)


def non_saturating_generator_loss(d_fake):
    """BCE(D(G(z)), 1) = −E log D(G(z)): the paper's non-saturating generator objective."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def critic_loss(d_real, d_fake):
    """WGAN critic objective to minimise: E[f(G(z))] − E[f(x)] (the negative Wasserstein estimate)."""
    return d_fake.mean() - d_real.mean()


def wasserstein_generator_loss(d_fake):
    return -d_fake.mean()


def wasserstein_estimate(d_real, d_fake):
    """E[f(x)] − E[f(G(z))]: the critic's estimate of the Wasserstein-1 distance (up to its Lipschitz constant)."""
    return d_real.mean() - d_fake.mean()


@torch.no_grad()
def clip_weights_(module, bound):
    for p in module.parameters():
        p.clamp_(-bound, bound)


def gradient_penalty(critic, real, fake, rng):
    """E[(‖∇f(x̂)‖₂ − 1)²] with x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per example (Gulrajani et al. 2017)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=rng, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
