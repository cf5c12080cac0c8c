"""Training: the `Trainer` of one (model, dataset) run for one seed or several, and the files a run writes.

Rooms, in the order a minibatch meets them:
- `train_step`: one minibatch's arithmetic, in one of two update orders —
  `simultaneous` (the 2014 code): one forward pass gives both nets' gradients and both are updated together;
  `alternating` (Algorithm 1 of the paper): every minibatch updates the discriminator; after every k = d_steps of
  them the generator is updated once on fresh noise.
- `Trainer.step`: the schedules, the update counters and `train_step`; `Trainer.fit`: epochs, divergence checks,
  generator snapshots and the resumable checkpoint; `Trainer.state_dict`: the checkpoint's layout.
- `SeedRun`: one seed's bookkeeping (log rows, status, divergence). One seed is a stack of one: every run trains
  its seeds as one `SeedStack`, so a lone seed and a batched one take the same code path.
- `train_seeds` / `train`: a run as a command — owns the work dir, resumes, writes each seed's outputs.
Schedules count minibatches (`step`) and completed epochs (`epoch`). The checkpoint is written atomically every
`checkpoint_every` epochs into the run's work dir, which Snakemake does not own, so a failed job never loses it.
"""

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch

from . import checkpoint
from . import worklock
from .atomic import remove_stale_temporaries, write_csv, write_json
from .config import run_id, snapshot_epochs
from .data import load_splits
from .errors import GanStudyError
from .graphs import GraphCaptureError, GraphedStep
from .models import get_variant
from .optim import set_hyperparameters
from .outcome import assess_collapse, run_status
from .progress import LiveLog, Progress
from .provenance import config_hash, git_state, now, provenance
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
    return {"model": model, "dataset": dataset, "model_config": config["models"][model]}


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

    def masks():
        return streams.draw(lambda g: disc.dropout_masks(batch, g, device))

    def generated():
        z = streams.draw(lambda g: variant.sample_noise(batch, g, device))
        return gen(z, y, streams.draw(lambda g: gen.dropout_masks(batch, g, device)))

    fake = generated()
    d_real = disc(x, y, masks())
    g_loss = None
    # Losses and diagnostics are computed seed by seed where the nets are (`SeedStack.seedwise`): bitwise a lone run's.
    if simultaneous:
        d_fake = disc(fake, y, masks())
        d_loss = disc.seedwise(variant.discriminator_loss, d_real, d_fake)
        g_loss = disc.seedwise(variant.generator_loss, d_fake)
        _simultaneous_update(variant, gen, disc, opt_g, opt_d, d_loss, g_loss)
    else:
        d_fake = disc(fake.detach(), y, masks())
        d_loss = disc.seedwise(variant.discriminator_loss, d_real, d_fake)
        penalty = variant.discriminator_penalty(disc, x, fake.detach(), y, streams)
        _minimise(opt_d, d_loss if penalty is None else d_loss + penalty)
        variant.after_discriminator_step(disc)  # e.g. WGAN's clipping, before the generator sees the critic
        if update_generator:
            g_loss = disc.seedwise(variant.generator_loss, disc(generated(), y, masks()))
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


class RunOutputs:
    """Where one seed's results go: final weights, training log, summary. Its generator snapshots (for the
    per-checkpoint curves) are kept beside the final weights, in `snapshots/`, outside Snakemake's outputs."""

    def __init__(self, final, log_csv, summary):
        self.final, self.log_csv, self.summary = Path(final), Path(log_csv), Path(summary)
        self.snapshot_dir = self.final.parent / "snapshots"

    def snapshot(self, epoch):
        return self.snapshot_dir / f"epoch{epoch:04d}.pt"


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


def build_nets(variant, image_shape, train_x, seeds, device, vectorized=None):
    """(generator, discriminator) SeedStacks for `seeds`, vmapped (`vectorized`; by default on GPUs when there are
    several seeds) or called seed by seed. Each seed's initialisation comes from the global RNG seeded with it."""
    nets = []
    for seed in seeds:
        make_deterministic(seed, device)
        nets.append([net.to(device) for net in variant.build(image_shape, train_x)])
    vectorized = (device.type != "cpu" and len(seeds) > 1) if vectorized is None else vectorized
    return SeedStack([g for g, _ in nets], vectorized), SeedStack([d for _, d in nets], vectorized)


