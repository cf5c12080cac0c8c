"""The interface every GAN variant implements for the shared training loop."""

import torch


class NoDropout:
    """Mixin for nets without dropout: they draw no masks, so they consume no random numbers for them."""

    def dropout_draw(self, batch, device, passes=1):
        return None

    def dropout_masks(self, batch, generator, device):
        return None


class GanVariant:
    """A generator/discriminator pair with its objective and optimisers, configured once.

    Subclasses set `name` and the class attributes below (what tables, validation and aggregation ask of a
    model, readable from the class without a config) and implement the methods. An instance holds `cfg`, the
    model's section of the config (`config["models"][name]`); `models.get_variant(name, cfg)` makes one.
    """

    name = None
    title = None  # how tables and figures name the model
    conditional = False  # True: generator and discriminator also take the class labels
    loss_family = "NS GAN"  # the loss family of Lucic et al. (2018) it is compared with
    # The update orders the training loop may run it with (config key `update_order`); validation refuses others.
    update_orders = ("simultaneous", "alternating")
    # A caveat printed under the FID table when this model is in it (e.g. networks that differ from the cited ones).
    comparison_note = None
    # Its row in the published Parzen table (reference/published.yaml), or None; its checkpoint rule for Table 1:
    # "final" weights, or "validation" (the checkpoint with the best validation log-likelihood, as its paper did).
    published_row = None
    table1_checkpoint = "final"
    # Range of the generator's output; the sampler maps it to [0, 1] before any metric sees it.
    output_range = (0.0, 1.0)
    # The optimiser family of both nets, by name in `optim.OPTIMIZERS` (shared by variants, never re-implemented).
    optimizer = None
    # Why config `torch_compile` cannot compile its nets (the run then trains eagerly and says so), or None.
    not_compilable = None

    def __init__(self, cfg):
        self.cfg = cfg

    def build(self, image_shape, train_x):
        """Return (generator, discriminator) nn.Modules with the variant's initialisation.

        `train_x` (the training images, for data-dependent initialisation) is None when the weights
        will be loaded from a checkpoint.
        """
        raise NotImplementedError

    def sample_noise(self, n, generator, device):
        raise NotImplementedError

    def noise_draw(self, n, device):
        """Training's noise draw for `SeedStreams.draw`: a function of one seed's generator, or a `UniformDraw` when
        the noise is an exactly rounded transform of uniforms (drawn for all seeds at once)."""
        return lambda generator: self.sample_noise(n, generator, device)

    def sampling_masks(self, gen, n, generator, device):
        """Dropout masks for `n` evaluation samples from `gen`, drawn from `generator` after their noise, or None:
        sampling then runs the net without dropout. None unless a variant samples with its training dropout."""
        return None

    def sample_labels(self, n, device):
        """Labels for `n` evaluation samples of a conditional model: n/10 per class, in blocks; None otherwise."""
        if not self.conditional:
            return None
        return torch.arange(n, device=device) * 10 // n

    def make_optimizers(self, gen_net, disc_net):
        """Return (generator optimiser, discriminator optimiser) of the variant's `optimizer` family."""
        from ..optim import OPTIMIZERS

        make = OPTIMIZERS[self.optimizer]
        return make(gen_net.parameters(), self.cfg), make(disc_net.parameters(), self.cfg)

    def schedule(self, step, epoch):
        """Optimiser hyper-parameters to set before update `step` (0-based) in `epoch` (0-based), or {}."""
        return {}

    def schedule_spent(self, steps):
        """The share of the learning-rate schedule's total step size spent by update `steps`; None for a schedule
        that does not decay (the share is then no measure of how far training has got)."""
        return None

    def discriminator_loss(self, d_real, d_fake):
        raise NotImplementedError

    def discriminator_penalty(self, disc, real, fake, labels, streams):
        """A term added to the discriminator loss (the gradient penalty of WGAN-GP); none by default.

        `streams` (a `SeedStreams`) draws any randomness it needs from each seed's own generator.
        """
        return None

    def diagnostics(self, d_real, d_fake):
        """Per-step quantities for the training log: mean D(x) and D(G(z)) for sigmoid discriminators."""
        return {"d_real": torch.sigmoid(d_real).mean(-1), "d_fake": torch.sigmoid(d_fake).mean(-1)}

    def generator_loss(self, d_fake):
        raise NotImplementedError

    def d_steps(self, g_updates):
        """Discriminator updates before the next generator update (alternating order)."""
        return self.cfg.get("d_steps", 1)

    def describe(self):
        """One LaTeX paragraph for the methods section; by default the model's config values."""
        return self.describe_settings()

    def describe_settings(self):
        """Every config value of the model, as one LaTeX sentence."""
        from .. import latex

        return "Settings: " + "; ".join(f"{latex.escape(k)} = {latex.escape(v)}" for k, v in self.cfg.items()) + "."

    def from_unit_range(self, x):
        """Training images in [0, 1] → the generator's output range (e.g. [−1, 1] for tanh generators)."""
        lo, hi = self.output_range
        return x * (hi - lo) + lo

    def to_unit_range(self, x):
        lo, hi = self.output_range
        return ((x - lo) / (hi - lo)).clamp_(0.0, 1.0)

    @staticmethod
    def uniform_init_(module, irange):
        """pylearn2's `irange` initialisation: weights U(-irange, irange), biases zero."""
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.uniform_(layer.weight, -irange, irange)
                torch.nn.init.zeros_(layer.bias)

    def after_discriminator_step(self, disc):
        """Hook run right after every discriminator update, before any generator update; nothing by default."""

    def after_step(self, disc):
        """Hook run at the end of every training step (after the generator update, if any); nothing by default."""
