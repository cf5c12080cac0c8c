"""Training: the `Trainer` of one (model, dataset) run for one seed or several, and the files a run writes.

Rooms, in the order a minibatch meets them:
- `train_step`: one minibatch's arithmetic, in one of two update orders —
  `simultaneous` (the 2014 code): one forward pass gives both nets' gradients and both are updated together;
  `alternating` (Algorithm 1 of the paper): every minibatch updates the discriminator; after every k = d_steps of
  them the generator is updated once on fresh noise.
- `Trainer.step`: the schedules, the update counters and `train_step`; `Trainer.fit`: the epoch loop, divergence
  checks, and each completed epoch handed to the run's files; `Trainer.state_dict`: the checkpoint's layout.
- `TrainingLog`: the log rows, progress line and live log files of one `fit`.
- `SeedRun`: one seed's bookkeeping (log rows, status, divergence). One seed is a stack of one: every run trains
  its seeds as one `SeedStack`, so a lone seed and a batched one take the same code path. A stack may also hold
  the cells of one model on several datasets whose epochs agree (MNIST and Fashion-MNIST: 50,000 training images of
  28×28 each): each seed then draws its minibatches from its own dataset and writes its own cell's files.
- `train_seeds` / `train`: a run as a command — owns the work dir, resumes, writes each seed's outputs.
Schedules count minibatches (`step`) and completed epochs (`epoch`). What a run writes (checkpoint, snapshots,
final outputs) and when is `run_files.RunFiles`'s.
"""

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import worklock
from .config import model_run_config, run_id
from .data import load_splits
from .errors import GanStudyError
from .graphs import GraphCaptureError, GraphedStep
from .models import get_variant
from .optim import capturable_where_supported, set_hyperparameters
from .progress import Progress
from .provenance import config_hash, git_state, now
from .run_files import RunFiles, RunOutputs  # noqa: F401  (RunOutputs: where a seed's results go, for callers)
from .runtime import make_deterministic, resolve_device, set_tf32
from .seeds import SeedStack, SeedStreams
from .status import Status
from .commands import RUN_ARGS, arg, command

# The layout of checkpoint.pt (`Trainer.state_dict`). A checkpoint of another layout is moved aside and the run
# starts fresh. 2: one record per seed, every run a seed stack, no global RNG state (every draw is seeded).
STATE_VERSION = 2


def graphs_wanted(config, model):
    """Config `cuda_graphs`: true for every model, or the list of models to capture (those whose check passed)."""
    wanted = config["cuda_graphs"]
    return wanted is True or (isinstance(wanted, list) and model in wanted)


def run_config(config, model, dataset):
    """The part of the config that determines one run's training: its hash keys resumption and results."""
    return model_run_config(model, dataset, config["models"][model])


def _grads_to(params, grads):
    for p, g in zip(params, grads):
        p.grad = g


def _simultaneous_update(variant, gen, disc, opt_g, opt_d, d_loss, g_loss):
    d_params, g_params = list(disc.parameters()), list(gen.parameters())
    # Summing per-seed losses gives every seed exactly its own gradient.
    _grads_to(d_params, torch.autograd.grad(d_loss.sum(), d_params, retain_graph=True))
    _grads_to(g_params, torch.autograd.grad(g_loss.sum(), g_params))
    opt_d.step()
    opt_g.step()
    variant.after_discriminator_step(disc)


def _minimise(opt, loss):
    opt.zero_grad(set_to_none=True)
    loss.sum().backward()
    opt.step()