class Trainer:
    """Trains the seeds of one (model, dataset) run as one seed stack. Without `work_dir` and `outputs` it keeps
    no checkpoints or snapshots (as `bench` uses it). `graph_backend` replays the step from graphs on any device
    (graphs.EagerReplay, for tests); by default config `cuda_graphs` captures CUDA graphs on GPUs."""

    def __init__(self, config, model, dataset, seeds, work_dir=None, outputs=None, vectorized=None, graph_backend=None):
        self.config, self.model, self.dataset = config, model, dataset
        self.cfg = cfg = config["models"][model]
        self.variant = get_variant(model, cfg)
        self.device = resolve_device(config["device"])
        set_tf32(config["allow_tf32"])
        self.train_x, self.train_y, unit_x, image_shape = self._load_training_set()
        if len(seeds) > 1:
            check_stack_memory(self.variant, image_shape, len(seeds), self.device)
        self.gen, self.disc = build_nets(self.variant, image_shape, unit_x, seeds, self.device, vectorized)
        self.opt_g, self.opt_d = self.variant.make_optimizers(self.gen, self.disc)
        self.streams = SeedStreams(seeds, self.device)
        self.runs = [SeedRun(seed) for seed in seeds]
        self.work_dir, self.outputs = work_dir and Path(work_dir), outputs
        self.epoch = self.steps = self.g_updates = self.d_done = 0
        self.hyper, self.budget_done, self.means = {}, False, RunningMeans()
        self.simultaneous = cfg["update_order"] == "simultaneous"
        self.batch, self.n_batches = cfg["batch_size"], self.train_x.shape[0] // cfg["batch_size"]
        if self.n_batches == 0:
            raise GanStudyError(f"models.{model}.batch_size ({self.batch}) exceeds the {self.train_x.shape[0]} "
                                f"training images; lower batch_size or raise models.{model}.train_limit")
        self.run_hash = config_hash(run_config(config, model, dataset))
        self.label = (run_id(model, dataset, seeds[0]) if len(seeds) == 1
                      else f"{model}/{dataset}/seeds{','.join(map(str, seeds))}")
        self.trained_by, self.wall_before, self.t0 = [{"started": now(), **git_state()}], 0.0, time.time()
        self.graph_error = None  # why a wanted graph capture failed
        self.graphed = self._graphed_step(graphs_wanted(config, model) or graph_backend is not None, graph_backend)

    def _graphed_step(self, wanted, backend):
        if not wanted:
            return None
        if self.device.type != "cuda" and backend is None:
            print(f"[gan-study] cuda_graphs: the device is {self.device.type}, not a CUDA GPU; {self.label} trains "
                  "eagerly")
            return None
        return GraphedStep(self._eager_step, (self.gen, self.disc), (self.opt_g, self.opt_d), self.streams, backend)

    def _load_training_set(self):
        splits = load_splits(self.dataset, self.config["data_dir"], self.config["download"])
        n_train = splits.train_x.shape[0]
        limit = self.cfg["train_limit"] or n_train
        if limit > n_train:
            raise GanStudyError(f"models.{self.model}.train_limit ({limit}) exceeds the {n_train:,} training images "
                                f"of {self.dataset}; lower it, or set it to null to use them all")
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
        budget = self.cfg.get("generator_steps")
        self.budget_done = budget is not None and self.g_updates >= budget
        self.steps += 1
        return values

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

    def fit(self, until_epoch=None):
        """Train to the budget, or stop after epoch `until_epoch` (a checkpoint is written there if the schedule
        asks for one). Returns True when the run has ended: budget reached, or every seed diverged."""
        last = self.cfg["epochs"] if until_epoch is None else min(until_epoch, self.cfg["epochs"])
        self.progress = Progress(self.label, self.cfg["epochs"] * self.n_batches, self.steps)
        self.live = [LiveLog(self.work_dir / f"train_log.seed{run.seed}.csv", run.log) if self.work_dir else None
                     for run in self.runs]
        while self.running() and self.epoch < last:
            self.train_epoch()
            self.freeze_nonfinite_seeds()
            if not self.running() or self.budget_done:
                break  # a generator-step budget ends the run mid-epoch; the final weights are written as it stands
            self.epoch += 1
            self.save_snapshots()
            self.save_checkpoint()
        self.progress.close()
        return not self.running() or self.budget_done or self.epoch >= self.cfg["epochs"]

    def train_epoch(self):
        order = self.streams.draw(lambda g: torch.randperm(self.train_x.shape[0], generator=g, device=self.device))
        for b in range(self.n_batches):
            idx = order[..., b * self.batch : (b + 1) * self.batch]
            self.means.add(self.step(self.train_x[idx], self.train_y[idx] if self.variant.conditional else None))
            if self.steps % self.cfg["log_every"] == 0 or b == self.n_batches - 1 or self.budget_done:
                self.log_rows(self.epoch + (b + 1) / self.n_batches)
                if not self.running():
                    break
            if self.budget_done:
                break

    def log_rows(self, epoch):
        """Append each running seed's mean losses since the last row; a non-finite row marks the seed diverged."""
        rows = self.means.rows(len(self.runs))
        self.means.reset()
        for i, run in enumerate(self.runs):
            if not run.running:
                continue
            row = {"step": self.steps, "epoch": epoch, **rows[i], **self.hyper}
            if all(math.isfinite(v) for k, v in row.items() if v is not None and k not in self.hyper):
                run.log.append(row)
                if self.live[i] is not None:
                    self.live[i].append(row)
            else:
                self.diverge(i)
        if self.running():
            last = self.running()[0].log[-1]
            self.progress.update(self.steps, last["epoch"], last)

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

    def save_snapshots(self):
        if self.outputs is None or self.epoch not in snapshot_epochs(self.config, self.model):
            return
        states = self.seed_states(self.gen)
        for i, run in enumerate(self.runs):
            if run.running:
                checkpoint.save(self.outputs[i].snapshot(self.epoch), {
                    "model": self.model, "dataset": self.dataset, "seed": run.seed, "epoch": self.epoch,
                    "step": self.steps, "status": Status.SNAPSHOT.value, "run_config_hash": self.run_hash,
                    "generator": states[i]})

    @property
    def checkpoint_path(self):
        return self.work_dir / "checkpoint.pt"

    def save_checkpoint(self):
        if self.work_dir and (self.epoch % self.cfg["checkpoint_every"] == 0 or self.epoch == self.cfg["epochs"]):
            checkpoint.save(self.checkpoint_path, self.state_dict())

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
        self.streams.set_state(state["rng"])
        self.epoch, self.steps, self.g_updates, self.d_done = (state[k] for k in ("epoch", "step", "g_updates",
                                                                                  "d_done"))
        self.runs = [SeedRun(**run) for run in state["seed_runs"]]
        self.trained_by = state["trained_by"] + [{**self.trained_by[-1], "from_epoch": self.epoch}]
        self.wall_before = state["wall_time_s"]

    def resume(self):
        """Continue from the work dir's checkpoint if it is this run's; move any other one aside."""
        if not self.checkpoint_path.exists():
            return False
        state = checkpoint.load(self.checkpoint_path, expect={"model": self.model, "dataset": self.dataset})
        # Another config, an older layout, or not a training checkpoint at all (e.g. a snapshot copied here).
        if state.get("run_config_hash") != self.run_hash or state.get("state_version") != STATE_VERSION:
            stale = self.checkpoint_path.with_name(f"checkpoint.stale-{state.get('run_config_hash', 'unknown')}.pt")
            self.checkpoint_path.rename(stale)
            print(f"[gan-study] {self.checkpoint_path} was made with another config or code version; moved to "
                  f"{stale.name}, starting fresh")
            return False
        if state["seeds"] != self.seeds:
            raise GanStudyError(f"checkpoint {self.checkpoint_path} trains seeds {state['seeds']}, not {self.seeds}; "
                                "point to the right work dir or delete this checkpoint")
        self.load_state_dict(state)
        print(f"[gan-study] resuming {self.label} after epoch {self.epoch} (step {self.steps})")
        return True

    def write_outputs(self):
        """Each seed's final weights (or the weights it diverged with), training log and summary."""
        gen_states, disc_states = self.seed_states(self.gen), self.seed_states(self.disc)
        wall = round(self.wall_before + time.time() - self.t0, 3)
        summaries = []
        for i, (run, out) in enumerate(zip(self.runs, self.outputs)):
            end = run.frozen or {**self.counters(), "generator": gen_states[i], "discriminator": disc_states[i]}
            # Decided from the training log alone: completed, or collapsed (gan_study.outcome); diverged as recorded.
            assessment = assess_collapse(pd.DataFrame(run.log), self.config["collapse"])
            status = run_status(Status.COMPLETED if run.running else run.status, assessment)
            write_csv(out.log_csv, pd.DataFrame(run.log))
            meta = {"model": self.model, "dataset": self.dataset, "seed": run.seed, "run_config_hash": self.run_hash}
            checkpoint.save(out.final, {**meta, "status": status, "epoch": end["epoch"], "step": end["step"],
                                        "generator": end["generator"], "discriminator": end["discriminator"]})
            summary = {**meta, "status": status, "collapse": assessment, **self._summary(run, out, end),
                       "wall_time_s": wall,
                       "provenance": provenance(self.config, seed=run.seed, device=self.device,
                                                started=self.trained_by[-1]["started"])}
            write_json(out.summary, summary)
            summaries.append(summary)
        return summaries

    def _summary(self, run, out, end):
        snapshots = sorted(snapshot_epochs(self.config, self.model))
        return {
            "epochs_completed": end["epoch"], "steps": end["step"], "generator_updates": end["g_updates"],
            "train_images": int(self.train_x.shape[0]), "diverged": run.diverged,
            "final_log_row": run.log[-1] if run.log else None,
            "snapshots": [{"epoch": e, "path": str(out.snapshot(e))} for e in snapshots if out.snapshot(e).is_file()],
            "batched_seeds": self.seeds if len(self.runs) > 1 else None,
            # Seed by seed (CPUs) a stacked seed is bitwise its lone run; vmapped, only up to float rounding.
            "bitwise_as_alone": not self.gen.vectorized,
            "allow_tf32": bool(self.config["allow_tf32"]),
            "cuda_graphs": self.graphed is not None and bool(self.graphed.replays),  # captured and replayed
            "cuda_graphs_error": self.graph_error,  # why a wanted capture failed (the run then trained eagerly)
            # wall_time_s: training time over all attempts; when batched: the whole job's, shared by its seeds.
            "trained_by": self.trained_by,  # git state of each attempt (a fresh start, then any resumes)
        }


