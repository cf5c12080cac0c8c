import math

import pytest
import torch

from gan_study.losses import bce_discriminator_loss, non_saturating_generator_loss
from gan_study.models import get_variant
from gan_study.models.mlp_gan import Maxout, MaxoutDiscriminator, MlpGenerator, dropout_mask, logit_of_pixel_means

SHAPE = (1, 28, 28)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    train_x = torch.rand(500, *SHAPE) ** 3  # mostly dark, like MNIST
    gen, disc = get_variant("mlp_gan", {}).build(SHAPE, train_x)
    return gen, disc, train_x


def test_shapes_and_parameter_counts(nets):
    gen, disc, _ = nets
    z = get_variant("mlp_gan", {}).sample_noise(7, torch.Generator().manual_seed(0), "cpu")
    assert z.shape == (7, 100)
    x = gen(z)
    assert x.shape == (7, *SHAPE) and 0 <= x.min() and x.max() <= 1
    assert disc(x).shape == (7,)
    # G: 100·1200+1200 + 1200·1200+1200 + 1200·784+784;  D: 784·1200+1200 + 240·1200+1200 + 240+1
    assert sum(p.numel() for p in gen.parameters()) == 2_503_984
    assert sum(p.numel() for p in disc.parameters()) == 1_231_441


def test_initialisation_ranges(nets):
    gen, disc, train_x = nets
    for layer in gen.net:
        if isinstance(layer, torch.nn.Linear):
            assert layer.weight.abs().max() <= 0.05 and layer.weight.abs().max() > 0.045
    for layer in (disc.h0.linear, disc.h1.linear, disc.y):
        assert layer.weight.abs().max() <= 0.005 and layer.weight.abs().max() > 0.0045
        assert torch.all(layer.bias == 0)
    assert torch.all(gen.net[0].bias == 0)
    mean = train_x.flatten(1).double().mean(0).clamp(1e-7, 1 - 1e-7)
    assert torch.allclose(torch.sigmoid(gen.output_layer.bias.double()), mean, atol=1e-6)


def test_output_bias_clips_constant_pixels():
    bias = logit_of_pixel_means(torch.zeros(10, 1, 2, 2))
    assert torch.allclose(bias, torch.full((4,), math.log(1e-7 / (1 - 1e-7))))


def test_noise_is_uniform_with_unit_variance():
    z = get_variant("mlp_gan", {}).sample_noise(200_000, torch.Generator().manual_seed(1), "cpu")
    assert z.abs().max() <= math.sqrt(3) and z.abs().max() > 1.73
    assert z.var().item() == pytest.approx(1.0, abs=0.01)


def test_maxout_takes_max_over_consecutive_pieces():
    layer = Maxout(2, units=2, pieces=3)
    with torch.no_grad():
        layer.linear.weight.zero_()
        layer.linear.bias.copy_(torch.tensor([1.0, 5.0, 2.0, -1.0, -3.0, -2.0]))
    assert torch.equal(layer(torch.zeros(1, 2)), torch.tensor([[5.0, -1.0]]))


def test_dropout_keep_probability_and_scale():
    g = torch.Generator().manual_seed(0)
    mask = dropout_mask((200_000,), 0.8, 1.25, g, "cpu")
    assert set(mask.unique().tolist()) == {0.0, 1.25}
    assert (mask > 0).float().mean().item() == pytest.approx(0.8, abs=0.005)
    assert mask.mean().item() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the expectation


def test_discriminator_dropout_only_with_masks(nets):
    _, disc, train_x = nets
    x = train_x[:4]
    assert torch.equal(disc(x), disc(x))  # no masks: evaluation, no dropout
    masks = [disc.dropout_masks(4, torch.Generator().manual_seed(s), "cpu") for s in (1, 2)]
    assert [tuple(m.shape) for m in masks[0]] == [(4, 784), (4, 240), (4, 240)]
    assert not torch.equal(disc(x, None, masks[0]), disc(x, None, masks[1]))
    ones = tuple(torch.ones_like(m) for m in masks[0])
    assert torch.equal(disc(x, None, ones), disc(x))


def test_objectives_by_hand():
    # D(x) = σ(0) = ½ everywhere: both objectives are log 2.
    zeros = torch.zeros(4)
    assert bce_discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(2))
    assert non_saturating_generator_loss(zeros).item() == pytest.approx(math.log(2))
    # D(x) = 0.9 on real, D(G(z)) = 0.2 on fake: ½[−log 0.9 − log 0.8]; G: −log 0.2
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    real, fake = torch.full((3,), logit(0.9)), torch.full((3,), logit(0.2))
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(0.5 * (-math.log(0.9) - math.log(0.8)))
    assert non_saturating_generator_loss(fake).item() == pytest.approx(-math.log(0.2))


def test_generator_output_in_unit_range_for_any_noise():
    gen = MlpGenerator(SHAPE)
    assert get_variant("mlp_gan", {}).to_unit_range(gen(10 * torch.randn(5, 100))).shape == (5, *SHAPE)
    assert isinstance(MaxoutDiscriminator(SHAPE).h0, Maxout)