def train_step(variant, gen, disc, opt_g, opt_d, x, y, streams, update_generator, simultaneous):
    """One minibatch (`x`, `y`: images and labels with a leading seed axis; `y` is used by conditional models).
    Returns a dict of detached losses and diagnostics of shape (seeds,).

    Every random draw goes through `streams`, in a fixed order (noise, generator masks, discriminator masks for
    the real batch, for the fake batch, penalty, then the generator update's noise and masks), so a seed's stream
    is consumed identically whether it trains alone or batched with others. Nets without dropout draw no masks.
    """
    device, batch = x.device, x.shape[-4]

    def masks(net, passes=1):
        """The net's dropout masks for `passes` passes drawn together (no other draw comes between them)."""
        drawn = streams.draw(net.dropout_draw(batch, device, passes))
        return [None] * passes if drawn is None else drawn

    def generated():
        z = streams.draw(variant.noise_draw(batch, device))
        return gen(z, y, masks(gen)[0])

    fake = generated()
    real_masks, fake_masks = masks(disc, 2)
    d_real = disc(x, y, real_masks)
    g_loss = None
    # Losses and diagnostics are computed seed by seed where the nets are (`SeedStack.seedwise`): bitwise a lone run's.
    if simultaneous:
        d_fake = disc(fake, y, fake_masks)
        d_loss = disc.seedwise(variant.discriminator_loss, d_real, d_fake)
        g_loss = disc.seedwise(variant.generator_loss, d_fake)
        _simultaneous_update(variant, gen, disc, opt_g, opt_d, d_loss, g_loss)
    else:
        d_fake = disc(fake.detach(), y, fake_masks)
        d_loss = disc.seedwise(variant.discriminator_loss, d_real, d_fake)
        penalty = variant.discriminator_penalty(disc, x, fake.detach(), y, streams)
        _minimise(opt_d, d_loss if penalty is None else d_loss + penalty)
        variant.after_discriminator_step(disc)  # e.g. WGAN's clipping, before the generator sees the critic
        if update_generator:
            g_loss = disc.seedwise(variant.generator_loss, disc(generated(), y, masks(disc)[0]))
            _minimise(opt_g, g_loss)
    variant.after_step(disc)
    values = {"d_loss": d_loss.detach(), "g_loss": None if g_loss is None else g_loss.detach()}
    values.update({k: v.detach() for k, v in disc.seedwise(variant.diagnostics, d_real.detach(),
                                                           d_fake.detach()).items()})
    return values


class RunningMeans:
    """Sums logged quantities on the device and syncs only when a log row is written."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.sums, self.counts = {}, {}

    def add(self, values):
        for key, value in values.items():
            self.counts.setdefault(key, 0)
            if value is not None:
                self.sums[key] = self.sums.get(key, 0.0) + value
                self.counts[key] += 1

    def rows(self, n_seeds):
        """Per seed, the mean of each quantity since the last reset (one device→host copy for all of them)."""
        keys = [k for k, n in self.counts.items() if n]
        host = torch.stack([self.sums[k].reshape(-1).double() for k in keys]).cpu().tolist() if keys else []
        values = dict(zip(keys, host))
        return [{k: values[k][s] / n if n else None for k, n in self.counts.items()} for s in range(n_seeds)]


class TrainingLog:
    """The log of one `fit`: every step's losses summed on the device, a row per running seed every `log_every`
    steps and at each epoch's end (with the schedule's values), the progress line, and each seed's live log file."""

    def __init__(self, trainer, live_logs=None):
        self.means = RunningMeans()
        self.progress = Progress(trainer.label, trainer.cfg["epochs"] * trainer.n_batches, trainer.steps)
        self.live = live_logs or [None] * len(trainer.runs)

    def add(self, values):
        self.means.add(values)

    def write_rows(self, trainer, epoch):
        """Append each running seed's mean losses since the last row; returns the seeds whose row is not finite
        (diverged: the trainer freezes them)."""
        rows, nonfinite = self.means.rows(len(trainer.runs)), []
        self.means.reset()
        for i, run in enumerate(trainer.runs):
            if not run.running:
                continue
            row = {"step": trainer.steps, "epoch": epoch, **rows[i], **trainer.hyper}
            if all(math.isfinite(v) for k, v in row.items() if v is not None and k not in trainer.hyper):
                run.log.append(row)
                if self.live[i] is not None:
                    self.live[i].append(row)
            else:
                nonfinite.append(i)
        running = [run for i, run in enumerate(trainer.runs) if run.running and i not in nonfinite]
        if running:
            last = running[0].log[-1]
            self.progress.update(trainer.steps, last["epoch"], last)
        return nonfinite

    def close(self):
        self.progress.close()


@dataclass
class SeedRun:
    """One seed's bookkeeping: its log rows, its status, and where and with which weights it diverged."""

    seed: int
    log: list = field(default_factory=list)
    status: str = Status.RUNNING.value
    diverged: dict | None = None  # the step and the last finite log row
    frozen: dict | None = None  # the weights and counters at divergence: its final weights

    @property
    def running(self):
        return self.status == Status.RUNNING


# Bytes a seed's stack needs per byte of its weights: the modules built one by one and their stacked copy, gradients,
# up to two optimiser buffers, the snapshot and checkpoint copies; activations come on top (measured: the 5-seed MLP GAN
# job peaks at 1.6 GB with 15 MB of weights per seed, most of it the training set and the libraries).
BYTES_PER_WEIGHT_BYTE = 8