def train(config, model, dataset, seed, work_dir, final_path, log_csv, summary_json, until_epoch=None):
    """Train one (model, dataset, seed) run, resuming from `work_dir/checkpoint.pt` if present."""
    summaries = train_seeds(config, model, dataset, [seed], work_dir, [RunOutputs(final_path, log_csv, summary_json)],
                            until_epoch=until_epoch)
    return None if summaries is None else summaries[0]


def train_seeds(config, model, dataset, seeds, work_dir, outputs, until_epoch=None, vectorized=None):
    """Train the seeds of one (model, dataset) in one process as one seed stack, vmapped (`vectorized`, by default
    on GPUs) or seed by seed (by default on CPUs); returns their summaries, or None when stopped at `until_epoch`.

    Each seed gets the outputs a single-seed run writes (final weights, log, summary), so everything
    downstream is the same whichever way the seeds were trained. A seed that diverges is recorded as such
    and frozen; the others go on. The run owns `work_dir` while it trains (a second trainer is refused), and
    first removes the temporary files its own killed attempts left behind.
    """
    with worklock.hold(work_dir):
        _remove_leftovers(work_dir, outputs)
        trainer = Trainer(config, model, dataset, seeds, work_dir, outputs, vectorized)
        if not trainer.resume():  # a fresh start: snapshots left by an earlier attempt belong to other weights
            for out in outputs:
                for old in out.snapshot_dir.glob("epoch*.pt"):
                    old.unlink()
        if not trainer.fit(until_epoch):
            return None
        return trainer.write_outputs()


