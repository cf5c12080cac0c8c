"""pylearn2's SGD with momentum and the schedules of the 2014 mnist.yaml.

pylearn2's `Momentum` learning rule: inc ← m·inc − lr·g; θ ← θ + inc. `ExponentialDecay` divides
the learning rate by `decay_factor` after every minibatch (floor `min_lr`); `MomentumAdjustor`
moves momentum linearly from its initial to its final value between epochs `start` and
`saturate`, counting completed epochs.
"""

import torch


class PylearnMomentumSGD(torch.optim.Optimizer):
    """SGD with pylearn2's momentum form; `lr` and `momentum` are set per step by the schedule."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "inc" not in state:
                    state["inc"] = torch.zeros_like(p)
                inc = state["inc"]
                inc.mul_(momentum).add_(p.grad, alpha=-lr)
                p.add_(inc)


def exponential_decay_lr(step, initial, decay_factor, min_lr):
    """Learning rate used by update `step` (0-based): initial / factor**step, floored at min_lr."""
    return max(initial / decay_factor**step, min_lr)


def linear_momentum(epoch, initial, final, start, saturate):
    """Momentum during epoch `epoch` (0-based = number of completed epochs)."""
    alpha = min(max((epoch - start) / float(saturate - start), 0.0), 1.0)
    return initial * (1.0 - alpha) + final * alpha


def set_hyperparameters(optimizer, values):
    for group in optimizer.param_groups:
        group.update(values)
