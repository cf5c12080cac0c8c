"""The 2014 MNIST MLP GAN, exactly as goodfeli/adversarial `mnist.yaml` (Goodfellow et al., 2014).

Generator: z ∈ R^100 ~ U(−√3, √3) → ReLU 1200 → ReLU 1200 → sigmoid 784; weights U(±0.05); output
bias = logit of each pixel's mean over the training set (pylearn2 `init_sigmoid_bias_from_marginals`).
Discriminator: maxout 240×5 → maxout 240×5 → sigmoid; weights U(±0.005); dropout on every layer's
input (pixels kept with p 0.8 and scaled ×1.25, later layers p 0.5 and ×2).
Objective: AdversaryCost2 — D minimises ½[BCE(D(x),1)+BCE(D(G(z)),0)], G minimises BCE(D(G(z)),1).
Optimiser: one pylearn2 SGD over both nets, batch 100, lr 0.1 / 1.000004 per minibatch (floor 1e-6),
momentum 0.5 → 0.7 from epoch 1 to 250.
"""

import math

import torch
from torch import nn

from .. import losses
from ..optim import exponential_decay_lr, linear_momentum
from ..seeds import UniformDraw
from . import register
from .base import GanVariant, NoDropout

NOISE_DIM = 100
HIDDEN = 1200
MAXOUT_UNITS = 240
MAXOUT_PIECES = 5
G_IRANGE = 0.05
D_IRANGE = 0.005
# Dropout on each discriminator layer's input: (keep probability, scale), as in mnist.yaml.
PIXEL_DROPOUT = (0.8, 1.25)
HIDDEN_DROPOUT = (0.5, 2.0)
MARGINAL_CLIP = 1e-7


class Maxout(nn.Module):
    """pylearn2 Maxout: a linear map to units×pieces, then the max over each unit's consecutive pieces."""

    def __init__(self, in_features, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x):
        # amax, not max(dim): the same values, but where pieces tie amax shares the gradient among them and max gives
        # it all to one. Ties are rare but happen (a vmapped cGAN run met one within 24 steps), so the cheaper max
        # would change recorded numbers.
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


def dropout_mask(shape, keep, scale, generator, device):
    """pylearn2 dropout_fprop's mask: each input kept with probability `keep`, kept ones multiplied by `scale`.

    Masks are drawn outside the forward pass, from the run's own generator, so that a seed fixes them and
    several seeds can share one batched (vmapped) forward pass, each with its own masks.
    """
    return _mask(torch.rand(shape, generator=generator, device=device), keep, scale)


def _mask(uniforms, keep, scale):
    return (uniforms < keep) * scale


class MaskDraw(UniformDraw):
    """The dropout masks of `layers` ((shape, keep, scale) each, in drawing order) for `passes` passes drawn one after
    another: a list of one tuple of masks per pass. Stacked, the layers that share (keep, scale) lie side by side in
    one buffer, so each such group costs one comparison and one product for all seeds, layers and passes (exact
    operations: each seed's masks are bitwise its `dropout_mask`s)."""

    def __init__(self, layers, device, passes=1):
        self.layers, self.passes = list(layers) * passes, passes
        super().__init__([shape for shape, _, _ in self.layers], self._per_pass, device)

    def _per_pass(self, *uniforms):
        return self._split([_mask(u, keep, scale) for u, (_, keep, scale) in zip(uniforms, self.layers)])

    def _split(self, masks):
        per_pass = len(masks) // self.passes
        return [tuple(masks[i * per_pass : (i + 1) * per_pass]) for i in range(self.passes)]

    def stacked(self, generators):
        keys = list(dict.fromkeys((keep, scale) for _, keep, scale in self.layers))
        groups = [[k for k, (_, keep, scale) in enumerate(self.layers) if (keep, scale) == key] for key in keys]
        flat, buffers = self.layout(len(generators), [k for group in groups for k in group])
        self.fill(generators, buffers)
        masks, start = [None] * len(self.layers), 0
        for (keep, scale), group in zip(keys, groups):
            size = sum(buffers[k].numel() for k in group)
            region = _mask(flat[start : start + size], keep, scale)
            for k in group:
                masks[k] = region[: buffers[k].numel()].view(buffers[k].shape)
                region = region[buffers[k].numel() :]
            start += size
        return self._split(masks)


class MlpGenerator(NoDropout, nn.Module):
    def __init__(self, image_shape, noise_dim=NOISE_DIM, hidden=HIDDEN):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(noise_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(image_shape)),
        )

    @property
    def output_layer(self):
        return self.net[-1]

    def forward(self, z, labels=None, masks=None):
        return torch.sigmoid(self.net(z)).view(z.shape[0], *self.image_shape)


class MaxoutDiscriminator(nn.Module):
    """Returns logits; `masks` (from `dropout_masks`) switch dropout on, None means evaluation (no dropout)."""

    def __init__(self, image_shape, units=MAXOUT_UNITS, pieces=MAXOUT_PIECES):
        super().__init__()
        self.h0 = Maxout(math.prod(image_shape), units, pieces)
        self.h1 = Maxout(units, units, pieces)
        self.y = nn.Linear(units, 1)

    def dropout_draw(self, batch, device, passes=1):
        """The masks on the inputs of h0, h1 and y of `passes` training passes, drawn in that order."""
        return MaskDraw([((batch, self.h0.linear.in_features), *PIXEL_DROPOUT),
                         ((batch, self.h1.linear.in_features), *HIDDEN_DROPOUT),
                         ((batch, self.y.in_features), *HIDDEN_DROPOUT)], device, passes)

    def dropout_masks(self, batch, generator, device):
        """One pass's masks, drawn alone."""
        return self.dropout_draw(batch, device)(generator)[0]

    def forward(self, x, labels=None, masks=None):
        m0, m1, m2 = (1.0, 1.0, 1.0) if masks is None else masks
        h = self.h0(x.flatten(1) * m0)
        h = self.h1(h * m1)
        return self.y(h * m2).squeeze(1)