def free_memory_bytes(device):
    """Memory a new stack can use on `device`: the GPU's free memory, or the host's MemAvailable (None if unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_stack_memory(variant, image_shape, n_seeds, device, free=None):
    """Refuse, before allocating anything, a stack of seeds that cannot fit in memory (one line, with the fix)."""
    gen, disc = variant.build(image_shape, None)
    weight_bytes = sum(p.numel() * p.element_size() for net in (gen, disc) for p in net.parameters())
    needed = n_seeds * weight_bytes * BYTES_PER_WEIGHT_BYTE
    free = free_memory_bytes(device) if free is None else free
    if free is not None and needed > free:
        raise GanStudyError(
            f"training {n_seeds} seeds as one stack needs about {needed / 2**30:.1f} GiB ({weight_bytes / 2**20:.0f} MiB "
            f"of weights per seed, ×{BYTES_PER_WEIGHT_BYTE} for gradients, optimiser state and copies); {device.type} "
            f"has {free / 2**30:.1f} GiB free: train fewer seeds per job (config seeds, or batch_seeds: false)")


def build_nets(variant, image_shape, train_x, seeds, device, vectorized=None, compile_backend=None):
    """(generator, discriminator) SeedStacks for `seeds`, vmapped (`vectorized`; by default on GPUs when there are
    several seeds) or called seed by seed, their forward passes compiled with `compile_backend` (config
    `torch_compile`; None: eager). Each seed's initialisation comes from the global RNG seeded with it and from
    `train_x` (its training images, for a data-dependent initialisation: one tensor, or a list with one per seed)."""
    nets = []
    for i, seed in enumerate(seeds):
        make_deterministic(seed, device)
        images = train_x[i] if isinstance(train_x, list) else train_x
        nets.append([net.to(device) for net in variant.build(image_shape, images)])
    vectorized = (device.type != "cpu" and len(seeds) > 1) if vectorized is None else vectorized
    return tuple(SeedStack([pair[k] for pair in nets], vectorized, compile_backend) for k in (0, 1))


class Trainer:
    """Trains the seeds of one (model, dataset) run as one seed stack. `fit` without `files` keeps no checkpoints,
    snapshots or outputs (as `bench` and `graph-check` use it). `graph_backend` replays the step from graphs on any
    device (graphs.EagerReplay, for tests); by default config `cuda_graphs` captures CUDA graphs on GPUs."""

    STATE_VERSION = STATE_VERSION

    def __init__(self, config, model, dataset, seeds, vectorized=None, graph_backend=None):
        # `dataset`: every seed's, or a list with each seed's (a stack of several cells of one model; `self.dataset`
        # then names them all, e.g. "mnist+fashion_mnist", and `self.datasets` holds each seed's).
        self.datasets = [dataset] * len(seeds) if isinstance(dataset, str) else list(dataset)
        self.config, self.model, self.dataset = config, model, "+".join(dict.fromkeys(self.datasets))
        self.cfg = cfg = config["models"][model]
        self.variant = get_variant(model, cfg)
        self.device = resolve_device(config["device"])
        set_tf32(config["allow_tf32"])
        self.train_x, self.train_y, unit_x, image_shape, self.offsets = self._load_training_sets(len(seeds))
        if len(seeds) > 1:
            check_stack_memory(self.variant, image_shape, len(seeds), self.device)
        self.compiled = self._compile_backend(config.get("torch_compile", False))  # None: eager
        self.gen, self.disc = build_nets(self.variant, image_shape, unit_x, seeds, self.device, vectorized,
                                         self.compiled)
        self.opt_g, self.opt_d = map(capturable_where_supported, self.variant.make_optimizers(self.gen, self.disc))
        self.streams = SeedStreams(seeds, self.device)
        self.runs = [SeedRun(seed) for seed in seeds]
        self.epoch = self.steps = self.g_updates = self.d_done = 0
        self.hyper = {}  # the schedule's values at the current step (logged with each row)
        self.simultaneous = cfg["update_order"] == "simultaneous"
        self.batch, self.n_batches = cfg["batch_size"], self.n_images // cfg["batch_size"]
        if self.n_batches == 0:
            raise GanStudyError(f"models.{model}.batch_size ({self.batch}) exceeds the {self.n_images} "
                                f"training images; lower batch_size or raise models.{model}.train_limit")
        self.run_hashes = [config_hash(run_config(config, model, name)) for name in self.datasets]  # per seed
        # The checkpoint's: a run's own hash, or for a stack of cells the hash of its members' hashes.
        self.run_hash = self.run_hashes[0] if self.offsets is None else config_hash(self.run_hashes)
        self.label = (run_id(model, self.dataset, seeds[0]) if len(seeds) == 1
                      else f"{model}/{self.dataset}/seeds{','.join(map(str, seeds))}")
        self.trained_by, self.wall_before, self.t0 = [{"started": now(), **git_state()}], 0.0, time.time()
        self.graph_error = None  # why a wanted graph capture failed
        self.graphed = self._graphed_step(graphs_wanted(config, model) or graph_backend is not None, graph_backend)

    def _compile_backend(self, wanted):
        """Config `torch_compile`'s backend (True: torch's default), or None: off, or a model it cannot compile."""
        if wanted and self.variant.not_compilable:
            print(f"[gan-study] torch_compile: {self.model} trains eagerly: {self.variant.not_compilable}")
            return None
        return wanted or None

    def _graphed_step(self, wanted, backend):
        if not wanted:
            return None
        if self.device.type != "cuda" and backend is None:
            print(f"[gan-study] cuda_graphs: the device is {self.device.type}, not a CUDA GPU; {self.label} trains "
                  "eagerly")
            return None
        return GraphedStep(self._eager_step, (self.gen, self.disc), (self.opt_g, self.opt_d), self.streams, backend)

    def _load_training_sets(self, n_seeds):
        """The training images of every dataset of the stack, one after another on the device; each seed's unit-range
        images (for initialisation); their shape; and per seed the offset of its dataset's images (None when the
        stack has one dataset); `n_images` is each dataset's count. Cells stack only when their epochs agree: the same
        image shape and count."""
        if len(self.datasets) != n_seeds:
            raise GanStudyError(f"a stack of {n_seeds} seeds needs one dataset or {n_seeds}, not {len(self.datasets)}")
        names = list(dict.fromkeys(self.datasets))
        xs, ys, units, shapes = zip(*(self._load_training_set(name) for name in names))
        self.n_images = xs[0].shape[0]
        if len({(x.shape[0], shape) for x, shape in zip(xs, shapes)}) > 1:
            sizes = ", ".join(f"{name} {x.shape[0]:,} images of {tuple(s)}" for name, x, s in zip(names, xs, shapes))
            raise GanStudyError(f"{self.model}: cells stack only when their training sets have one image shape and one "
                                f"size (epochs of the same minibatches): {sizes}; train them in separate stacks")
        unit_per_seed = [units[names.index(name)] for name in self.datasets]
        if len(names) == 1:
            return xs[0], ys[0], unit_per_seed[0], shapes[0], None
        offsets = torch.tensor([names.index(name) * self.n_images for name in self.datasets], device=self.device)
        return torch.cat(xs), torch.cat(ys), unit_per_seed, shapes[0], offsets[:, None]

    def _load_training_set(self, dataset):
        splits = load_splits(dataset, self.config["data_dir"], self.config["download"])
        n_train = splits.train_x.shape[0]
        limit = self.cfg["train_limit"] or n_train
        if limit > n_train:
            raise GanStudyError(f"models.{self.model}.train_limit ({limit}) exceeds the {n_train:,} training images "
                                f"of {dataset}; lower it, or set it to null to use them all")
        # The whole training set lives on the device, in the generator's output range; minibatches are index gathers.
        train_x = self.variant.from_unit_range(splits.train_x[:limit]).to(self.device)
        return train_x, splits.train_y[:limit].to(self.device), splits.train_x[:limit], splits.image_shape

    @property
    def seeds(self):
        return [run.seed for run in self.runs]

    def running(self):
        return [run for run in self.runs if run.running]

    def step(self, x, y=None):
        """One minibatch at the current schedule; counts it. `x`, `y` carry a leading seed axis."""
        self.hyper = self.variant.schedule(self.steps, self.epoch)
        set_hyperparameters(self.opt_g, self.hyper)
        set_hyperparameters(self.opt_d, self.hyper)
        self.d_done += 1  # counts across epoch boundaries: k discriminator steps per generator step, always
        update_g = self.simultaneous or self.d_done >= self.variant.d_steps(self.g_updates)
        values = self._train_step(x, y, update_g)
        if update_g:
            self.g_updates, self.d_done = self.g_updates + 1, 0
        self.steps += 1
        return values

    def budget_reached(self):
        """A generator-step budget (config `generator_steps`) ends the run, mid-epoch if it falls there."""
        budget = self.cfg.get("generator_steps")
        return budget is not None and self.g_updates >= budget

    def _train_step(self, x, y, update_generator):
        if self.graphed is not None:
            try:
                return self.graphed(x, y, update_generator, self.hyper)
            except GraphCaptureError as error:  # nothing changed: the step runs eagerly, as every later one
                print(f"[gan-study] cuda_graphs: {self.label} could not be captured ({error}); training eagerly")
                self.graphed, self.graph_error = None, str(error)
        return self._eager_step(x, y, update_generator)

    def _eager_step(self, x, y, update_generator):
        return train_step(self.variant, self.gen, self.disc, self.opt_g, self.opt_d, x, y, self.streams,
                          update_generator, self.simultaneous)

    def epoch_order(self):
        """Each seed's permutation of its training set for one epoch, drawn from its own stream."""
        order = self.streams.draw(lambda g: torch.randperm(self.n_images, generator=g, device=self.device))
        return order if self.offsets is None else order + self.offsets  # each seed's indices into its own dataset

    def minibatch(self, order, b):
        """Minibatch `b` of an epoch's `order`: (x, y) index-gathered on the device, with a leading seed axis."""
        idx = order[..., b * self.batch : (b + 1) * self.batch]
        return self.train_x[idx], self.train_y[idx] if self.variant.conditional else None

    def steps_through_epochs(self):
        """`next_batch(done)` for step `done` of a loop over epochs, as training draws them (bench, graph-check)."""
        order = None

        def next_batch(done):
            nonlocal order
            if done % self.n_batches == 0:
                order = self.epoch_order()
            return self.minibatch(order, done % self.n_batches)

        return next_batch

    def fit(self, until_epoch=None, files=None):
        """Train to the budget, or stop after epoch `until_epoch`; `files` (a RunFiles) gets each completed epoch
        (snapshots, checkpoint). Returns True when the run has ended: budget reached, or every seed diverged."""
        last = self.cfg["epochs"] if until_epoch is None else min(until_epoch, self.cfg["epochs"])
        log = TrainingLog(self, files.live_logs(self) if files else None)
        while self.running() and self.epoch < last:
            self.train_epoch(log)
            self.freeze_nonfinite_seeds()
            if not self.running() or self.budget_reached():
                break  # a generator-step budget ends the run mid-epoch; the final weights are written as it stands
            self.epoch += 1
            if files:
                files.end_of_epoch(self)
        log.close()
        return not self.running() or self.budget_reached() or self.epoch >= self.cfg["epochs"]

    def train_epoch(self, log):
        order = self.epoch_order()
        for b in range(self.n_batches):
            log.add(self.step(*self.minibatch(order, b)))
            if self.steps % self.cfg["log_every"] == 0 or b == self.n_batches - 1 or self.budget_reached():
                for i in log.write_rows(self, self.epoch + (b + 1) / self.n_batches):
                    self.diverge(i)
                if not self.running():
                    break
            if self.budget_reached():
                break

    def seed_states(self, net):
        return [net.seed_state_dict(i) for i in range(net.size)]

    def diverge(self, i):
        run = self.runs[i]
        run.status = Status.DIVERGED.value
        run.diverged = {"step": self.steps, "last_finite": run.log[-1] if run.log else None}
        run.frozen = {**self.counters(), "generator": self.gen.seed_state_dict(i),
                      "discriminator": self.disc.seed_state_dict(i)}

    def counters(self):
        return {"epoch": self.epoch, "step": self.steps, "g_updates": self.g_updates}

    def freeze_nonfinite_seeds(self):
        for i, (g_ok, d_ok) in enumerate(zip(self.gen.finite().tolist(), self.disc.finite().tolist())):
            if self.runs[i].running and not (g_ok and d_ok):
                self.diverge(i)

    def state_dict(self):
        """The resumable state of every seed (layout `STATE_VERSION`)."""
        return {
            "state_version": STATE_VERSION, "model": self.model, "dataset": self.dataset, "seeds": self.seeds,
            "run_config_hash": self.run_hash, **self.counters(), "d_done": self.d_done,
            "generator": self.gen.state_dict(), "discriminator": self.disc.state_dict(),
            "opt_generator": self.opt_g.state_dict(), "opt_discriminator": self.opt_d.state_dict(),
            "rng": self.streams.get_state(), "seed_runs": [asdict(run) for run in self.runs],
            "trained_by": self.trained_by, "wall_time_s": self.wall_before + time.time() - self.t0,
        }

    def load_state_dict(self, state):
        self.gen.load_state_dict(state["generator"])
        self.disc.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_generator"])
        self.opt_d.load_state_dict(state["opt_discriminator"])
        capturable_where_supported(self.opt_g)
        capturable_where_supported(self.opt_d)
        self.streams.set_state(state["rng"])
        self.epoch, self.steps, self.g_updates, self.d_done = (state[k] for k in ("epoch", "step", "g_updates",
                                                                                  "d_done"))
        self.runs = [SeedRun(**run) for run in state["seed_runs"]]
        self.trained_by = state["trained_by"] + [{**self.trained_by[-1], "from_epoch": self.epoch}]
        self.wall_before = state["wall_time_s"]


