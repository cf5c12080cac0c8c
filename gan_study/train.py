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
from tqdm import tqdm

from . import checkpoint
from .atomic import write_csv, write_json
from .config import run_id
from .data import load_splits
from .errors import GanStudyError
from .models import get_variant
from .optim import set_hyperparameters
from .provenance import config_hash, now, provenance
from .runtime import make_deterministic, resolve_device


def run_config(config, model, dataset):
    """The part of the config that determines one run's training: its hash keys resumption and results."""
    return {"model": model, "dataset": dataset, "model_config": config["models"][model]}


class Diverged(Exception):
    pass


def _grads_to(params, grads):
    for p, g in zip(params, grads):
        p.grad = g


def train_step(variant, cfg, gen, disc, opt_g, opt_d, x, y, rng, update_generator, simultaneous):
    """One minibatch (`y`: its labels, used by conditional models). Returns a dict of detached scalars."""
    device = x.device
    z = variant.sample_noise(x.shape[0], cfg, rng, device)
    fake = gen(z, y)
    d_real = disc(x, y, generator=rng)
    if simultaneous:
        d_fake = disc(fake, y, generator=rng)
        d_loss = variant.discriminator_loss(d_real, d_fake)
        g_loss = variant.generator_loss(d_fake)
        d_params, g_params = list(disc.parameters()), list(gen.parameters())
        _grads_to(d_params, torch.autograd.grad(d_loss, d_params, retain_graph=True))
        _grads_to(g_params, torch.autograd.grad(g_loss, g_params))
        opt_d.step()
        opt_g.step()
    else:
        d_fake = disc(fake.detach(), y, generator=rng)
        d_loss = variant.discriminator_loss(d_real, d_fake)
        penalty = variant.discriminator_penalty(cfg, disc, x, fake.detach(), y, rng)
        opt_d.zero_grad(set_to_none=True)
        (d_loss if penalty is None else d_loss + penalty).backward()
        opt_d.step()
        g_loss = None
        if update_generator:
            z = variant.sample_noise(x.shape[0], cfg, rng, device)
            g_loss = variant.generator_loss(disc(gen(z, y), y, generator=rng))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
    variant.after_discriminator_step(cfg, disc)
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

    def means(self):
        return {k: float(self.sums[k]) / n if n else None for k, n in self.counts.items()}


def _state(gen, disc, opt_g, opt_d, rng, meta, epoch, step, g_updates, log, status):
    return {
        **meta,
        "epoch": epoch,
        "step": step,
        "g_updates": g_updates,
        "generator": gen.state_dict(),
        "discriminator": disc.state_dict(),
        "opt_generator": opt_g.state_dict(),
        "opt_discriminator": opt_d.state_dict(),
        "rng": rng.get_state(),
        "cpu_rng": torch.get_rng_state(),
        "log": log,
        "status": status,
    }


