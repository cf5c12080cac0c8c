"""Conditional GAN (Mirza & Osindero, 2014), MNIST setup of their Section 4.1.

Generator: z ∈ R^100 ~ U[0, 1] → ReLU 200, one-hot y → ReLU 1000, joined → ReLU 1200 → sigmoid 784.
Discriminator: x → maxout 240×5, y → maxout 50×5, joined → maxout 240×4 → sigmoid.
"Dropout with probability of 0.5 was applied to both the generator and discriminator" (§4.1), without saying
where: our choice (labelled so in the methods) is inverted dropout (keep 0.5, ×2) on the inputs of the joint
layer and of the output layer, in both nets; evaluation samples use no dropout. Trained like the 2014 MLP GAN (pylearn2 SGD,
batch 100, lr 0.1 decayed by 1.00004 per step to 1e-6, momentum 0.5 → 0.7). Where the paper is silent
(initialisation ranges, momentum ramp length) we use the 2014 mnist.yaml values; the config records them.
"""

import torch
from torch import nn
from torch.nn import functional as F

from . import register
from ..seeds import UniformDraw
from .mlp_gan import D_IRANGE, G_IRANGE, HIDDEN_DROPOUT, MaskDraw, Maxout, MlpGan, logit_of_pixel_means

N_CLASSES = 10
NOISE_DIM = 100


def one_hot(labels, dtype):
    """One-hot rows; written as a comparison (not F.one_hot, which checks values on the host) so it runs under vmap."""
    return (labels[..., None] == torch.arange(N_CLASSES, device=labels.device)).to(dtype)


class ConditionalGenerator(nn.Module):
    """`masks` (from `dropout_masks`) switch dropout on during training; None means evaluation (no dropout)."""

    def __init__(self, image_shape):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.z_branch = nn.Linear(NOISE_DIM, 200)
        self.y_branch = nn.Linear(N_CLASSES, 1000)
        self.joint = nn.Linear(1200, 1200)
        self.output_layer = nn.Linear(1200, int(torch.tensor(image_shape).prod()))

    def dropout_draw(self, batch, device, passes=1):
        """Masks on the inputs of the joint layer and the output layer, drawn in that order."""
        return MaskDraw([((batch, self.joint.in_features), *HIDDEN_DROPOUT),
                         ((batch, self.output_layer.in_features), *HIDDEN_DROPOUT)], device, passes)

    def dropout_masks(self, batch, generator, device):
        return self.dropout_draw(batch, device)(generator)[0]

    def forward(self, z, labels, masks=None):
        m0, m1 = (1.0, 1.0) if masks is None else masks
        y = one_hot(labels, z.dtype)
        h = torch.cat([F.relu(self.z_branch(z)), F.relu(self.y_branch(y))], dim=1)
        h = F.relu(self.joint(h * m0))
        return torch.sigmoid(self.output_layer(h * m1)).view(z.shape[0], *self.image_shape)


class ConditionalMaxoutDiscriminator(nn.Module):
    def __init__(self, image_shape):
        super().__init__()
        self.x_branch = Maxout(int(torch.tensor(image_shape).prod()), 240, 5)
        self.y_branch = Maxout(N_CLASSES, 50, 5)
        self.joint = Maxout(290, 240, 4)
        self.y = nn.Linear(240, 1)

    def dropout_draw(self, batch, device, passes=1):
        """Masks on the inputs of the joint layer and the output layer, drawn in that order."""
        return MaskDraw([((batch, self.joint.linear.in_features), *HIDDEN_DROPOUT),
                         ((batch, self.y.in_features), *HIDDEN_DROPOUT)], device, passes)

    def dropout_masks(self, batch, generator, device):
        return self.dropout_draw(batch, device)(generator)[0]

    def forward(self, x, labels, masks=None):
        m0, m1 = (1.0, 1.0) if masks is None else masks
        y = one_hot(labels, x.dtype)
        h = torch.cat([self.x_branch(x.flatten(1)), self.y_branch(y)], dim=1)
        h = self.joint(h * m0)
        return self.y(h * m1).squeeze(1)


@register
class ConditionalGan(MlpGan):
    name = "cgan"
    title = "Conditional GAN"
    conditional = True
    published_row = "Conditional adversarial nets"
    table1_checkpoint = "validation"  # Mirza & Osindero: "best estimate of log-likelihood on the validation set"

    def build(self, image_shape, train_x):
        gen, disc = ConditionalGenerator(image_shape), ConditionalMaxoutDiscriminator(image_shape)
        self.uniform_init_(gen, G_IRANGE)
        self.uniform_init_(disc, D_IRANGE)
        if train_x is not None:
            with torch.no_grad():
                gen.output_layer.bias.copy_(logit_of_pixel_means(train_x))
        return gen, disc

    def noise_draw(self, n, device):  # U[0, 1)^100 (sample_noise, inherited, draws it alone)
        return UniformDraw([(n, NOISE_DIM)], lambda u: u, device)

    def sampling_masks(self, gen, n, generator, device):
        """The generator's training dropout (config `sample_dropout`): the discriminator only ever saw samples drawn
        with it, so they are the trained model's distribution. Without it the net is the mean of its dropout
        ensemble: it averages the variety dropout gave and, having learnt to vary through the masks, mostly ignores z."""
        return gen.dropout_masks(n, generator, device) if self.cfg["sample_dropout"] else None

    def describe(self):
        return (
            r"Mirza \& Osindero's MNIST model: generator $z\sim U[0,1]^{100}\to$ ReLU 200 and one-hot "
            r"$y\to$ ReLU 1000, joined, ReLU 1200, sigmoid 784; discriminator maxout $240\times5$ on $x$ and "
            r"$50\times5$ on $y$, joined maxout $240\times4$, sigmoid. Dropout 0.5 in both nets, as the paper states; "
            r"where it applies the paper does not say, and our choice is the inputs of the joint layer and of the "
            r"output layer in each net (inverted: kept units $\times2$). "
            + (r"Samples are drawn with the generator's dropout, as in training: the distribution the discriminator "
               r"was trained against (the paper does not say). " if self.cfg["sample_dropout"] else
               r"Samples are drawn without dropout (the mean network; the paper does not say). ")
            + r"pylearn2 SGD as the MLP GAN. "
            + self.describe_settings()
        )
