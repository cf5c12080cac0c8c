"""The CUDA-graph machinery (gan_study/graphs.py) on the CPU: replay emulated by calling the step again
(`EagerReplay`), so everything but the capture itself is exercised — static inputs, tensor hyper-parameters, the
warm-up step put back, one graph per update kind, the fallback when a capture fails. `graph-check` compares real
CUDA graphs with eager steps on a GPU."""

import pytest
import torch

from gan_study.graphs import EagerReplay, GraphCaptureError, GraphedStep, SavedState
from gan_study.train import Trainer

MODELS = ("mlp_gan", "cgan", "dcgan", "wgan", "wgan_gp")


def small(config, model):
    config["models"][model].update(epochs=2, train_limit=640, log_every=2)
    if "width" in config["models"][model]:
        config["models"][model]["width"] = 8
    return config


def trained(config, model, seeds=(0, 3), **kwargs):
    trainer = Trainer(config, model, "mnist", list(seeds), vectorized=True, **kwargs)
    trainer.fit()
    return trainer


def assert_same_training(a, b, exact):
    """Same log rows and weights: bitwise (`exact`) or within float rounding."""
    for run_a, run_b in zip(a.runs, b.runs):
        assert len(run_a.log) == len(run_b.log) > 0
        for row_a, row_b in zip(run_a.log, run_b.log):
            assert row_a.keys() == row_b.keys()
            for key in row_a:
                if exact or row_a[key] is None:
                    assert row_a[key] == row_b[key], key
                else:
                    assert row_a[key] == pytest.approx(row_b[key], rel=1e-4, abs=1e-6), key
    for net in ("gen", "disc"):
        for name, tensor in getattr(a, net).state_dict().items():
            other = getattr(b, net).state_dict()[name]
            if exact:
                assert torch.equal(tensor, other), name
            else:
                torch.testing.assert_close(tensor, other, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_replayed_steps_equal_eager_steps(model, tiny_config):
    """Optimisers without a schedule run the very same kernels: bitwise. The MLP GAN's and cGAN's learning rate and
    momentum are tensors in a graphed step (unfused arithmetic): equal within float rounding."""
    config = small(tiny_config, model)
    eager = trained(config, model)
    replayed = trained(config, model, graph_backend=EagerReplay())
    cfg = config["models"][model]
    kinds = {True} if cfg["update_order"] == "simultaneous" or cfg.get("d_steps", 1) == 1 else {True, False}
    if model in ("wgan", "wgan_gp"):
        assert kinds == {True, False}  # critic-only steps and generator steps: two graphs
    assert set(replayed.graphed.replays) == kinds
    assert_same_training(eager, replayed, exact=not replayed.hyper)


def test_alternating_mlp_gan_replays_too(tiny_config):
    config = small(tiny_config, "mlp_gan")
    config["models"]["mlp_gan"].update(update_order="alternating", d_steps=2)
    eager = trained(config, "mlp_gan")
    replayed = trained(config, "mlp_gan", graph_backend=EagerReplay())
    assert set(replayed.graphed.replays) == {True, False}
    assert_same_training(eager, replayed, exact=False)


def test_the_warm_up_step_is_put_back_exactly(tiny_config):
    """Capturing runs one real step to create lazy state; afterwards weights, optimiser state and every seed's random
    stream are as before — a step after a warm-up and capture is the eager step."""
    config = small(tiny_config, "dcgan")
    trainer = Trainer(config, "dcgan", "mnist", [0, 3], vectorized=True, graph_backend=EagerReplay())
    trainer.fit(until_epoch=1)  # optimiser state exists; then capture a fresh kind against it
    before = {k: v.clone() for k, v in {**trainer.gen.state_dict(), **trainer.disc.state_dict()}.items()}
    rng = [s.clone() for s in trainer.streams.get_state()]
    opt = {(id(p), k): v.clone() for p, st in trainer.opt_d.state.items() for k, v in st.items()}
    trainer.graphed.replays.clear()
    x = torch.stack([trainer.train_x[:64], trainer.train_x[64:128]])
    trainer.graphed._capture(x, None, True, trainer.hyper)
    after = {**trainer.gen.state_dict(), **trainer.disc.state_dict()}
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.equal(a, b) for a, b in zip(rng, trainer.streams.get_state()))
    assert all(torch.equal(opt[(id(p), k)], v) for p, st in trainer.opt_d.state.items() for k, v in st.items())


def test_a_failed_capture_leaves_the_state_alone_and_training_goes_on_eagerly(tiny_config, capsys):
    class FailingCapture(EagerReplay):
        @staticmethod
        def capture(step, generators):
            step()  # changes everything, as a half-run capture might
            raise RuntimeError("operation not permitted when stream is capturing")

    config = small(tiny_config, "dcgan")
    eager = trained(config, "dcgan")
    fallen_back = trained(config, "dcgan", graph_backend=FailingCapture())
    assert fallen_back.graphed is None and fallen_back.graph_error.startswith("RuntimeError: operation not permitted")
    assert "could not be captured (RuntimeError: operation not permitted" in capsys.readouterr().out
    assert_same_training(eager, fallen_back, exact=True)