def train(config, model, dataset, seed, work_dir, final_path, log_csv, summary_json, until_epoch=None):
    """Train one (model, dataset, seed) run, resuming from `work_dir/checkpoint.pt` if present."""
    summaries = train_seeds(config, model, dataset, [seed], work_dir, [RunOutputs(final_path, log_csv, summary_json)],
                            until_epoch=until_epoch)
    return None if summaries is None else summaries[0]


def train_seeds(config, model, dataset, seeds, work_dir, outputs, until_epoch=None, vectorized=None):
    """Train the seeds of one (model, dataset) in one process as one seed stack, vmapped (`vectorized`, by default
    on GPUs) or seed by seed (by default on CPUs); returns their summaries, or None when stopped at `until_epoch`.
    `dataset` may list each seed's dataset: several cells of one model whose training sets have the same size and
    image shape (MNIST and Fashion-MNIST) then train as one stack, each seed as in its own cell.

    Each seed gets the outputs a single-seed run writes (final weights, log, summary), so everything
    downstream is the same whichever way the seeds were trained. A seed that diverges is recorded as such
    and frozen; the others go on. The run owns `work_dir` while it trains (a second trainer is refused), and
    first removes the temporary files its own killed attempts left behind.
    """
    with worklock.hold(work_dir):
        files = RunFiles(work_dir, outputs)
        files.remove_leftovers()
        trainer = Trainer(config, model, dataset, seeds, vectorized)
        files.resume(trainer)
        try:
            if not trainer.fit(until_epoch, files):
                return None
            return files.write_outputs(trainer)
        finally:
            files.checkpoint_writer.wait()  # the last checkpoint complete on disk, whatever ended the run


