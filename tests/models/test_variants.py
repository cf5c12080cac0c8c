import math

import pandas as pd
import pytest
import torch

from gan_study import losses
from gan_study.models import get_variant
from gan_study.train import train

MNIST = (1, 28, 28)
CIFAR = (3, 32, 32)
CONV_CFG = {"width": 64, "noise": "uniform", "redundant_biases": False}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_dcgan_shapes_and_parameter_counts():
    v = get_variant("dcgan", CONV_CFG)
    gen, disc = v.build(MNIST, None)
    z = v.sample_noise(5, torch.Generator().manual_seed(0), "cpu")
    x = gen(z)
    assert x.shape == (5, *MNIST) and x.min() >= -1 and x.max() <= 1
    assert disc(x).shape == (5,)
    # G: Linear 100→128·7·7, BN1d, ConvT 128→64 (4×4), BN, ConvT 64→1; D: conv 1→64, conv 64→128, BN, linear 6272→1;
    # no bias before a batch norm
    assert n_params(gen) == 100 * 6272 + 2 * 6272 + 128 * 64 * 16 + 2 * 64 + (64 * 16 + 1)
    assert n_params(disc) == (16 * 64 + 64) + 64 * 128 * 16 + 2 * 128 + (6272 + 1)
    old_gen, old_disc = get_variant("dcgan", {**CONV_CFG, "redundant_biases": True}).build(MNIST, None)
    assert n_params(old_gen) == n_params(gen) + 6272 + 64 and n_params(old_disc) == n_params(disc) + 128
    gen32, disc32 = v.build(CIFAR, None)
    x32 = gen32(torch.randn(2, 100))
    assert x32.shape == (2, *CIFAR) and disc32(x32).shape == (2,)


def test_dcgan_init_is_normal_0_02():
    gen, disc = get_variant("dcgan", CONV_CFG).build(MNIST, None)
    w = torch.cat([m.weight.flatten() for m in disc.modules() if isinstance(m, torch.nn.Conv2d)])
    assert w.std().item() == pytest.approx(0.02, rel=0.05) and abs(w.mean().item()) < 1e-3


def test_critics_have_no_sigmoid_and_wgan_gp_has_no_batch_norm():
    _, wgan_critic = get_variant("wgan", CONV_CFG).build(MNIST, None)
    _, gp_critic = get_variant("wgan_gp", CONV_CFG).build(MNIST, None)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in wgan_critic.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gp_critic.modules())
    with torch.no_grad():
        wgan_critic.out.weight.fill_(50.0)  # an unbounded score, not a probability
    assert wgan_critic(torch.rand(4, *MNIST)).abs().max() > 1


def test_cgan_shapes_parameter_counts_and_class_layout():
    v = get_variant("cgan", {})
    gen, disc = v.build(MNIST, torch.rand(20, *MNIST))
    assert n_params(gen) == (100 * 200 + 200) + (10 * 1000 + 1000) + (1200 * 1200 + 1200) + (1200 * 784 + 784)
    assert n_params(disc) == (784 * 1200 + 1200) + (10 * 250 + 250) + (290 * 960 + 960) + (240 + 1)
    labels = v.sample_labels(10_000, "cpu")
    assert torch.bincount(labels).tolist() == [1000] * 10  # Mirza & Osindero: 1,000 samples per class
    assert labels[:1000].unique().tolist() == [0] and labels[-1000:].unique().tolist() == [9]
    z = v.sample_noise(3, torch.Generator().manual_seed(0), "cpu")
    assert z.min() >= 0 and z.max() <= 1
    a, b = gen(z, torch.tensor([1, 1, 1])), gen(z, torch.tensor([7, 7, 7]))
    assert a.shape == (3, *MNIST) and not torch.allclose(a, b)  # the label changes the sample
    assert disc(a, torch.tensor([1, 1, 1])).shape == (3,)


def test_wasserstein_objectives_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert losses.wasserstein_estimate(real, fake).item() == pytest.approx(2.5)
    assert losses.critic_loss(real, fake).item() == pytest.approx(-2.5)
    assert losses.wasserstein_generator_loss(fake).item() == pytest.approx(0.5)


def test_gradient_penalty_of_a_linear_critic_is_known():
    # f(x) = w·x has ∇f = w everywhere, so the penalty is (‖w‖ − 1)² whatever the interpolates are.
    w = torch.tensor([3.0, 4.0])  # ‖w‖ = 5 → penalty 16
    real, fake = torch.randn(8, 1, 1, 2), torch.randn(8, 1, 1, 2)  # (batch, C, H, W) images
    eps = torch.rand(8, 1, 1, 1, generator=torch.Generator().manual_seed(0))
    flat = lambda v: lambda x: x.flatten(-3) @ v  # noqa: E731
    assert losses.gradient_penalty(flat(w), real, fake, eps).item() == pytest.approx(16.0)
    assert losses.gradient_penalty(flat(w / 5), real, fake, eps).item() == pytest.approx(0.0, abs=1e-10)
    # Two seeds at once: (seeds, batch, C, H, W) gives one penalty per seed.
    both = losses.gradient_penalty(flat(w), real.expand(2, *real.shape), fake.expand(2, *fake.shape), eps)
    assert both.shape == (2,) and both.tolist() == pytest.approx([16.0, 16.0])


