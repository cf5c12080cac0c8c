"""DCGAN (Radford, Metz & Chintala, ICLR 2016), sized for 28×28 (MNIST) and 32×32 (CIFAR-10).

Generator: z ∈ R^100 ~ U[−1, 1] (the paper's Fig. 1; `noise: normal` for the reference code's N(0, I)) → linear to C×s×s → [conv-transpose 4×4 stride 2, batch norm, ReLU]… → tanh.
Discriminator: [conv 4×4 stride 2, LeakyReLU 0.2] with batch norm on all but the first conv → linear → logit.
Weights N(0, 0.02) (batch-norm scales N(1, 0.02)); Adam lr 2e-4, β1 0.5; batch 128; images in [−1, 1].
The WGAN and WGAN-GP variants reuse these nets.

No layer carries a bias its loss cannot use (config `redundant_biases: false`; the DCGAN authors' code has none
before its batch norms either): batch norm subtracts any bias of the layer before it, so that bias's gradient is zero
but for rounding noise — and Adam and RMSProp divide a gradient by its own running size, turning that noise into steps
of up to the learning rate, whose sign follows the order of a sum. Such biases change no output, yet they random-walk
and make two correct runs (eager and graphed, or two GPU kernels) differ by up to lr per step. A WGAN critic's output
bias is cancelled exactly by its loss. `redundant_biases: true` gives the nets before this option, a bias on every
layer.
"""

import math

import torch
from torch import nn

from .. import losses
from . import register
from .base import GanVariant, NoDropout

NOISE_DIM = 100


def _stages(image_shape):
    """(start size, number of ×2 upsamplings): 28 = 7·2², 32 = 4·2³."""
    size = image_shape[-1]
    for n in (3, 2):
        if size % 2**n == 0 and size // 2**n >= 4:
            return size // 2**n, n
    raise ValueError(f"DCGAN nets support 28×28 and 32×32 images, not {size}×{size}")


class DcganGenerator(NoDropout, nn.Module):
    """`redundant_biases`: also a bias on the layers batch norm follows (it cancels them)."""

    def __init__(self, image_shape, width=64, noise_dim=NOISE_DIM, redundant_biases=False):
        super().__init__()
        start, n_up = _stages(image_shape)
        channels = [width * 2 ** (n_up - 1 - i) for i in range(n_up)] + [image_shape[0]]
        self.start_shape = (channels[0], start, start)
        self.project = nn.Sequential(nn.Linear(noise_dim, math.prod(self.start_shape), bias=redundant_biases),
                                     nn.BatchNorm1d(math.prod(self.start_shape)), nn.ReLU())
        layers = []
        for i in range(n_up):
            last = i == n_up - 1
            layers.append(nn.ConvTranspose2d(channels[i], channels[i + 1], 4, stride=2, padding=1,
                                             bias=last or redundant_biases))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(channels[i + 1]), nn.ReLU()]
        self.up = nn.Sequential(*layers)

    def forward(self, z, labels=None, masks=None):
        return self.up(self.project(z).view(z.shape[0], *self.start_shape))


class DcganDiscriminator(NoDropout, nn.Module):
    """Returns logits (or critic values); `batchnorm=False` for critics with a gradient penalty; `output_bias=False`
    for critics of a Wasserstein loss (a difference of means cancels a constant); `redundant_biases`: a bias on every
    layer all the same."""

    def __init__(self, image_shape, width=64, batchnorm=True, output_bias=True, redundant_biases=False):
        super().__init__()
        start, n_down = _stages(image_shape)
        channels = [image_shape[0]] + [width * 2**i for i in range(n_down)]
        layers = []
        for i in range(n_down):
            normed = batchnorm and i > 0
            layers.append(nn.Conv2d(channels[i], channels[i + 1], 4, stride=2, padding=1,
                                    bias=not normed or redundant_biases))
            if normed:
                layers.append(nn.BatchNorm2d(channels[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(channels[-1] * start * start, 1, bias=output_bias or redundant_biases)

    def forward(self, x, labels=None, masks=None):
        return self.out(self.features(x).flatten(1)).squeeze(1)


def normal_init_(module):
    """DCGAN initialisation: conv/linear weights N(0, 0.02), batch-norm scale N(1, 0.02), biases zero."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


@register
class Dcgan(GanVariant):
    name = "dcgan"
    title = "DCGAN"
    output_range = (-1.0, 1.0)
    critic_batchnorm = True
    critic_output_bias = True  # the sigmoid cross-entropy uses it; a Wasserstein loss cancels it
    optimizer = "adam"

    def build(self, image_shape, train_x):
        cfg = self.cfg
        redundant = cfg["redundant_biases"]
        gen = DcganGenerator(image_shape, cfg["width"], redundant_biases=redundant)
        disc = DcganDiscriminator(image_shape, cfg["width"], batchnorm=self.critic_batchnorm,
                                  output_bias=self.critic_output_bias, redundant_biases=redundant)
        normal_init_(gen)
        normal_init_(disc)
        return gen, disc

    def sample_noise(self, n, generator, device):
        """`noise: uniform` — U[−1, 1]^100, Radford et al.'s Fig. 1 ("a 100 dimensional uniform distribution");
        `noise: normal` — N(0, I), what the reference dcgan.torch code and the WGAN/WGAN-GP codes draw."""
        if self.cfg["noise"] == "uniform":
            return 2 * torch.rand(n, NOISE_DIM, generator=generator, device=device) - 1
        return torch.randn(n, NOISE_DIM, generator=generator, device=device)

    def discriminator_loss(self, d_real, d_fake):
        return 2.0 * losses.bce_discriminator_loss(d_real, d_fake)  # DCGAN sums the two BCE terms

    def describe_nets(self):
        cfg = self.cfg
        noise = (r"$z\sim U[-1,1]^{100}$ (the paper's Fig.~1; the reference dcgan.torch code draws $N(0,I)$)"
                 if cfg["noise"] == "uniform" else r"$z\sim N(0,I)$ in 100 dimensions")
        critic_bn = "batch norm on all but its first conv" if self.critic_batchnorm else "no batch norm"
        biases = (r"every layer has a bias, also where batch norm cancels it. " if cfg["redundant_biases"] else
                  r"no bias where batch norm follows"
                  + ("" if self.critic_output_bias else " nor on the critic's output, which the loss cancels")
                  + r": such a bias's gradient is rounding noise, which the optimiser would scale to steps of up to "
                    r"the learning rate. ")
        return (rf"Generator: {noise}, linear to $2w\times7\times7$ with batch norm and ReLU, $4\times4$ stride-2 "
                r"transposed convolutions with batch norm and ReLU, tanh output on $[-1,1]$; discriminator: $4\times4$ "
                rf"stride-2 convolutions with LeakyReLU 0.2 and {critic_bn}, a linear output; width $w={cfg['width']}$; "
                r"weights $N(0,0.02)$; " + biases)

    def describe(self):
        cfg = self.cfg
        return (self.describe_nets() + rf"Adam, learning rate {cfg['lr']:g}, $\beta=({cfg['adam_beta1']}, "
                rf"{cfg['adam_beta2']})$, batch {cfg['batch_size']}, {cfg['epochs']} epochs (the paper gives no MNIST "
                r"budget: our choice).")

    def generator_loss(self, d_fake):
        return losses.non_saturating_generator_loss(d_fake)
