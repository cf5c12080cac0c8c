"""CUDA graphs for the training step (config `cuda_graphs: true`).

The paper's nets are tiny: on a GPU a training step is a few hundred kernel launches of microseconds each, issued by
Python, so a step costs what its launches cost, not its arithmetic. A CUDA graph records one whole step (forward,
backward, both optimiser updates, every seed's random draws) once, and replays it with one launch.

What makes a step replayable:
- static inputs: each minibatch is copied into the buffers the graph reads; the losses it returns are static too;
- hyper-parameters that change between steps (the MLP GAN's learning rate and momentum) are 0-dim device tensors
  that the optimiser reads, refilled before every replay; Adam and RMSprop are `capturable` (their step count
  lives on the GPU), in eager training on a GPU as well (`optim.capturable_where_supported`): the capturable bias
  correction rounds otherwise than the eager one, and both paths must do the same arithmetic;
- random draws: every seed's CUDA generator is registered with the graph, so a replay advances each seed's stream
  as the eager step would (torch's graph-safe Philox offsets) and checkpointed streams stay exact;
- state created lazily on first use (optimiser buffers, library workspaces) must exist before capture: one warm-up
  step runs, and everything it changed (weights, buffers, optimiser state, random streams) is put back.
One graph is captured per update kind (discriminator only; discriminator and generator). A capture that fails puts
the state back and raises `GraphCaptureError`; the trainer then goes on eagerly and says so in one line.

Graphed steps equal eager ones within float rounding (the learning rate enters unfused). `graph-check` measures that
on a GPU; tests/test_graphs.py runs this module on the CPU with replay emulated by eager calls (`EagerReplay`).
"""

import contextlib

import torch

from .errors import GanStudyError

# Optimiser state that torch's optimisers (and ours) create as zeros on their first step: after the warm-up step
# it is zeroed again, exactly as a run that never warmed up would find it.
ZERO_INITIALISED_STATE = {"inc", "step", "exp_avg", "exp_avg_sq", "square_avg"}


class GraphCaptureError(GanStudyError):
    """The step could not be captured; the training state is as it was before the attempt."""


class CudaGraphs:
    """Warm-up on a side stream and capture into a `torch.cuda.CUDAGraph` (the real backend)."""

    reruns_python = False

    @staticmethod
    def warm_up(step):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            step()
        torch.cuda.current_stream().wait_stream(side)

    @staticmethod
    def capture(step, generators):
        """Record `step`; returns a function that replays it and returns its (static) outputs."""
        graph = torch.cuda.CUDAGraph()
        for generator in generators:
            graph.register_generator_state(generator)
        with torch.cuda.graph(graph):
            outputs = step()

        def replay():
            graph.replay()
            return outputs

        return replay


class EagerReplay:
    """The same protocol on any device, replaying by calling the step again (tests; no GPU needed). Each replay runs
    under the capture's conditions (tensor hyper-parameters), as a graph replays what it recorded, and returns its
    outputs in the same static tensors every time, as a graph does: a caller that keeps them without copying sees
    every kept row turn into the last one, on the CPU as on a GPU."""

    reruns_python = True

    @staticmethod
    def warm_up(step):
        step()

    @staticmethod
    def capture(step, generators):
        static = {}

        def replay():
            for key, value in step().items():
                if value is None or static.get(key) is None:
                    static[key] = None if value is None else value.detach().clone()
                else:
                    static[key].copy_(value)
            return static

        return replay


class SavedState:
    """Everything a warm-up step may change: weights, buffers, optimiser state and the seeds' random streams."""

    def __init__(self, nets, optimizers, streams):
        self.nets, self.optimizers, self.streams = nets, optimizers, streams
        self.tensors = [(t, t.detach().clone()) for net in nets for t in net.state_dict().values()]
        self.opt_state = {(id(p), key): value.clone() for opt in optimizers for p, state in opt.state.items()
                          for key, value in state.items() if torch.is_tensor(value)}
        self.rng = streams.get_state()

    @torch.no_grad()
    def restore(self):
        for tensor, saved in self.tensors:
            tensor.copy_(saved)
        for opt in self.optimizers:
            for p, state in opt.state.items():
                for key, value in state.items():
                    saved = self.opt_state.get((id(p), key))
                    if saved is not None:
                        value.copy_(saved)
                    elif key in ZERO_INITIALISED_STATE:
                        value.zero_()
                    else:
                        raise GraphCaptureError(f"optimiser state {key!r} made by the warm-up step cannot be reset")
        self.streams.set_state(self.rng)


class GraphedStep:
    """`step(x, y, update_generator)` (the eager training step, reading its inputs from the arguments) replayed from
    CUDA graphs. Call it with a minibatch, the update kind and the schedule's hyper-parameters."""

    def __init__(self, step, nets, optimizers, streams, backend=None):
        self.step, self.nets, self.optimizers, self.streams = step, nets, optimizers, streams
        self.backend = backend or CudaGraphs()
        self.replays = {}  # update_generator → replay function
        self.static_x = self.static_y = None
        self.hyper = {}  # name → 0-dim tensor read by the captured optimiser steps

    def __call__(self, x, y, update_generator, hyper):
        if update_generator not in self.replays:
            self._capture(x, y, update_generator, hyper)
        for name, value in hyper.items():
            self.hyper[name].fill_(value)
        self.static_x.copy_(x)
        if y is not None:
            self.static_y.copy_(y)
        return self.replays[update_generator]()

    def _capture(self, x, y, update_generator, hyper):
        if self.static_x is None:
            self.static_x, self.static_y = x.clone(), None if y is None else y.clone()
            self.hyper = {name: torch.tensor(float(value), device=x.device) for name, value in hyper.items()}

        def step():
            return self.step(self.static_x, self.static_y, update_generator)

        saved = None
        try:
            with self._tensor_hyperparameters():
                saved = SavedState(self.nets, self.optimizers, self.streams)
                self.backend.warm_up(step)
                saved.restore()
                replay = self.backend.capture(step, self.streams.generators)
        except Exception as error:
            if saved is not None:
                saved.restore()
            raise GraphCaptureError(f"{type(error).__name__}: {error}".splitlines()[0]) from error
        self.replays[update_generator] = self._under_capture_conditions(replay) if self.backend.reruns_python else replay

    def _under_capture_conditions(self, replay):
        def rerun():
            with self._tensor_hyperparameters():
                return replay()

        return rerun

    @contextlib.contextmanager
    def _tensor_hyperparameters(self):
        """While capturing: hyper-parameters as tensors (Adam and RMSprop are `capturable` already on a GPU, from the
        trainer: `optim.capturable_where_supported`). Afterwards the groups hold numbers again (checkpoints stay
        loadable anywhere); the graphs keep reading the tensors."""
        before = [(group, dict(group)) for opt in self.optimizers for group in opt.param_groups]
        for group, _ in before:
            group.update(self.hyper)
        try:
            yield
        finally:
            for group, values in before:
                group.update({k: v for k, v in values.items() if k != "params"})