RUN_FILES = [arg("--work-dir", required=True, help="the resumable checkpoint lives here")]


@command("train", RUN_ARGS + RUN_FILES + [
    arg("--final", required=True, help="final weights (.pt)"), arg("--log-csv", required=True),
    arg("--summary", required=True, help="train.json with status and provenance")])
def train_command(config, args):
    train(config, args.model, args.dataset, args.seed, args.work_dir, args.final, args.log_csv, args.summary)


@command("train-seeds", [
    arg("--model", required=True),
    arg("--dataset", required=True, nargs="+",
        help="the seeds' dataset, or one per seed in --seeds order (cells of one model with equal training sets)"),
    arg("--seeds", required=True, type=int, nargs="+"),
    *RUN_FILES, arg("--final", required=True, nargs="+", help="one per seed, in --seeds order"),
    arg("--log-csv", required=True, nargs="+"), arg("--summary", required=True, nargs="+")])
def train_seeds_command(config, args):
    if not len(args.seeds) == len(args.final) == len(args.log_csv) == len(args.summary):
        raise GanStudyError("train-seeds needs one --final, --log-csv and --summary path per seed")
    if len(args.dataset) not in (1, len(args.seeds)):
        raise GanStudyError(f"train-seeds: give one --dataset for all seeds or one per seed ({len(args.seeds)}), not "
                            f"{len(args.dataset)}")
    outputs = [RunOutputs(*paths) for paths in zip(args.final, args.log_csv, args.summary)]
    dataset = args.dataset[0] if len(args.dataset) == 1 else args.dataset
    train_seeds(config, args.model, dataset, args.seeds, args.work_dir, outputs)
