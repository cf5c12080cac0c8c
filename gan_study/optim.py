"""The optimisers: pylearn2's SGD with momentum and the schedules of the 2014 mnist.yaml, and the optimiser families
(`OPTIMIZERS`) the variants name.

pylearn2's `Momentum` learning rule: inc ← m·inc − lr·g; θ ← θ + inc. `ExponentialDecay` divides
the learning rate by `decay_factor` after every minibatch (floor `min_lr`); `MomentumAdjustor`
moves momentum linearly from its initial to its final value between epochs `start` and
`saturate`, counting its own calls: pylearn2's `Train.main_loop` runs the monitor callbacks once before
the first epoch and once after each, so during 0-based epoch e the adjustor has been called e + 1 times.
"""

import torch


class PylearnMomentumSGD(torch.optim.Optimizer):
    """SGD with pylearn2's momentum form; `lr` and `momentum` are set per step by the schedule.

    They are numbers, or 0-dim device tensors while a CUDA graph is captured (`gan_study.graphs`): a captured step
    reads them from the tensors, which the schedule refills before every replay.
    """

    def __init__(self, params, lr, momentum):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        # One foreach call per operation over all parameters (a kernel per tensor on a CPU, fused on a GPU): the
        # same per-element arithmetic as a loop over the parameters, in far fewer launches.
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            incs = [self._increment(p) for p in params]
            torch._foreach_mul_(incs, momentum)
            if isinstance(lr, torch.Tensor):
                torch._foreach_sub_(incs, torch._foreach_mul(grads, lr))  # not fused like alpha=: equal within rounding
            else:
                torch._foreach_add_(incs, grads, alpha=-lr)
            torch._foreach_add_(params, incs)

    def _increment(self, param):
        state = self.state[param]
        if "inc" not in state:
            state["inc"] = torch.zeros_like(param)
        return state["inc"]


def exponential_decay_lr(step, initial, decay_factor, min_lr):
    """Learning rate used by update `step` (0-based): initial / factor**step, floored at min_lr."""
    return max(initial / decay_factor**step, min_lr)


def linear_momentum(epoch, initial, final, start, saturate):
    """Momentum during 0-based epoch `epoch`.

    pylearn2 (June 2014): `Train.main_loop` calls `run_callbacks_and_monitoring()` before its first epoch and
    after every epoch (pylearn2/train.py), and `MomentumAdjustor.on_monitor` increments `_count` before
    `current_momentum()` computes alpha = (_count − start) / (saturate − start), clipped to [0, 1]
    (pylearn2/training_algorithms/learning_rule.py). During epoch e, `_count` is therefore e + 1: with
    start 1 and saturate 250, epoch 0 trains at the initial momentum and epoch 249 (the 250th) at the final.
    """
    calls = epoch + 1
    alpha = min(max((calls - start) / float(saturate - start), 0.0), 1.0)
    return initial * (1.0 - alpha) + final * alpha


# Devices on which torch's Adam and RMSprop can keep their step count on the device (`capturable`), as a step
# replayed from a CUDA graph must.
CAPTURABLE_DEVICES = ("cuda",)


def capturable_where_supported(optimizer):
    """Adam and RMSprop `capturable` wherever their parameters' device allows it, eager or graphed: a capturable
    step computes its bias correction with device-tensor operations, which round differently from the eager
    formula, so eager and graphed training do the same arithmetic only if both use it. Elsewhere (CPUs) the flag
    is off. Called after building an optimiser and after loading a checkpoint, which carries the flag (and puts
    the step count) of the machine that wrote it: a checkpoint moves between a GPU and a CPU either way."""
    for group in optimizer.param_groups:
        if "capturable" not in group:
            continue  # an optimiser without the option (pylearn2's SGD has no step-dependent term)
        group["capturable"] = capturable = all(p.device.type in CAPTURABLE_DEVICES for p in group["params"])
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(device=p.device if capturable else "cpu", dtype=torch.float32)
    return optimizer


def set_hyperparameters(optimizer, values):
    for group in optimizer.param_groups:
        group.update(values)


def _pylearn_sgd(params, cfg):
    return PylearnMomentumSGD(params, cfg["lr_initial"], cfg["momentum_initial"])


def _adam(params, cfg):
    return torch.optim.Adam(params, lr=cfg["lr"], betas=(cfg["adam_beta1"], cfg["adam_beta2"]))


def _rmsprop(params, cfg):
    return torch.optim.RMSprop(params, lr=cfg["lr"])


# The optimiser families a variant names (`GanVariant.optimizer`): each builds one net's optimiser from the
# model's config. One SGD over both nets in pylearn2 is two identical optimisers here (per-parameter state).
OPTIMIZERS = {"pylearn_sgd": _pylearn_sgd, "adam": _adam, "rmsprop": _rmsprop}