def _remove_leftovers(work_dir, outputs):
    removed = remove_stale_temporaries(work_dir)
    for out in outputs:
        removed += remove_stale_temporaries(out.snapshot_dir)
        for path in (out.final, out.log_csv, out.summary):
            removed += remove_stale_temporaries(path.parent, path.name)
    if removed:
        print(f"[gan-study] removed {removed} temporary file(s) left by an interrupted earlier attempt")


RUN_FILES = [arg("--work-dir", required=True, help="the resumable checkpoint lives here")]


@command("train", RUN_ARGS + RUN_FILES + [
    arg("--final", required=True, help="final weights (.pt)"), arg("--log-csv", required=True),
    arg("--summary", required=True, help="train.json with status and provenance")])
def train_command(config, args):
    train(config, args.model, args.dataset, args.seed, args.work_dir, args.final, args.log_csv, args.summary)


@command("train-seeds", [
    arg("--model", required=True), arg("--dataset", required=True), arg("--seeds", required=True, type=int, nargs="+"),
    *RUN_FILES, arg("--final", required=True, nargs="+", help="one per seed, in --seeds order"),
    arg("--log-csv", required=True, nargs="+"), arg("--summary", required=True, nargs="+")])
def train_seeds_command(config, args):
    if not len(args.seeds) == len(args.final) == len(args.log_csv) == len(args.summary):
        raise GanStudyError("train-seeds needs one --final, --log-csv and --summary path per seed")
    outputs = [RunOutputs(*paths) for paths in zip(args.final, args.log_csv, args.summary)]
    train_seeds(config, args.model, args.dataset, args.seeds, args.work_dir, outputs)