def _parameters_without_gradient(model, **settings):
    """The parameters whose gradient, in float64 on one step's losses, is at most 1e-9 of their net's largest: zero but
    for rounding noise (~1e-16 there), e.g. a bias before batch norm, or a critic's output bias under a Wasserstein
    loss (a difference of means cancels it)."""
    from gan_study.config import load_config

    variant = get_variant(model, {**load_config()["models"][model], **settings})
    gen, disc = (net.double() for net in variant.build(MNIST, torch.rand(64, *MNIST)))
    torch.manual_seed(0)
    labels = variant.sample_labels(16, "cpu")
    fake = gen(variant.sample_noise(16, torch.Generator().manual_seed(1), "cpu").double(), labels)
    real = variant.from_unit_range(torch.rand(16, *MNIST, dtype=torch.float64))
    found = []
    for net_name, net, loss in (
            ("disc", disc, variant.discriminator_loss(disc(real, labels), disc(fake.detach(), labels))),
            ("gen", gen, variant.generator_loss(disc(fake, labels)))):
        names, params = zip(*net.named_parameters())
        grads = torch.autograd.grad(loss.mean(), params)
        largest = max(g.abs().max() for g in grads)
        found += [f"{net_name}.{n}" for n, g in zip(names, grads) if g.abs().max() <= 1e-9 * largest]
    return sorted(found)


@pytest.mark.parametrize("model", ["mlp_gan", "cgan", "dcgan", "wgan", "wgan_gp"])
def test_every_parameter_gets_a_gradient_that_is_not_rounding_noise(model):
    """Adam and RMSProp divide a gradient by its running size, so rounding noise moves a parameter by up to the
    learning rate a step: such parameters random-walk, change no output, and make two correct runs differ."""
    settings = {"width": 8} if model in ("dcgan", "wgan", "wgan_gp") else {}
    assert _parameters_without_gradient(model, **settings) == []


def test_redundant_biases_true_rebuilds_the_earlier_nets_whose_biases_get_only_rounding_noise():
    before_batch_norm = ["gen.project.0.bias", "gen.up.0.bias"]
    assert _parameters_without_gradient("dcgan", width=8, redundant_biases=True) == [
        "disc.features.2.bias", *before_batch_norm]
    assert _parameters_without_gradient("wgan", width=8, redundant_biases=True) == [
        "disc.features.2.bias", "disc.out.bias", *before_batch_norm]
    assert _parameters_without_gradient("wgan_gp", width=8, redundant_biases=True) == [
        "disc.out.bias", *before_batch_norm]  # its critic has no batch norm: every conv's bias is used


def test_weight_clipping_bounds():
    _, critic = get_variant("wgan", CONV_CFG).build(MNIST, None)
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    get_variant("wgan", {"clip": 0.01, "clip_order": "algorithm1"}).after_discriminator_step(critic)
    assert max(p.abs().max().item() for p in critic.parameters()) == pytest.approx(0.01)


def test_reference_critic_schedule():
    cfg = {"d_steps": 5, "reference_critic_schedule": True}
    v = get_variant("wgan", cfg)
    assert [v.d_steps(g) for g in (0, 24, 25, 499, 500, 501)] == [100, 100, 5, 5, 100, 5]
    assert get_variant("wgan", {**cfg, "reference_critic_schedule": False}).d_steps(0) == 5


