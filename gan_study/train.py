"""The training loop shared by every GAN variant.

One loop, two update orders:
- `simultaneous` (the 2014 code): one forward pass per minibatch; the discriminator and generator
  gradients both come from it and both nets are updated together.
- `alternating` (Algorithm 1 of the paper): every minibatch updates the discriminator; after every
  k = d_steps of them the generator is updated once on fresh noise.
Schedules count minibatches (`step`) and completed epochs (`epoch`). A resumable checkpoint is
written atomically every `checkpoint_every` epochs into the run's work dir, which Snakemake does
not own, so a failed or killed job never loses it.
"""

import math
import time
from pathlib import Path

import pandas as pd
import torch

from . import checkpoint
from . import worklock
from .atomic import remove_stale_temporaries, write_csv, write_json
from .config import run_id, snapshot_epochs
from .data import load_splits
from .errors import GanStudyError
from .models import get_variant
from .optim import set_hyperparameters
from .progress import LiveLog, Progress
from .provenance import config_hash, git_state, now, provenance
from .runtime import make_deterministic, resolve_device, set_tf32
from .seeds import SeedStack, SeedStreams


def run_config(config, model, dataset):
    """The part of the config that determines one run's training: its hash keys resumption and results."""
    return {"model": model, "dataset": dataset, "model_config": config["models"][model]}


def _grads_to(params, grads):
    for p, g in zip(params, grads):
        p.grad = g


def train_step(variant, cfg, gen, disc, opt_g, opt_d, x, y, streams, update_generator, simultaneous):
    """One minibatch (`y`: its labels, used by conditional models). Returns a dict of detached losses and
    diagnostics, each of shape () for one seed or (seeds,) when `gen`/`disc` are SeedStacks.

    Every random draw goes through `streams`, in a fixed order (noise, generator masks, discriminator masks for
    the real batch, for the fake batch, penalty, then the generator update's noise and masks), so a seed's stream
    is consumed identically whether it trains alone or batched with others. Nets without dropout draw no masks.
    """
    device, batch = x.device, x.shape[-4]

    def noise():
        return streams.draw(lambda g: variant.sample_noise(batch, cfg, g, device))

    def masks():
        return streams.draw(lambda g: disc.dropout_masks(batch, g, device))

    def generated():
        z = noise()
        return gen(z, y, streams.draw(lambda g: gen.dropout_masks(batch, g, device)))

    fake = generated()
    d_real = disc(x, y, masks())
    if simultaneous:
        d_fake = disc(fake, y, masks())
        d_loss = variant.discriminator_loss(d_real, d_fake)
        g_loss = variant.generator_loss(d_fake)
        d_params, g_params = list(disc.parameters()), list(gen.parameters())
        # Summing per-seed losses gives every seed exactly its own gradient.
        _grads_to(d_params, torch.autograd.grad(d_loss.sum(), d_params, retain_graph=True))
        _grads_to(g_params, torch.autograd.grad(g_loss.sum(), g_params))
        opt_d.step()
        opt_g.step()
        variant.after_discriminator_step(cfg, disc)
    else:
        d_fake = disc(fake.detach(), y, masks())
        d_loss = variant.discriminator_loss(d_real, d_fake)
        penalty = variant.discriminator_penalty(cfg, disc, x, fake.detach(), y, streams)
        opt_d.zero_grad(set_to_none=True)
        (d_loss if penalty is None else d_loss + penalty).sum().backward()
        opt_d.step()
        variant.after_discriminator_step(cfg, disc)  # e.g. WGAN's clipping, before the generator sees the critic
        g_loss = None
        if update_generator:
            g_loss = variant.generator_loss(disc(generated(), y, masks()))
            opt_g.zero_grad(set_to_none=True)
            g_loss.sum().backward()
            opt_g.step()
    variant.after_step(cfg, disc)
    values = {"d_loss": d_loss.detach(), "g_loss": None if g_loss is None else g_loss.detach()}
    values.update({k: v.detach() for k, v in variant.diagnostics(d_real.detach(), d_fake.detach()).items()})
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
    """Where one seed's results go: final weights, training log, summary. Its generator snapshots (for FID per
    checkpoint) are kept beside the final weights, in `snapshots/`, outside Snakemake's outputs."""

    def __init__(self, final, log_csv, summary):
        self.final, self.log_csv, self.summary = Path(final), Path(log_csv), Path(summary)
        self.snapshot_dir = self.final.parent / "snapshots"


