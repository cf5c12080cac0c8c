"""What a training run keeps on disk: its resumable checkpoint, each seed's generator snapshots, its final outputs.

`RunFiles` is the one place that decides when and where a run writes: the checkpoint every `checkpoint_every` epochs
(atomically, in the run's work dir, which Snakemake does not own, so a failed job never loses it; copied to the host
at the epoch's end and written by a thread while the next epoch trains: `BackgroundCheckpoint`), the snapshots at
`snapshots.every_n_epochs`, and at the end each seed's final weights, training log and `train.json`. The layout of the
checkpoint itself is the Trainer's (`Trainer.state_dict`).
"""

import threading
import time
from pathlib import Path

import pandas as pd
import torch

from . import checkpoint
from .atomic import remove_stale_temporaries, write_csv, write_json
from .config import snapshot_epochs
from .errors import GanStudyError
from .outcome import assess_collapse, run_status
from .progress import LiveLog
from .provenance import provenance
from .status import Status


class RunOutputs:
    """Where one seed's results go: final weights, training log, summary. Its generator snapshots (for the
    per-checkpoint curves) are kept beside the final weights, in `snapshots/`, outside Snakemake's outputs."""

    def __init__(self, final, log_csv, summary):
        self.final, self.log_csv, self.summary = Path(final), Path(log_csv), Path(summary)
        self.snapshot_dir = self.final.parent / "snapshots"

    def snapshot(self, epoch):
        return self.snapshot_dir / f"epoch{epoch:04d}.pt"