def test_optimiser_state_of_unknown_initial_value_is_refused(tiny_config):
    config = small(tiny_config, "dcgan")
    trainer = Trainer(config, "dcgan", "mnist", [0], vectorized=True)
    saved = SavedState((trainer.gen, trainer.disc), (trainer.opt_d,), trainer.streams)
    trainer.opt_d.state[trainer.disc.parameters()[0]]["accumulator"] = torch.ones(1)
    with pytest.raises(GraphCaptureError, match="'accumulator'"):
        saved.restore()


def test_cuda_graphs_on_a_cpu_trains_eagerly_and_says_so(tiny_config, capsys):
    config = small(tiny_config, "mlp_gan")
    config["cuda_graphs"] = True
    trainer = trained(config, "mlp_gan", seeds=(0,))
    assert trainer.graphed is None
    assert "cuda_graphs: the device is cpu, not a CUDA GPU; mlp_gan/mnist/seed0 trains eagerly" in capsys.readouterr().out


def test_hyper_parameters_reach_the_replayed_step_through_tensors(tiny_config):
    """The schedule changes the learning rate every step: a replay must read the new value, not the captured one."""
    config = small(tiny_config, "mlp_gan")
    trainer = Trainer(config, "mlp_gan", "mnist", [0], vectorized=True, graph_backend=EagerReplay())
    seen = []
    step = trainer.graphed.step

    def spy(x, y, update_generator):
        seen.append(float(trainer.opt_d.param_groups[0]["lr"]))
        return step(x, y, update_generator)

    trainer.graphed.step = spy
    trainer.fit(until_epoch=1)
    expected = [trainer.variant.schedule(i, 0)["lr"] for i in range(trainer.steps)]
    assert seen[1:] == pytest.approx(expected, rel=1e-6)  # after the warm-up step
    assert isinstance(trainer.opt_d.param_groups[0]["lr"], float)  # checkpoints keep numbers
    assert isinstance(trainer.graphed, GraphedStep)


def test_cuda_graphs_can_name_the_models_that_passed_their_check(tiny_config):
    """On the H200 the MLP nets' graphs agreed with eager training and the conv nets' did not: the config lists the
    models to capture, the schema refuses a name that is no model, and the methods text says which."""
    from gan_study.config import validate
    from gan_study.errors import GanStudyError
    from gan_study.methods import methods_text
    from gan_study.train import graphs_wanted

    config = dict(tiny_config, cuda_graphs=["mlp_gan", "cgan"])
    validate(config)
    assert [graphs_wanted(config, m) for m in ("mlp_gan", "cgan", "dcgan")] == [True, True, False]
    assert graphs_wanted(dict(config, cuda_graphs=True), "dcgan") and not graphs_wanted(dict(config, cuda_graphs=False),
                                                                                        "mlp_gan")
    assert "each training step of MLP GAN (2014), Conditional GAN (the models whose check passed)" in " ".join(methods_text(config).split())
    assert "\t" not in methods_text(config)  # a LaTeX \texttt once lost its backslash to a tab
    with pytest.raises(GanStudyError, match="cuda_graphs"):
        validate(dict(config, cuda_graphs=["mlp_gan", "resnet"]))


@pytest.fixture
def cpu_as_capturable(monkeypatch):
    """torch's Adam and RMSprop accept `capturable` on the CPU (they refuse it there), and the study treats the CPU as
    a device where eager optimisers are capturable: the conditions of a GPU, for the optimiser arithmetic alone."""
    import importlib

    from gan_study import optim

    modules = [importlib.import_module(f"torch.optim.{name}") for name in ("optimizer", "adam", "rmsprop")]
    supported = modules[0]._get_capturable_supported_devices

    def with_cpu(supports_xla=True):
        return [*supported(supports_xla), "cpu"]

    for module in modules:
        monkeypatch.setattr(module, "_get_capturable_supported_devices", with_cpu)
    monkeypatch.setattr(optim, "CAPTURABLE_DEVICES", ("cuda", "cpu"))
    return monkeypatch


@pytest.mark.parametrize("model", ("dcgan", "wgan_gp"))
def test_graphed_and_eager_adam_do_the_same_arithmetic(model, tiny_config, cpu_as_capturable):
    """A graph captures Adam `capturable` (its bias correction in device-tensor operations, rounded otherwise than
    the eager formula): eager training on such a device uses the capturable form too, so the two are bitwise equal.
    With eager Adam left uncapturable, they are not."""
    from gan_study import optim

    config = small(tiny_config, model)
    replayed = trained(config, model, graph_backend=EagerReplay())
    assert all(g["capturable"] for opt in (replayed.opt_g, replayed.opt_d) for g in opt.param_groups)
    assert_same_training(trained(config, model), replayed, exact=True)
    cpu_as_capturable.setattr(optim, "CAPTURABLE_DEVICES", ())  # eager Adam as before: the graphs' arithmetic differs
    uncapturable = trained(config, model)
    assert not all(torch.equal(a, getattr(replayed, net).params[name]) for net in ("gen", "disc")
                   for name, a in getattr(uncapturable, net).params.items())
