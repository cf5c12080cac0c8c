"""Several seeds of one run trained as one batched model.

The paper's nets are small, so one seed leaves a GPU mostly idle. `SeedStack` holds S copies of a module
with their parameters stacked along a leading axis and evaluates all of them in one call with
`torch.func.vmap` over `torch.func.functional_call`: the matmuls and convolutions become batched kernels.
On a CPU the stack instead calls the seeds one after another (`vectorized=False`): a CPU is compute-bound
already, and a batched matmul splits its work across threads by seed, which idles cores whenever the seed
count does not divide evenly among them (5 seeds on 2 threads ran ~13% slower per seed than one seed alone).

Training always uses a stack, so one seed alone is a stack of one (called seed by seed, it runs the very kernels a
plain module would: its numbers are bitwise those of an unstacked run). Called seed by seed, a seed of a larger stack
is bitwise its lone run for the whole run and at any position: the nets run on each seed's own views, and whatever
the training step computes on stacked outputs (losses, diagnostics, the gradient penalty) goes through
`SeedStack.seedwise`, which hands each seed its own slice. Vmapped (GPUs) seeds agree with lone runs up to float
rounding only, which GAN training amplifies: a seed's outcome there may depend on the stack it trained in.

Randomness never happens inside the vmapped call. Every draw a training step makes (noise, permutations,
dropout masks, gradient-penalty interpolation weights) goes through `SeedStreams.draw`, which calls the
same drawing function once per seed with that seed's own torch.Generator — or, for a `UniformDraw` (noise and
masks that are exact transforms of uniforms), fills each seed's row of stacked buffers from its own generator and
transforms all rows at once. Each seed therefore consumes its own stream in exactly the order it would when
trained alone, and a batched run gives the per-seed numbers of S separate runs (bitwise seed by seed; up to the
rounding of batched kernels when vmapped; tests/test_seeds.py checks both).
"""

import copy
import math
import types

import torch
from torch.func import functional_call, stack_module_state, vmap


def _stack(values):
    first = values[0]
    if first is None:
        return None
    if isinstance(first, (tuple, list)):
        return type(first)(_stack(parts) for parts in zip(*values))
    return first.unsqueeze(0) if len(values) == 1 else torch.stack(values)  # one seed: a view, not a copy


class UniformDraw:
    """A draw declared as U[0, 1) tensors of `shapes` (drawn in that order from one generator) and an elementwise
    `transform` of them, e.g. dropout masks `(u < keep) * scale`: `draw(generator)` is what a lone run draws.

    A `SeedStreams` draws every seed's uniforms into one buffer per shape (each seed from its own generator, in the
    order a lone run would) and transforms all seeds at once: one kernel per shape instead of one per seed. That is
    bitwise each seed's own draw only because `transform` is made of exactly rounded elementwise operations
    (comparisons, +, −, × of floats), which give the same bits however a kernel splits its work.
    """

    def __init__(self, shapes, transform, device):
        self.shapes, self.transform, self.device = [tuple(s) for s in shapes], transform, device

    def __call__(self, generator):
        return self.transform(*(torch.rand(s, generator=generator, device=self.device) for s in self.shapes))

    def stacked(self, generators):
        _, buffers = self.layout(len(generators), range(len(self.shapes)))
        return self.transform(*self.fill(generators, buffers))

    def layout(self, n, order):
        """One allocation holding an (n, *shape) buffer per shape, placed in memory in `order` (so that buffers a
        transform treats alike can lie side by side): (the allocation, the buffers in the order of `shapes`)."""
        sizes = [n * math.prod(shape) for shape in self.shapes]
        flat = torch.empty(sum(sizes), device=self.device)
        buffers, start = [None] * len(self.shapes), 0
        for k in order:
            buffers[k] = flat[start : start + sizes[k]].view(n, *self.shapes[k])
            start += sizes[k]
        return flat, buffers

    @staticmethod
    def fill(generators, buffers):
        """Seed i's uniforms into row i of each buffer, from its own generator, in the order of the buffers."""
        for i, generator in enumerate(generators):
            for buffer in buffers:
                buffer[i].uniform_(0, 1, generator=generator)  # torch.rand's own kernel, without a resize
        return buffers


class SeedStreams:
    """One torch.Generator per seed. `draw(fn)` returns fn(generator) of each seed, stacked along a new leading
    axis (of size one for a lone seed); a `UniformDraw` is drawn into stacked buffers directly; None draws nothing."""

    def __init__(self, seeds, device):
        self.seeds = list(seeds)
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in self.seeds]

    def draw(self, fn):
        if fn is None:
            return None
        if isinstance(fn, UniformDraw):
            return fn.stacked(self.generators)
        return _stack([fn(g) for g in self.generators])

    def get_state(self):
        return [g.get_state() for g in self.generators]

    def set_state(self, states):
        for g, state in zip(self.generators, states):
            g.set_state(state)


def _drop_seed_axis(arg):
    if arg is None:
        return None
    if isinstance(arg, (tuple, list)):
        return type(arg)(_drop_seed_axis(part) for part in arg)
    return arg.squeeze(0)


def _seed_slice(arg, index):
    if arg is None:
        return None
    if isinstance(arg, (tuple, list)):
        return type(arg)(_seed_slice(part, index) for part in arg)
    return arg[index]


