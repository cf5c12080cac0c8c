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


def minimax_generator_loss(d_fake):
    """E log(1 − D(G(z))): the saturating objective of the minimax game, for reference and tests."""
    return -F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
