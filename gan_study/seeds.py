"""Several seeds of one run trained as one batched model.

The paper's nets are small, so one seed leaves a GPU mostly idle. `SeedStack` holds S copies of a module
with their parameters stacked along a leading axis and evaluates all of them in one call with
`torch.func.vmap` over `torch.func.functional_call`: the matmuls and convolutions become batched kernels.

Randomness never happens inside the vmapped call. Every draw a training step makes (noise, permutations,
dropout masks, gradient-penalty interpolation weights) goes through `SeedStreams.draw`, which calls the
same drawing function once per seed with that seed's own torch.Generator. Each seed therefore consumes
its own stream in exactly the order it would when trained alone, and a batched run gives the per-seed
numbers of S separate runs (up to the float rounding of batched kernels; tests/test_seeds.py checks it).
"""

import copy

import torch
from torch.func import functional_call, stack_module_state, vmap


def _stack(values):
    first = values[0]
    if first is None:
        return None
    if isinstance(first, (tuple, list)):
        return type(first)(_stack(parts) for parts in zip(*values))
    return torch.stack(values)


class SeedStreams:
    """One torch.Generator per seed. `draw(fn)` returns fn(generator) for one seed, or the per-seed results
    stacked along a new leading axis when `batched`."""

    def __init__(self, seeds, device, batched):
        if not batched and len(seeds) != 1:
            raise ValueError("an unbatched SeedStreams holds exactly one seed")
        self.seeds, self.batched = list(seeds), batched
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in self.seeds]

    def draw(self, fn):
        values = [fn(g) for g in self.generators]
        return _stack(values) if self.batched else values[0]

    def get_state(self):
        return [g.get_state() for g in self.generators]

    def set_state(self, states):
        for g, state in zip(self.generators, states):
            g.set_state(state)


class SeedStack:
    """S independent copies of one nn.Module, called as one: inputs and outputs carry a leading seed axis.

    Its parameters are the stacked tensors (what the optimisers update); buffers (batch-norm running
    statistics) are stacked too and updated in place per seed.
    """

    def __init__(self, modules):
        self.params, self.buffers = stack_module_state(list(modules))
        # The template holds no data: functional_call supplies each seed's parameters and buffers.
        self.template = copy.deepcopy(modules[0]).to("meta")
        self.size = len(modules)

    def _one(self, params, buffers, *args):
        return functional_call(self.template, (params, buffers), args)

    def __call__(self, *args):
        in_dims = (0, 0, *(None if arg is None else 0 for arg in args))  # None: an absent input (labels, masks)
        return vmap(self._one, in_dims=in_dims)(self.params, self.buffers, *args)

    def __getattr__(self, name):
        # Methods that draw no randomness from the data (e.g. `dropout_masks`) are the template's.
        if name in ("params", "buffers", "template", "size"):
            raise AttributeError(name)
        return getattr(self.template, name)

    def parameters(self):
        return list(self.params.values())

    def train(self, mode=True):
        self.template.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        """The stacked parameters and buffers (a checkpoint of all seeds)."""
        return {**self.params, **self.buffers}

    def load_state_dict(self, state):
        with torch.no_grad():
            for name, tensor in {**self.params, **self.buffers}.items():
                tensor.copy_(state[name])

    def seed_state_dict(self, index):
        """Seed `index`'s state dict, loadable into one copy of the module."""
        return {name: tensor[index].detach().clone() for name, tensor in self.state_dict().items()}

    def finite(self):
        """Per seed: True when all its parameters are finite."""
        flags = [torch.isfinite(p.detach()).flatten(1).all(1) for p in self.params.values()]
        return torch.stack(flags).all(0)
