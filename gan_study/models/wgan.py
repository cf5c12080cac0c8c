"""WGAN with weight clipping (Arjovsky, Chintala & Bottou, ICML 2017) and WGAN-GP (Gulrajani et al., NeurIPS 2017).

Both use the DCGAN nets with a critic that outputs an unbounded score (no sigmoid).
WGAN: critic maximises E[f(x)] − E[f(G(z))] (we minimise its negative), weights clipped to [−c, c] after every
critic step, RMSProp lr 5e-5, batch 64, n_critic 5; the reference code's schedule (100 critic steps for the
first 25 generator steps and every 500th) is the config flag `reference_critic_schedule`.
WGAN-GP: the same objective plus λ·E[(‖∇f(x̂)‖₂ − 1)²] on random interpolates x̂, λ = 10, n_critic 5,
Adam lr 1e-4, β = (0.5, 0.9) as in their MNIST code; no batch norm in the critic.
"""

import torch

from .. import losses
from . import register
from .dcgan import Dcgan


@register
class Wgan(Dcgan):
    name = "wgan"
    title = "WGAN (clipping)"
    loss_family = "WGAN"

    def make_optimizers(self, cfg, gen_net, disc_net):
        return (torch.optim.RMSprop(gen_net.parameters(), lr=cfg["lr"]),
                torch.optim.RMSprop(disc_net.parameters(), lr=cfg["lr"]))

    def discriminator_loss(self, d_real, d_fake):
        return losses.critic_loss(d_real, d_fake)

    def generator_loss(self, d_fake):
        return losses.wasserstein_generator_loss(d_fake)

    def diagnostics(self, d_real, d_fake):
        return {"wasserstein": losses.wasserstein_estimate(d_real, d_fake)}

    def d_steps(self, cfg, g_updates):
        if cfg.get("reference_critic_schedule") and (g_updates < 25 or g_updates % 500 == 0):
            return 100
        return cfg["d_steps"]

    def after_discriminator_step(self, cfg, disc):
        if "clip" in cfg:
            losses.clip_weights_(disc, cfg["clip"])


@register
class WganGp(Wgan):
    name = "wgan_gp"
    title = "WGAN-GP"
    loss_family = "WGAN GP"
    critic_batchnorm = False  # the penalty is per example; batch norm would couple examples

    def make_optimizers(self, cfg, gen_net, disc_net):
        return Dcgan.make_optimizers(self, cfg, gen_net, disc_net)

    def discriminator_penalty(self, cfg, disc, real, fake, labels, streams):
        batch = real.shape[-4]
        eps = streams.draw(lambda g: torch.rand(batch, 1, 1, 1, generator=g, device=real.device))
        return cfg["gp_lambda"] * losses.gradient_penalty(disc, real, fake, eps)