def logit_of_pixel_means(train_x):
    mean = train_x.flatten(1).double().mean(0).clamp(MARGINAL_CLIP, 1 - MARGINAL_CLIP)
    return torch.log(mean / (1 - mean)).float()


@register
class MlpGan(GanVariant):
    name = "mlp_gan"
    title = "MLP GAN (2014)"
    output_range = (0.0, 1.0)
    published_row = "Adversarial nets"
    noise_bound = math.sqrt(3.0)  # U(−√3, √3) has unit variance
    optimizer = "pylearn_sgd"

    def build(self, image_shape, train_x):
        gen, disc = MlpGenerator(image_shape), MaxoutDiscriminator(image_shape)
        self.uniform_init_(gen, G_IRANGE)
        self.uniform_init_(disc, D_IRANGE)
        if train_x is not None:  # None: weights are about to be loaded from a checkpoint
            with torch.no_grad():
                gen.output_layer.bias.copy_(logit_of_pixel_means(train_x))
        return gen, disc

    def sample_noise(self, n, generator, device):
        return self.noise_draw(n, device)(generator)

    def noise_draw(self, n, device):
        if self.cfg.get("noise", "uniform") == "gaussian":  # N(0, I): the lab's reboot_ll.yaml (see describe)
            return lambda generator: torch.randn(n, NOISE_DIM, generator=generator, device=device)
        # 2u − 1 and its product by √3 are exactly rounded: a stack's noise is each seed's bitwise.
        return UniformDraw([(n, NOISE_DIM)], lambda u: (2 * u - 1) * self.noise_bound, device)

    def schedule(self, step, epoch):
        cfg = self.cfg
        return {
            "lr": exponential_decay_lr(step, cfg["lr_initial"], cfg["lr_decay_factor"], cfg["lr_min"]),
            "momentum": linear_momentum(
                epoch,
                cfg["momentum_initial"],
                cfg["momentum_final"],
                cfg["momentum_start_epoch"],
                cfg["momentum_saturate_epoch"],
            ),
        }

    def schedule_spent(self, steps):
        # lr_t = lr0 / f^t until it reaches its floor lr_min at step T; the decaying part sums to
        # lr0 (1 − f^−T) / (1 − 1/f), and its first `steps` terms to lr0 (1 − f^−steps) / (1 − 1/f). (mnist.yaml's
        # floor comes after ~5,800 epochs of 500 steps; the cGAN's faster decay reaches it after ~580.)
        cfg = self.cfg
        floor_step = math.log(cfg["lr_initial"] / cfg["lr_min"]) / math.log(cfg["lr_decay_factor"])
        factor = cfg["lr_decay_factor"]
        return (1 - factor ** -min(steps, floor_step)) / (1 - factor ** -floor_step)

    def discriminator_loss(self, d_real, d_fake):
        return losses.bce_discriminator_loss(d_real, d_fake)

    def generator_loss(self, d_fake):
        return losses.non_saturating_generator_loss(d_fake)

    def describe(self):
        cfg = self.cfg
        order = (
            "simultaneous updates (one forward pass per minibatch gives both gradients, as in the 2014 code)"
            if cfg["update_order"] == "simultaneous"
            else f"alternating updates with $k={cfg['d_steps']}$ discriminator steps per generator step (Algorithm 1)"
        )
        images = "all 50,000" if cfg["train_limit"] is None else f"the first {cfg['train_limit']:,}"
        gaussian = cfg.get("noise", "uniform") == "gaussian"
        noise = r"\mathcal{N}(0, I)" if gaussian else r"U(-\sqrt3,\sqrt3)"
        return (
            rf"Generator $z\in\mathbb{{R}}^{{100}}\sim {noise}$, ReLU 1200, ReLU 1200, sigmoid 784, weights "
            r"$U(\pm0.05)$, output bias the logit of each pixel's training mean. Discriminator: maxout $240\times5$, "
            r"maxout $240\times5$, sigmoid, weights $U(\pm0.005)$, dropout on each layer's input (pixels kept with "
            r"$p=0.8$, scaled $\times1.25$; hidden units $p=0.5$, $\times2$). Objective: the discriminator minimises "
            r"$\tfrac12[\mathrm{BCE}(D(x),1)+\mathrm{BCE}(D(G(z)),0)]$, the generator the non-saturating "
            r"$\mathrm{BCE}(D(G(z)),1)$. "
            f"SGD with pylearn2 momentum, batch {cfg['batch_size']}, learning rate {cfg['lr_initial']} divided by "
            f"{cfg['lr_decay_factor']} after every minibatch (floor {cfg['lr_min']:g}), momentum "
            f"{cfg['momentum_initial']} to {cfg['momentum_final']} linearly from epoch {cfg['momentum_start_epoch']} "
            f"to {cfg['momentum_saturate_epoch']}; {order}. Budget: {cfg['epochs']} epochs over {images} training images."
            + (" Noise: Gaussian (config \\texttt{noise: gaussian}), as in the lab's \\texttt{reboot\\_ll.yaml} before the "
               "paper; the released \\texttt{mnist.yaml} draws $U(-\\sqrt3,\\sqrt3)$, which has the same unit variance, "
               "and which of the two gave the published number is not recorded." if gaussian else "")
        )