def train(config, model, dataset, seed, work_dir, final_path, log_csv, summary_json, stop_after_epoch=None):
    """Train one (model, dataset, seed) run, resuming from `work_dir/checkpoint.pt` if present."""
    started = now()
    t0 = time.time()
    variant = get_variant(model)
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    rng = make_deterministic(seed, device)
    splits = load_splits(dataset, config["data_dir"], config["download"])
    limit = cfg["train_limit"] or splits.train_x.shape[0]
    # The whole training set lives on the device, in the generator's output range; minibatches are index gathers.
    train_x = variant.from_unit_range(splits.train_x[:limit]).to(device)
    train_y = splits.train_y[:limit].to(device)

    gen, disc = variant.build(cfg, splits.image_shape, splits.train_x[:limit])
    gen, disc = gen.to(device), disc.to(device)
    opt_g, opt_d = variant.make_optimizers(cfg, gen, disc)

    run_hash = config_hash(run_config(config, model, dataset))
    meta = {"model": model, "dataset": dataset, "seed": seed, "run_config_hash": run_hash}
    ckpt_path = Path(work_dir) / "checkpoint.pt"
    epoch, step, g_updates, log, status = 0, 0, 0, [], "running"
    if ckpt_path.exists():
        state = checkpoint.load(ckpt_path, expect={"model": model, "dataset": dataset, "seed": seed})
        if state["run_config_hash"] != run_hash:
            stale = ckpt_path.with_name(f"checkpoint.stale-{state['run_config_hash']}.pt")
            ckpt_path.rename(stale)
            print(f"[gan-study] {ckpt_path} was made with another config; moved to {stale.name}, starting fresh")
        else:
            gen.load_state_dict(state["generator"])
            disc.load_state_dict(state["discriminator"])
            opt_g.load_state_dict(state["opt_generator"])
            opt_d.load_state_dict(state["opt_discriminator"])
            rng.set_state(state["rng"])
            torch.set_rng_state(state["cpu_rng"])
            epoch, step, g_updates, log, status = (
                state["epoch"], state["step"], state["g_updates"], state["log"], state["status"]
            )
            print(f"[gan-study] resuming {run_id(model, dataset, seed)} after epoch {epoch} (step {step})")

    batch = cfg["batch_size"]
    n_batches = train_x.shape[0] // batch
    if n_batches == 0:
        raise GanStudyError(f"{model}: batch_size {batch} exceeds the {train_x.shape[0]} training images")
    simultaneous = cfg["update_order"] == "simultaneous"
    means = RunningMeans()
    diverged = None
    bar = tqdm(total=cfg["epochs"] * n_batches, initial=epoch * n_batches, mininterval=10,
               desc=run_id(model, dataset, seed), unit="step")
    budget_done = False
    while status == "running" and epoch < cfg["epochs"]:
        order = torch.randperm(train_x.shape[0], generator=rng, device=device)
        d_done = 0
        for b in range(n_batches):
            hyper = variant.schedule(cfg, step, epoch)
            set_hyperparameters(opt_g, hyper)
            set_hyperparameters(opt_d, hyper)
            d_done += 1
            update_g = simultaneous or d_done >= variant.d_steps(cfg, g_updates)
            idx = order[b * batch : (b + 1) * batch]
            y = train_y[idx] if variant.conditional else None
            values = train_step(variant, cfg, gen, disc, opt_g, opt_d, train_x[idx], y, rng, update_g, simultaneous)
            if update_g:
                g_updates += 1
                d_done = 0
            budget_done = cfg.get("generator_steps") is not None and g_updates >= cfg["generator_steps"]
            means.add(values)
            step += 1
            if step % cfg["log_every"] == 0 or b == n_batches - 1 or budget_done:
                row = {"step": step, "epoch": epoch + (b + 1) / n_batches, **means.means(), **hyper}
                means.reset()
                if not all(math.isfinite(v) for k, v in row.items() if v is not None and k not in hyper):
                    diverged = {"step": step, "last_finite": log[-1] if log else None}
                    break
                log.append(row)
            if budget_done:
                break
        bar.update(n_batches)
        if diverged is None and not all(torch.isfinite(p).all() for p in [*gen.parameters(), *disc.parameters()]):
            diverged = {"step": step, "last_finite": log[-1] if log else None}
        if diverged is not None:
            status = "diverged"
            break
        if budget_done:
            break  # the generator-step budget ends the run mid-epoch; the final weights are written below
        epoch += 1
        if epoch % cfg["checkpoint_every"] == 0 or epoch == cfg["epochs"]:
            checkpoint.save(ckpt_path, _state(gen, disc, opt_g, opt_d, rng, meta, epoch, step, g_updates, log, status))
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < cfg["epochs"]:
            bar.close()
            return None  # used by tests to simulate an interruption between epochs
    bar.close()
    if status == "running":
        status = "completed"

    write_csv(log_csv, pd.DataFrame(log))
    checkpoint.save(
        final_path,
        {**meta, "status": status, "epoch": epoch, "step": step,
         "generator": gen.state_dict(), "discriminator": disc.state_dict()},
    )
    summary = {
        **meta,
        "status": status,
        "epochs_completed": epoch,
        "steps": step,
        "generator_updates": g_updates,
        "train_images": int(train_x.shape[0]),
        "diverged": diverged,
        "final_log_row": log[-1] if log else None,
        "wall_time_s": round(time.time() - t0, 3),
        "provenance": provenance(config, seed=seed, device=device, started=started),
    }
    write_json(summary_json, summary)
    return summary
