import pytest
import torch

from gan_study.optim import PylearnMomentumSGD, exponential_decay_lr, linear_momentum

PAPER_LR = dict(initial=0.1, decay_factor=1.000004, min_lr=1e-6)
PAPER_MOMENTUM = dict(initial=0.5, final=0.7, start=1, saturate=250)


def test_learning_rate_schedule_exact_values():
    assert exponential_decay_lr(0, **PAPER_LR) == 0.1
    assert exponential_decay_lr(1, **PAPER_LR) == pytest.approx(0.1 / 1.000004, rel=1e-15)
    assert exponential_decay_lr(500, **PAPER_LR) == pytest.approx(0.1 / 1.000004**500, rel=1e-12)
    # one epoch of 500 minibatches, 250 epochs: lr ≈ 0.1·e^(−0.5)
    assert exponential_decay_lr(125_000, **PAPER_LR) == pytest.approx(0.060653, rel=1e-4)
    # the floor: 0.1 / 1.000004^n < 1e-6 once n > ln(1e5)/ln(1.000004) ≈ 2.88M
    assert exponential_decay_lr(3_000_000, **PAPER_LR) == 1e-6


def pylearn2_momentum(epoch, initial, final, start, saturate):
    """The original's value, written as pylearn2 computes it: one `on_monitor` call before the first epoch
    and one after each, each incrementing `_count` before alpha = (_count − start) / (saturate − start)."""
    count = 0
    for _ in range(epoch + 1):  # the calls made before 0-based epoch `epoch` trains
        count += 1
    alpha = min(max(float(count - start) / float(saturate - start), 0.0), 1.0)
    return initial * (1 - alpha) + final * alpha


@pytest.mark.parametrize("epoch", [0, 1, 2, 124, 248, 249, 250, 1000])
def test_momentum_schedule_follows_pylearn2(epoch):
    assert linear_momentum(epoch, **PAPER_MOMENTUM) == pytest.approx(pylearn2_momentum(epoch, **PAPER_MOMENTUM),
                                                                     abs=1e-15)


def test_momentum_schedule_exact_values():
    assert linear_momentum(0, **PAPER_MOMENTUM) == 0.5  # _count 1 = start: alpha 0
    assert linear_momentum(1, **PAPER_MOMENTUM) == pytest.approx(0.5 + 0.2 / 249)
    assert linear_momentum(249, **PAPER_MOMENTUM) == 0.7  # the last epoch of a 250-epoch run trains at exactly 0.7
    assert linear_momentum(248, **PAPER_MOMENTUM) < 0.7
    assert linear_momentum(1000, **PAPER_MOMENTUM) == 0.7


def test_pylearn2_momentum_update_by_hand():
    # inc ← m·inc − lr·g; θ ← θ + inc, with a constant gradient g = 2.
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = PylearnMomentumSGD([p], lr=0.1, momentum=0.5)
    p.grad = torch.tensor([2.0])
    opt.step()  # inc = −0.2
    assert p.item() == pytest.approx(0.8)
    opt.step()  # inc = 0.5·(−0.2) − 0.2 = −0.3
    assert p.item() == pytest.approx(0.5)
    for group in opt.param_groups:
        group.update(lr=0.01, momentum=0.0)
    opt.step()  # inc = −0.02
    assert p.item() == pytest.approx(0.48)


def test_adam_is_capturable_only_where_the_device_allows_and_checkpoints_move_either_way(tiny_config):
    """On a CPU the flag is off; a checkpoint written on a GPU (flag on, step counts on the device) loads on a CPU
    and trains, its step counts back on the host."""
    from gan_study.optim import capturable_where_supported
    from gan_study.train import Trainer

    config = tiny_config
    config["models"]["dcgan"].update(train_limit=256, width=8)
    trainer = Trainer(config, "dcgan", "mnist", [0])
    trainer.step(*trainer.steps_through_epochs()(0))
    assert not any(g["capturable"] for g in trainer.opt_d.param_groups)
    state = trainer.state_dict()
    for opt in ("opt_generator", "opt_discriminator"):  # as a GPU run would have written it
        for group in state[opt]["param_groups"]:
            group["capturable"] = True
    resumed = Trainer(config, "dcgan", "mnist", [0])
    resumed.load_state_dict(state)
    assert not any(g["capturable"] for g in resumed.opt_d.param_groups)
    assert all(s["step"].device.type == "cpu" and float(s["step"]) == 1 for s in resumed.opt_d.state.values())
    resumed.step(*resumed.steps_through_epochs()(0))
    assert all(float(s["step"]) == 2 for s in resumed.opt_d.state.values())
    sgd = PylearnMomentumSGD([torch.nn.Parameter(torch.zeros(2))], 0.1, 0.5)
    assert "capturable" not in capturable_where_supported(sgd).param_groups[0]