@pytest.mark.parametrize("model", ["cgan", "dcgan", "wgan", "wgan_gp"])
def test_short_training_on_real_mnist_moves_the_discriminator(model, tiny_config, tmp_path):
    tiny_config["runs"] = [{"model": model, "datasets": ["mnist"]}]
    budget = {"cgan": dict(epochs=2, train_limit=2000, log_every=5)}.get(
        model, dict(epochs=1, train_limit=1280, log_every=4, width=16))
    tiny_config["models"][model].update(budget)
    d = tmp_path
    summary = train(tiny_config, model, "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    assert summary["status"] == "completed"
    log = pd.read_csv(d / "log.csv")
    if model.startswith("wgan"):
        # The critic learns to separate real from generated images: the Wasserstein estimate grows, positive, at every
        # logged step after the first (which holds the critic's first steps: either sign, from its random start).
        estimate = log["wasserstein"].iloc[1:]
        assert estimate.iloc[0] > 0 and estimate.is_monotonic_increasing and estimate.iloc[-1] > estimate.iloc[0]
    else:
        first, last = log["d_loss"].iloc[0], log["d_loss"].iloc[-1]
        assert last < first - 1e-4 and log["d_real"].iloc[-1] > log["d_fake"].iloc[-1]


def test_dcgan_trains_on_cifar_format_data(tiny_config, tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    from tests.test_data import write_fake_cifar

    md5s = write_fake_cifar(tmp_path / "data" / "cifar-10-batches-py", n_per_batch=64)
    monkeypatch.setattr(tvd.CIFAR10, "train_list", md5s[:5])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", md5s[5:])
    monkeypatch.delenv("GAN_STUDY_DATA_DIR", raising=False)
    tiny_config["data_dir"] = str(tmp_path / "data")
    tiny_config["models"]["dcgan"].update(epochs=1, train_limit=None, batch_size=32, width=8, log_every=2)
    d = tmp_path / "run"
    summary = train(tiny_config, "dcgan", "cifar10", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    assert summary["status"] == "completed" and summary["train_images"] == 320 and summary["steps"] == 10


def test_generator_step_budget_stops_training(tiny_config, tmp_path):
    tiny_config["models"]["wgan"].update(epochs=5, train_limit=640, width=8, log_every=3, generator_steps=7)
    d = tmp_path
    summary = train(tiny_config, "wgan", "mnist", 0, d, d / "final.pt", d / "log.csv", d / "train.json")
    assert summary["status"] == "completed" and summary["generator_updates"] == 7
    assert summary["steps"] == 35  # n_critic 5 × 7 generator steps
    assert pd.read_csv(d / "log.csv")["step"].iloc[-1] == 35


def test_dcgan_noise_follows_the_config():
    g = torch.Generator()
    uniform = get_variant("dcgan", {"noise": "uniform"}).sample_noise(4000, g.manual_seed(0), "cpu")
    normal = get_variant("dcgan", {"noise": "normal"}).sample_noise(4000, g.manual_seed(0), "cpu")
    assert uniform.min() >= -1 and uniform.max() <= 1 and uniform.std().item() == pytest.approx(1 / math.sqrt(3), rel=0.02)
    assert normal.abs().max() > 1 and normal.std().item() == pytest.approx(1.0, rel=0.02)


def test_dcgan_defaults_to_the_papers_uniform_noise_and_the_methods_say_so(tiny_config):
    from gan_study.methods import methods_text

    assert tiny_config["models"]["dcgan"]["noise"] == "uniform"
    assert "U[-1,1]^{100}" in methods_text(tiny_config)


def test_cgan_generator_dropout_masks_change_the_output():
    gen, _ = get_variant("cgan", {}).build(MNIST, torch.rand(20, *MNIST))
    z, y = torch.rand(4, 100), torch.arange(4)
    masks = gen.dropout_masks(4, torch.Generator().manual_seed(1), "cpu")
    assert [m.shape for m in masks] == [(4, 1200), (4, 1200)]
    assert set(masks[0].unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(gen(z, y, masks), gen(z, y))
    assert torch.equal(gen(z, y), gen(z, y, None))  # evaluation: no dropout


def test_cgan_samples_with_its_training_dropout_unless_told_not_to():
    """`sample_dropout: true` draws each sample's masks from the sampling stream right after its noise; `false` runs
    the net without dropout, and draws exactly what the sampler drew before the key existed."""
    from gan_study.sample import generate

    with_dropout, without = get_variant("cgan", {"sample_dropout": True}), get_variant("cgan", {"sample_dropout": False})
    gen, _ = with_dropout.build(MNIST, torch.rand(20, *MNIST))
    gen.eval()
    labels = torch.arange(6) % 10
    rng = torch.Generator().manual_seed(7 + 1_000_003)  # generate's stream for seed 7
    z = with_dropout.sample_noise(6, rng, "cpu")
    masks = gen.dropout_masks(6, rng, "cpu")
    with torch.no_grad():
        by_hand = gen(z, labels, masks), gen(z, labels)
    assert torch.equal(generate(with_dropout, gen, 6, 7, "cpu", labels=labels), by_hand[0])
    assert torch.equal(generate(without, gen, 6, 7, "cpu", labels=labels), by_hand[1])
    assert not torch.equal(by_hand[0], by_hand[1])
    assert get_variant("mlp_gan", {}).sampling_masks(gen, 6, rng, "cpu") is None


def test_cgan_interpolation_keeps_a_row_s_masks_while_its_noise_moves():
    from gan_study.sample import interpolations

    variant = get_variant("cgan", {"sample_dropout": True})
    gen, _ = variant.build(MNIST, torch.rand(20, *MNIST))
    gen.eval()
    with torch.no_grad():
        gen.z_branch.weight.zero_()  # the noise no longer reaches the output: what remains varies with the masks only
        rows = interpolations(variant, gen, 0, "cpu", rows=3, steps=4).view(3, 4, -1)
        mean_net = interpolations(get_variant("cgan", {"sample_dropout": False}), gen, 0, "cpu", rows=3, steps=4)
    assert torch.equal(rows, rows[:, :1].expand_as(rows))  # one mask set a row
    assert not torch.equal(rows[:, 0], mean_net.view(3, 4, -1)[:, 0])  # drawn with dropout


def test_nets_without_dropout_draw_no_masks():
    for name, cfg in (("mlp_gan", {}), ("dcgan", CONV_CFG)):
        gen, _ = get_variant(name, cfg).build(MNIST, None)
        rng = torch.Generator().manual_seed(0)
        state = rng.get_state()
        assert gen.dropout_masks(4, rng, "cpu") is None and torch.equal(rng.get_state(), state)


VARIANTS = (("mlp_gan", {}), ("mlp_gan", {"noise": "gaussian"}), ("cgan", {"sample_dropout": True}), ("dcgan", CONV_CFG), ("dcgan", {**CONV_CFG, "noise": "normal"}),
            ("wgan", {**CONV_CFG, "noise": "normal"}))


@pytest.mark.parametrize("name, cfg", VARIANTS)
def test_a_stack_draws_each_seed_s_noise_and_masks_as_a_lone_run_would(name, cfg):
    """Training draws through `SeedStreams.draw` (declared uniforms transformed for all seeds at once, where a variant
    says so); each seed's share must be bitwise what `sample_noise` and `dropout_masks` draw from its generator."""
    from gan_study.seeds import SeedStreams

    variant = get_variant(name, cfg)
    gen, disc = variant.build(MNIST, None)
    seeds = [4, 7, 9]
    streams = SeedStreams(seeds, "cpu")
    # The noise, the generator's masks, then two discriminator passes' masks drawn together (as a training step does).
    noise, gen_masks, disc_masks = (streams.draw(variant.noise_draw(6, "cpu")), streams.draw(gen.dropout_draw(6, "cpu")),
                                    streams.draw(disc.dropout_draw(6, "cpu", passes=2)))
    for i, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(seed)
        assert torch.equal(noise[i], variant.sample_noise(6, g, "cpu"))
        alone = [gen.dropout_masks(6, g, "cpu"), disc.dropout_masks(6, g, "cpu"), disc.dropout_masks(6, g, "cpu")]
        drawn = [None if gen_masks is None else gen_masks[0], *(disc_masks or [None, None])]
        for stacked, lone in zip(drawn, alone):
            assert (stacked is None) == (lone is None)
            assert lone is None or (len(stacked) == len(lone) and all(torch.equal(s[i], m) for s, m in zip(stacked, lone)))


def _critic_weights_seen_by_generator(clip_order, monkeypatch):
    """Max |weight| of the critic when each generator step evaluates it, in a real WGAN training step."""
    from gan_study import train as train_module
    from gan_study.seeds import SeedStreams

    cfg = {**CONV_CFG, "width": 8, "noise": "normal", "clip": 0.01, "clip_order": clip_order, "lr": 0.5}
    v = get_variant("wgan", cfg)
    gen, critic = train_module.build_nets(v, MNIST, None, [0], torch.device("cpu"))
    opt_g, opt_d = v.make_optimizers(gen, critic)
    seen = []
    original = v.generator_loss
    monkeypatch.setattr(v, "generator_loss", lambda d_fake: (seen.append(
        max(p.abs().max().item() for p in critic.parameters())), original(d_fake))[1])
    train_module.train_step(v, gen, critic, opt_g, opt_d, torch.rand(1, 8, *MNIST) * 2 - 1, None,
                            SeedStreams([0], "cpu"), True, False)
    return seen[0], max(p.abs().max().item() for p in critic.parameters())


def test_wgan_clips_before_the_generator_step_as_algorithm_1(monkeypatch):
    seen, after = _critic_weights_seen_by_generator("algorithm1", monkeypatch)
    assert seen == pytest.approx(0.01) and after == pytest.approx(0.01)
    seen, after = _critic_weights_seen_by_generator("reference_code", monkeypatch)
    assert seen > 0.05 and after == pytest.approx(0.01)  # lr 0.5 moves the weights far past the clip before it


@pytest.mark.parametrize("model", ["wgan", "wgan_gp"])
def test_wgans_refuse_simultaneous_updates(tiny_config, model):
    from gan_study.config import validate
    from gan_study.errors import GanStudyError

    tiny_config["models"][model]["update_order"] = "simultaneous"
    with pytest.raises(GanStudyError, match=rf"models\.{model}\.update_order.*use alternating"):
        validate(tiny_config)
