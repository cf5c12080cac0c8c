"""WGAN with weight clipping (Arjovsky, Chintala & Bottou, ICML 2017) and WGAN-GP (Gulrajani et al., NeurIPS 2017).

Both use the DCGAN nets with a critic that outputs an unbounded score (no sigmoid).
WGAN: critic maximises E[f(x)] − E[f(G(z))] (we minimise its negative), weights clipped to [−c, c], RMSProp
lr 5e-5, batch 64, n_critic 5; the reference code's schedule (100 critic steps for the first 25 generator steps
and every 500th) is the config flag `reference_critic_schedule`. `clip_order: algorithm1` clips right after each
critic update (Algorithm 1, line 7), so the generator step always sees a clipped critic; `reference_code` clips
at the end of the step, as the released code does (it clips before each critic update, so the critic the
generator sees after the last critic update of a round is unclipped).
Both run only with alternating updates (`update_orders`): n_critic and the penalty have no simultaneous form.
WGAN-GP: the same objective plus λ·E[(‖∇f(x̂)‖₂ − 1)²] on random interpolates x̂, λ = 10, n_critic 5,
Adam lr 1e-4, β = (0.5, 0.9) as in their MNIST code; no batch norm in the critic.
"""

import torch

from .. import losses
from . import register
from .dcgan import Dcgan


def _generator_budget(cfg):
    steps = cfg.get("generator_steps")
    return "" if steps is None else f" or {steps:,} generator updates, whichever comes first"


@register
class Wgan(Dcgan):
    name = "wgan"
    title = "WGAN (clipping)"
    loss_family = "WGAN"
    update_orders = ("alternating",)
    optimizer = "rmsprop"
    critic_output_bias = False  # E[f(x)] − E[f(G(z))] cancels a constant: its gradient is exactly zero

    def discriminator_loss(self, d_real, d_fake):
        return losses.critic_loss(d_real, d_fake)

    def generator_loss(self, d_fake):
        return losses.wasserstein_generator_loss(d_fake)

    def diagnostics(self, d_real, d_fake):
        return {"wasserstein": losses.wasserstein_estimate(d_real, d_fake)}

    def d_steps(self, g_updates):
        cfg = self.cfg
        if cfg.get("reference_critic_schedule") and (g_updates < 25 or g_updates % 500 == 0):
            return 100
        return cfg["d_steps"]

    def describe(self):
        cfg = self.cfg
        order = ("right after each critic update, before the generator step (Algorithm~1, line~7)"
                 if cfg["clip_order"] == "algorithm1" else
                 "at the end of each training step, as the released code's order leaves the critic the generator "
                 "sees unclipped")
        schedule = (" 100 critic steps for the first 25 generator steps and every 500th (the released code's "
                    "schedule)." if cfg["reference_critic_schedule"] else "")
        return (self.describe_nets() + rf"Critic weights clipped to $\pm{cfg['clip']}$ {order}; RMSProp, learning "
                rf"rate {cfg['lr']:g}, batch {cfg['batch_size']}, $n_{{critic}}={cfg['d_steps']}$.{schedule} "
                rf"Budget: {cfg['epochs']} epochs" + _generator_budget(cfg) + ".")

    def after_discriminator_step(self, disc):
        if "clip" in self.cfg and self.cfg["clip_order"] == "algorithm1":
            losses.clip_weights_(disc, self.cfg["clip"])

    def after_step(self, disc):
        if "clip" in self.cfg and self.cfg["clip_order"] == "reference_code":
            losses.clip_weights_(disc, self.cfg["clip"])


@register
class WganGp(Wgan):
    name = "wgan_gp"
    title = "WGAN-GP"
    loss_family = "WGAN GP"
    comparison_note = ("WGAN-GP: Gulrajani et al.'s MNIST hyper-parameters on our DCGAN networks, not on theirs "
                       "(theirs: 5x5 kernels, no batch norm in the generator, sigmoid output, 128-d noise, batch 50).")
    critic_batchnorm = False  # the penalty is per example; batch norm would couple examples
    optimizer = "adam"
    not_compilable = "its gradient penalty differentiates the critic twice, which torch.compile does not support"

    def describe(self):
        cfg = self.cfg
        return (self.describe_nets() + rf"Gradient penalty $\lambda={cfg['gp_lambda']:g}$ on interpolates with "
                rf"$\epsilon\sim U[0,1]$ per example, $n_{{critic}}={cfg['d_steps']}$, Adam, learning rate "
                rf"{cfg['lr']:g}, $\beta=({cfg['adam_beta1']}, {cfg['adam_beta2']})$, batch {cfg['batch_size']}: the "
                r"hyper-parameters of Gulrajani et al.'s MNIST code. \emph{The networks are not theirs}: ours are the "
                r"DCGAN nets above ($4\times4$ kernels, batch norm in the generator, tanh on $[-1,1]$, 100-d noise); "
                r"theirs use $5\times5$ kernels, no batch norm in the generator, a sigmoid output on $[0,1]$, 128-d "
                r"Gaussian noise and batch 50. Our WGAN-GP numbers are therefore not those of their networks. "
                rf"Budget: {cfg['epochs']} epochs" + _generator_budget(cfg) + ".")

    def discriminator_penalty(self, disc, real, fake, labels, streams):
        batch = real.shape[-4]
        eps = streams.draw(lambda g: torch.rand(batch, 1, 1, 1, generator=g, device=real.device))
        return self.cfg["gp_lambda"] * losses.gradient_penalty(disc, real, fake, eps)