def host_copy(value):
    """`value` (dicts, lists, tensors, numbers) with every tensor copied to the host: what training goes on to change
    in place (weights, optimiser state) is frozen as it is now."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: host_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(host_copy(item) for item in value)
    return value


class BackgroundCheckpoint:
    """Writes one checkpoint at a time in a thread. `save` copies the state to the host (the only part training waits
    for), then the write (serialising ~150 MB for 5 seeds of the MLP GAN, atomically renamed) overlaps the next epoch.
    A save waits for the previous write; `wait` (before a run's outputs, on any exit) finishes the last one and
    raises what a write raised. A run killed mid-write keeps its previous checkpoint: it loses at most the epochs
    since that one."""

    def __init__(self):
        self.thread, self.error = None, None

    def save(self, path, state):
        self.wait()
        host = host_copy(state)
        self.thread = threading.Thread(target=self._write, args=(path, host), name=f"checkpoint {path}")
        self.thread.start()

    def _write(self, path, state):
        try:
            checkpoint.save(path, state)
        except BaseException as error:  # raised in the training thread by the next save or wait
            self.error = error

    def wait(self):
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class RunFiles:
    """The files of one run of one or more seeds: `work_dir` (checkpoint, live logs) and one `RunOutputs` per seed."""

    def __init__(self, work_dir, outputs):
        self.work_dir, self.outputs = Path(work_dir), list(outputs)
        self.checkpoint_path = self.work_dir / "checkpoint.pt"
        self.checkpoint_writer = BackgroundCheckpoint()

    def remove_leftovers(self):
        """Temporary files that a killed earlier attempt left behind."""
        removed = remove_stale_temporaries(self.work_dir)
        for out in self.outputs:
            removed += remove_stale_temporaries(out.snapshot_dir)
            for path in (out.final, out.log_csv, out.summary):
                removed += remove_stale_temporaries(path.parent, path.name)
        if removed:
            print(f"[gan-study] removed {removed} temporary file(s) left by an interrupted earlier attempt")

    def live_logs(self, trainer):
        """Per seed, the training log written row by row while it trains (read by a person, not by the DAG); in a
        stack of several cells the name says the seed's dataset too."""
        cells = trainer.offsets is not None
        return [LiveLog(self.work_dir / f"train_log.{f'{name}.' if cells else ''}seed{run.seed}.csv", run.log)
                for name, run in zip(trainer.datasets, trainer.runs)]

    def end_of_epoch(self, trainer):
        """After a completed epoch: the generator snapshots and the checkpoint that epoch is due."""
        self.save_snapshots(trainer)
        cfg = trainer.cfg
        if trainer.epoch % cfg["checkpoint_every"] == 0 or trainer.epoch == cfg["epochs"]:
            self.checkpoint_writer.save(self.checkpoint_path, trainer.state_dict())

    def save_snapshots(self, trainer):
        if trainer.epoch not in snapshot_epochs(trainer.config, trainer.model):
            return
        states = trainer.seed_states(trainer.gen)
        for i, run in enumerate(trainer.runs):
            if run.running:
                checkpoint.save(self.outputs[i].snapshot(trainer.epoch), {
                    "model": trainer.model, "dataset": trainer.datasets[i], "seed": run.seed, "epoch": trainer.epoch,
                    "step": trainer.steps, "status": Status.SNAPSHOT.value, "run_config_hash": trainer.run_hashes[i],
                    "generator": states[i]})

    def resume(self, trainer):
        """Continue from the work dir's checkpoint if it is this run's (True); move any other one aside. On a fresh
        start the snapshots an earlier attempt left belong to other weights and are removed."""
        state = self._checkpoint_of(trainer)
        if state is None:
            for out in self.outputs:
                for old in out.snapshot_dir.glob("epoch*.pt"):
                    old.unlink()
            return False
        trainer.load_state_dict(state)
        print(f"[gan-study] resuming {trainer.label} after epoch {trainer.epoch} (step {trainer.steps})")
        return True

    def _checkpoint_of(self, trainer):
        if not self.checkpoint_path.exists():
            return None
        state = checkpoint.load(self.checkpoint_path, expect={"model": trainer.model, "dataset": trainer.dataset})
        # Another config, an older layout, or not a training checkpoint at all (e.g. a snapshot copied here).
        if state.get("run_config_hash") != trainer.run_hash or state.get("state_version") != trainer.STATE_VERSION:
            stale = self.checkpoint_path.with_name(f"checkpoint.stale-{state.get('run_config_hash', 'unknown')}.pt")
            self.checkpoint_path.rename(stale)
            print(f"[gan-study] {self.checkpoint_path} was made with another config or code version; moved to "
                  f"{stale.name}, starting fresh")
            return None
        if state["seeds"] != trainer.seeds:
            raise GanStudyError(f"checkpoint {self.checkpoint_path} trains seeds {state['seeds']}, not "
                                f"{trainer.seeds}; point to the right work dir or delete this checkpoint")
        return state

    def write_outputs(self, trainer):
        """Each seed's final weights (or the weights it diverged with), training log and summary."""
        self.checkpoint_writer.wait()
        gen_states, disc_states = trainer.seed_states(trainer.gen), trainer.seed_states(trainer.disc)
        wall = round(trainer.wall_before + time.time() - trainer.t0, 3)
        summaries = []
        for i, (run, out) in enumerate(zip(trainer.runs, self.outputs)):
            end = run.frozen or {**trainer.counters(), "generator": gen_states[i], "discriminator": disc_states[i]}
            # Decided from the training log alone: completed, or collapsed (gan_study.outcome); diverged as recorded.
            assessment = assess_collapse(pd.DataFrame(run.log), trainer.config["collapse"])
            status = run_status(Status.COMPLETED if run.running else run.status, assessment)
            write_csv(out.log_csv, pd.DataFrame(run.log))
            meta = {"model": trainer.model, "dataset": trainer.datasets[i], "seed": run.seed,
                    "run_config_hash": trainer.run_hashes[i]}
            checkpoint.save(out.final, {**meta, "status": status, "epoch": end["epoch"], "step": end["step"],
                                        "generator": end["generator"], "discriminator": end["discriminator"]})
            summary = {**meta, "status": status, "collapse": assessment, **self._summary(trainer, run, out, end),
                       "wall_time_s": wall,
                       "provenance": provenance(trainer.config, seed=run.seed, device=trainer.device,
                                                started=trainer.trained_by[-1]["started"])}
            write_json(out.summary, summary)
            summaries.append(summary)
        return summaries

    @staticmethod
    def _summary(trainer, run, out, end):
        snapshots = sorted(snapshot_epochs(trainer.config, trainer.model))
        return {
            "epochs_completed": end["epoch"], "steps": end["step"], "generator_updates": end["g_updates"],
            "train_images": trainer.n_images, "diverged": run.diverged,
            "final_log_row": run.log[-1] if run.log else None,
            "snapshots": [{"epoch": e, "path": str(out.snapshot(e))} for e in snapshots if out.snapshot(e).is_file()],
            "batched_seeds": trainer.seeds if len(trainer.runs) > 1 else None,
            "stacked_datasets": trainer.datasets if trainer.offsets is not None else None,  # a stack of several cells
            # Seed by seed (CPUs) a stacked seed is bitwise its lone run; vmapped, only up to float rounding.
            "bitwise_as_alone": not trainer.gen.vectorized and trainer.compiled is None,
            "torch_compile": trainer.compiled or False,  # the nets' forward passes compiled (with this backend)
            "allow_tf32": bool(trainer.config["allow_tf32"]),
            "cuda_graphs": trainer.graphed is not None and bool(trainer.graphed.replays),  # captured and replayed
            "cuda_graphs_error": trainer.graph_error,  # why a wanted capture failed (the run then trained eagerly)
            # wall_time_s: training time over all attempts; when batched: the whole job's, shared by its seeds.
            "trained_by": trainer.trained_by,  # git state of each attempt (a fresh start, then any resumes)
        }