def snapshot_path(snapshot_dir, epoch):
    return Path(snapshot_dir) / f"epoch{epoch:04d}.pt"


def seed_states(net, batched):
    """State dicts, one per seed."""
    return [net.seed_state_dict(i) for i in range(net.size)] if batched else [net.state_dict()]


def seeds_finite(net, batched):
    if batched:
        return net.finite().tolist()
    return [all(bool(torch.isfinite(p).all()) for p in net.parameters())]


def build_nets(variant, cfg, image_shape, train_x, seeds, device, batched, vectorized=None):
    """(generator, discriminator) for `seeds`: plain modules for one unbatched seed, else SeedStacks, vmapped
    (`vectorized`; by default on GPUs) or called seed by seed (by default on CPUs). Each seed's initialisation
    comes from the global RNG seeded with it, as in a lone run."""
    nets = []
    for seed in seeds:
        make_deterministic(seed, device)
        nets.append([net.to(device) for net in variant.build(cfg, image_shape, train_x)])
    if not batched:
        return nets[0]
    vectorized = device.type != "cpu" if vectorized is None else vectorized
    return SeedStack([g for g, _ in nets], vectorized), SeedStack([d for _, d in nets], vectorized)


def train(config, model, dataset, seed, work_dir, final_path, log_csv, summary_json, stop_after_epoch=None):
    """Train one (model, dataset, seed) run with plain modules, resuming from `work_dir/checkpoint.pt` if present."""
    summaries = train_seeds(config, model, dataset, [seed], work_dir, [RunOutputs(final_path, log_csv, summary_json)],
                            batched=False, stop_after_epoch=stop_after_epoch)
    return None if summaries is None else summaries[0]


def train_seeds(config, model, dataset, seeds, work_dir, outputs, batched=True, stop_after_epoch=None, vectorized=None):
    """Train several seeds of one (model, dataset) in one process; `batched` makes them one SeedStack, vmapped
    (`vectorized`, by default on GPUs) or evaluated seed by seed (by default on CPUs).

    Each seed gets the outputs a single-seed run writes (final weights, log, summary), so everything
    downstream is the same whichever way the seeds were trained. A seed that diverges is recorded as such
    and frozen; the others go on. The run owns `work_dir` while it trains (a second trainer is refused), and
    first removes the temporary files its own killed attempts left behind.
    """
    with worklock.hold(work_dir):
        _remove_leftovers(work_dir, outputs)
        return _train_seeds(config, model, dataset, seeds, work_dir, outputs, batched, stop_after_epoch, vectorized)


def _remove_leftovers(work_dir, outputs):
    removed = remove_stale_temporaries(work_dir)
    for out in outputs:
        removed += remove_stale_temporaries(out.snapshot_dir)
        for path in (out.final, out.log_csv, out.summary):
            removed += remove_stale_temporaries(path.parent, path.name)
    if removed:
        print(f"[gan-study] removed {removed} temporary file(s) left by an interrupted earlier attempt")