def _matmul_linear(self, x):
    y = torch.mm(x, self.weight.T) if x.dim() == 2 else x @ self.weight.T  # vmap makes either one batched matmul
    return y if self.bias is None else y + self.bias


def _with_matmul_linears(module):
    for layer in module.modules():
        if type(layer) is torch.nn.Linear:
            layer.forward = types.MethodType(_matmul_linear, layer)
    return module


def _compiled(fn, backend):
    """`fn` compiled by torch.compile with `backend` (True: torch's default). Each net of a run compiles its own
    graphs for each kind of call (with or without labels and masks, inputs that need gradients or not): more than
    torch's default recompilation limit, past which it would fall back to eager calls without a word."""
    import torch._dynamo

    limit = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
    setattr(torch._dynamo.config, limit, max(getattr(torch._dynamo.config, limit), 64))
    # The 2014 update differentiates the discriminator's loss with the graph retained for the generator's loss:
    # a compiled backward pass must not reuse ("donate") its saved buffers.
    import torch._functorch.config

    torch._functorch.config.donated_buffer = False
    return torch.compile(fn, **({} if backend is True else {"backend": backend}))


class SeedStack:
    """S independent copies of one nn.Module, called as one: inputs and outputs carry a leading seed axis.

    Its parameters are the stacked tensors (what the optimisers update); buffers (batch-norm running
    statistics) are stacked too and updated in place per seed. `vectorized`: evaluate all seeds in one vmapped
    call (GPUs), or seed by seed on views of the stacked tensors (CPUs); the results are the same.
    """

    def __init__(self, modules, vectorized=True, compile_backend=None):
        self.vectorized = vectorized
        self.params, self.buffers = stack_module_state(list(modules))
        # The template holds no data: functional_call supplies each seed's parameters and buffers.
        self.template = copy.deepcopy(modules[0]).to("meta")
        self.size = len(modules)
        # Vmapped, a Linear layer computes x @ Wᵀ + b: what vmap makes of F.linear anyway (a batched matmul and an
        # add), without the `b * 1` and reshape kernels its batching rule adds in the forward and backward passes.
        self.vmapped_template = _with_matmul_linears(copy.deepcopy(self.template))
        # torch.compile (config `torch_compile`): the nets' forward pass (and through it their backward pass) as
        # compiled graphs. Every random draw stays outside (masks and noise come in as inputs), so the seeds' streams
        # are untouched; compiled kernels round otherwise than eager ones, so numbers agree within float rounding.
        self.forward = self._forward if compile_backend is None else _compiled(self._forward, compile_backend)

    def _one(self, params, buffers, *args):
        return functional_call(self.template, (params, buffers), args)

    def _one_vmapped(self, params, buffers, *args):
        return functional_call(self.vmapped_template, (params, buffers), args)

    def __call__(self, *args):
        return self.forward(self.params, self.buffers, *args)

    def _forward(self, params, buffers, *args):
        if self.vectorized:
            in_dims = (0, 0, *(None if arg is None else 0 for arg in args))  # None: an absent input (labels, masks)
            return vmap(self._one_vmapped, in_dims=in_dims)(params, buffers, *args)
        if self.size == 1:
            return self._alone(params, buffers, *args)
        # Views of the stacked tensors: gradients and buffer updates land in the stack. One unbind per tensor (not
        # an index per seed), so the backward pass assembles each stacked gradient once.
        params = {name: p.unbind(0) for name, p in params.items()}
        buffers = {name: b.unbind(0) for name, b in buffers.items()}
        outputs = []
        for i in range(self.size):
            outputs.append(self._one({n: p[i] for n, p in params.items()}, {n: b[i] for n, b in buffers.items()},
                                     *(_seed_slice(arg, i) for arg in args)))
        return torch.stack(outputs)

    def _alone(self, params, buffers, *args):
        """A stack of one: reshaping views in and out (their gradients are views too), so a lone seed runs exactly the
        kernels of a plain module, no more: no copies to split or join a stack."""
        params = {name: p.view(p.shape[1:]) for name, p in params.items()}
        buffers = {name: b.view(b.shape[1:]) for name, b in buffers.items()}
        return self._one(params, buffers, *(_drop_seed_axis(arg) for arg in args)).unsqueeze(0)

    def seedwise(self, fn, *tensors):
        """`fn` of tensors with a leading seed axis, computed as a lone seed's run computes it.

        Seed by seed (CPUs), `fn` gets each seed's slice (a leading axis of one, as alone) and the results are joined:
        an elementwise kernel vectorises a tensor in chunks and finishes its tail in scalar code, and vectorised and
        scalar exp/log (sigmoid, BCE) round differently, so on a stacked tensor the elements of seed k would fall on
        other sides of that boundary than in a lone run — a few ulps that GAN training amplifies. Vmapped (GPUs) and
        for a stack of one, `fn` sees the whole tensors (one kernel for all seeds)."""
        if self.vectorized or self.size == 1:
            return fn(*tensors)
        parts = [fn(*(None if t is None else t[i : i + 1] for t in tensors)) for i in range(self.size)]
        if isinstance(parts[0], dict):
            return {k: torch.cat([part[k] for part in parts]) for k in parts[0]}
        return torch.cat(parts)

    def __getattr__(self, name):
        # Methods that draw no randomness from the data (e.g. `dropout_masks`) are the template's.
        if name in ("params", "buffers", "template", "vmapped_template", "size", "vectorized", "seedwise", "forward"):
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