def _train_seeds(config, model, dataset, seeds, work_dir, outputs, batched, stop_after_epoch, vectorized):
    started = now()
    t0 = time.time()
    variant = get_variant(model)
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    set_tf32(config["allow_tf32"])
    splits = load_splits(dataset, config["data_dir"], config["download"])
    limit = cfg["train_limit"] or splits.train_x.shape[0]
    if limit > splits.train_x.shape[0]:
        raise GanStudyError(f"models.{model}.train_limit ({limit}) exceeds the {splits.train_x.shape[0]:,} training images "
                            f"of {dataset}; lower it, or set it to null to use them all")
    # The whole training set lives on the device, in the generator's output range; minibatches are index gathers.
    train_x = variant.from_unit_range(splits.train_x[:limit]).to(device)
    train_y = splits.train_y[:limit].to(device)

    gen, disc = build_nets(variant, cfg, splits.image_shape, splits.train_x[:limit], seeds, device, batched, vectorized)
    opt_g, opt_d = variant.make_optimizers(cfg, gen, disc)
    streams = SeedStreams(seeds, device, batched)
    n_seeds = len(seeds)

    run_hash = config_hash(run_config(config, model, dataset))
    who = {"seeds": list(seeds)} if batched else {"seed": seeds[0]}
    meta = {"model": model, "dataset": dataset, **who, "run_config_hash": run_hash}
    label = run_id(model, dataset, seeds[0]) if not batched else f"{model}/{dataset}/seeds{','.join(map(str, seeds))}"
    ckpt_path = Path(work_dir) / "checkpoint.pt"
    epoch, step, g_updates, d_done = 0, 0, 0, 0
    # The code that trained the run and its training time, carried across resumes (a resumed run reports both).
    trained_by, wall_before = [{"started": started, **git_state()}], 0.0
    logs, status, diverged, frozen = [[] for _ in seeds], ["running"] * n_seeds, [None] * n_seeds, [None] * n_seeds
    if ckpt_path.exists():
        state = checkpoint.load(ckpt_path, expect={"model": model, "dataset": dataset, **who})
        # Another config, an older layout, or not a training checkpoint at all (e.g. a snapshot copied here).
        if state.get("run_config_hash") != run_hash or "d_done" not in state or "opt_generator" not in state:
            stale = ckpt_path.with_name(f"checkpoint.stale-{state.get('run_config_hash', 'unknown')}.pt")
            ckpt_path.rename(stale)
            print(f"[gan-study] {ckpt_path} was made with another config or code version; moved to {stale.name}, "
                  "starting fresh")
        else:
            gen.load_state_dict(state["generator"])
            disc.load_state_dict(state["discriminator"])
            opt_g.load_state_dict(state["opt_generator"])
            opt_d.load_state_dict(state["opt_discriminator"])
            streams.set_state(state["rng"])
            torch.set_rng_state(state["cpu_rng"])
            epoch, step, g_updates, d_done = state["epoch"], state["step"], state["g_updates"], state["d_done"]
            logs, status, diverged, frozen = state["logs"], state["status"], state["diverged"], state["frozen"]
            trained_by = state.get("trained_by", []) + [{"started": started, "from_epoch": epoch, **git_state()}]
            wall_before = state.get("wall_time_s", 0.0)
            print(f"[gan-study] resuming {label} after epoch {epoch} (step {step})")
    if epoch == 0:  # a fresh start: snapshots left by an earlier attempt belong to other weights
        for out in outputs:
            for old in out.snapshot_dir.glob("epoch*.pt"):
                old.unlink()

    batch = cfg["batch_size"]
    n_batches = train_x.shape[0] // batch
    if n_batches == 0:
        raise GanStudyError(f"models.{model}.batch_size ({batch}) exceeds the {train_x.shape[0]} training images; "
                            f"lower batch_size or raise models.{model}.train_limit")
    simultaneous = cfg["update_order"] == "simultaneous"
    snapshots_at = snapshot_epochs(config, model)
    means = RunningMeans()
    progress = Progress(label, cfg["epochs"] * n_batches, step)
    live = [LiveLog(Path(work_dir) / f"train_log.seed{seed}.csv", logs[i]) for i, seed in enumerate(seeds)]

    def running():
        return [i for i in range(n_seeds) if status[i] == "running"]

    def diverge(i):
        status[i] = "diverged"
        diverged[i] = {"step": step, "last_finite": logs[i][-1] if logs[i] else None}
        frozen[i] = {"epoch": epoch, "step": step, "g_updates": g_updates,
                     "generator": seed_states(gen, batched)[i], "discriminator": seed_states(disc, batched)[i]}

    budget_done = False
    while running() and epoch < cfg["epochs"]:
        order = streams.draw(lambda g: torch.randperm(train_x.shape[0], generator=g, device=device))
        for b in range(n_batches):
            hyper = variant.schedule(cfg, step, epoch)
            set_hyperparameters(opt_g, hyper)
            set_hyperparameters(opt_d, hyper)
            d_done += 1  # counts across epoch boundaries: k discriminator steps per generator step, always
            update_g = simultaneous or d_done >= variant.d_steps(cfg, g_updates)
            idx = order[..., b * batch : (b + 1) * batch]
            y = train_y[idx] if variant.conditional else None
            values = train_step(variant, cfg, gen, disc, opt_g, opt_d, train_x[idx], y, streams, update_g, simultaneous)
            if update_g:
                g_updates += 1
                d_done = 0
            budget_done = cfg.get("generator_steps") is not None and g_updates >= cfg["generator_steps"]
            means.add(values)
            step += 1
            if step % cfg["log_every"] == 0 or b == n_batches - 1 or budget_done:
                rows = means.rows(n_seeds)
                means.reset()
                for i in running():
                    row = {"step": step, "epoch": epoch + (b + 1) / n_batches, **rows[i], **hyper}
                    if all(math.isfinite(v) for k, v in row.items() if v is not None and k not in hyper):
                        logs[i].append(row)
                        live[i].append(row)
                    else:
                        diverge(i)
                if running():
                    progress.update(step, logs[running()[0]][-1]["epoch"], logs[running()[0]][-1])
                if not running():
                    break
            if budget_done:
                break
        for i, (g_ok, d_ok) in enumerate(zip(seeds_finite(gen, batched), seeds_finite(disc, batched))):
            if status[i] == "running" and not (g_ok and d_ok):
                diverge(i)
        if not running() or budget_done:
            break  # a generator-step budget ends the run mid-epoch; the final weights are written below
        epoch += 1
        if epoch in snapshots_at:
            states = seed_states(gen, batched)
            for i in running():
                checkpoint.save(snapshot_path(outputs[i].snapshot_dir, epoch),
                                {"model": model, "dataset": dataset, "seed": seeds[i], "epoch": epoch, "step": step,
                                 "status": "snapshot", "generator": states[i]})
        if epoch % cfg["checkpoint_every"] == 0 or epoch == cfg["epochs"]:
            checkpoint.save(ckpt_path, {
                **meta, "epoch": epoch, "step": step, "g_updates": g_updates, "d_done": d_done,
                "generator": gen.state_dict(), "discriminator": disc.state_dict(),
                "opt_generator": opt_g.state_dict(), "opt_discriminator": opt_d.state_dict(),
                "rng": streams.get_state(), "cpu_rng": torch.get_rng_state(),
                "logs": logs, "status": status, "diverged": diverged, "frozen": frozen,
                "trained_by": trained_by, "wall_time_s": wall_before + time.time() - t0,
            })
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < cfg["epochs"]:
            progress.close()
            return None  # used by tests to simulate an interruption between epochs
    progress.close()

    gen_states, disc_states = seed_states(gen, batched), seed_states(disc, batched)
    wall = round(wall_before + time.time() - t0, 3)
    summaries = []
    for i, (seed, out) in enumerate(zip(seeds, outputs)):
        end = frozen[i] or {"epoch": epoch, "step": step, "g_updates": g_updates,
                            "generator": gen_states[i], "discriminator": disc_states[i]}
        final_status = "completed" if status[i] == "running" else status[i]
        write_csv(out.log_csv, pd.DataFrame(logs[i]))
        seed_meta = {"model": model, "dataset": dataset, "seed": seed, "run_config_hash": run_hash}
        checkpoint.save(out.final, {**seed_meta, "status": final_status, "epoch": end["epoch"], "step": end["step"],
                                    "generator": end["generator"], "discriminator": end["discriminator"]})
        summary = {
            **seed_meta,
            "status": final_status,
            "epochs_completed": end["epoch"],
            "steps": end["step"],
            "generator_updates": end["g_updates"],
            "train_images": int(train_x.shape[0]),
            "diverged": diverged[i],
            "final_log_row": logs[i][-1] if logs[i] else None,
            "snapshots": [{"epoch": e, "path": str(snapshot_path(out.snapshot_dir, e))}
                          for e in sorted(snapshots_at) if snapshot_path(out.snapshot_dir, e).is_file()],
            "batched_seeds": list(seeds) if batched else None,
            "allow_tf32": bool(config["allow_tf32"]),
            "wall_time_s": wall,  # training time over all attempts; when batched: the whole job's, shared by its seeds
            "trained_by": trained_by,  # git state of each attempt (a fresh start, then any resumes)
            "provenance": provenance(config, seed=seed, device=device, started=started),
        }
        write_json(out.summary, summary)
        summaries.append(summary)
    return summaries
