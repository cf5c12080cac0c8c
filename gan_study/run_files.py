"""What a training run keeps on disk: its resumable checkpoint, each seed's generator snapshots, its final outputs.

`RunFiles` is the one place that decides when and where a run writes: the checkpoint every `checkpoint_every` epochs
(atomically, in the run's work dir, which Snakemake does not own, so a failed job never loses it), the snapshots at
`snapshots.every_n_epochs`, and at the end each seed's final weights, training log and `train.json`. The layout of the
checkpoint itself is the Trainer's (`Trainer.state_dict`).
"""

import time
from pathlib import Path

import pandas as pd

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


class RunFiles:
    """The files of one run of one or more seeds: `work_dir` (checkpoint, live logs) and one `RunOutputs` per seed."""

    def __init__(self, work_dir, outputs):
        self.work_dir, self.outputs = Path(work_dir), list(outputs)
        self.checkpoint_path = self.work_dir / "checkpoint.pt"

    def remove_leftovers(self):
        """Temporary files that a killed earlier attempt left behind."""
        removed = remove_stale_temporaries(self.work_dir)
        for out in self.outputs:
            removed += remove_stale_temporaries(out.snapshot_dir)
            for path in (out.final, out.log_csv, out.summary):
                removed += remove_stale_temporaries(path.parent, path.name)
        if removed:
            print(f"[gan-study] removed {removed} temporary file(s) left by an interrupted earlier attempt")

    def live_logs(self, runs):
        """Per seed, the training log written row by row while it trains (read by a person, not by the DAG)."""
        return [LiveLog(self.work_dir / f"train_log.seed{run.seed}.csv", run.log) for run in runs]

    def end_of_epoch(self, trainer):
        """After a completed epoch: the generator snapshots and the checkpoint that epoch is due."""
        self.save_snapshots(trainer)
        cfg = trainer.cfg
        if trainer.epoch % cfg["checkpoint_every"] == 0 or trainer.epoch == cfg["epochs"]:
            checkpoint.save(self.checkpoint_path, trainer.state_dict())

    def save_snapshots(self, trainer):
        if trainer.epoch not in snapshot_epochs(trainer.config, trainer.model):
            return
        states = trainer.seed_states(trainer.gen)
        for i, run in enumerate(trainer.runs):
            if run.running:
                checkpoint.save(self.outputs[i].snapshot(trainer.epoch), {
                    "model": trainer.model, "dataset": trainer.dataset, "seed": run.seed, "epoch": trainer.epoch,
                    "step": trainer.steps, "status": Status.SNAPSHOT.value, "run_config_hash": trainer.run_hash,
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
        gen_states, disc_states = trainer.seed_states(trainer.gen), trainer.seed_states(trainer.disc)
        wall = round(trainer.wall_before + time.time() - trainer.t0, 3)
        summaries = []
        for i, (run, out) in enumerate(zip(trainer.runs, self.outputs)):
            end = run.frozen or {**trainer.counters(), "generator": gen_states[i], "discriminator": disc_states[i]}
            # Decided from the training log alone: completed, or collapsed (gan_study.outcome); diverged as recorded.
            assessment = assess_collapse(pd.DataFrame(run.log), trainer.config["collapse"])
            status = run_status(Status.COMPLETED if run.running else run.status, assessment)
            write_csv(out.log_csv, pd.DataFrame(run.log))
            meta = {"model": trainer.model, "dataset": trainer.dataset, "seed": run.seed,
                    "run_config_hash": trainer.run_hash}
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
            "train_images": int(trainer.train_x.shape[0]), "diverged": run.diverged,
            "final_log_row": run.log[-1] if run.log else None,
            "snapshots": [{"epoch": e, "path": str(out.snapshot(e))} for e in snapshots if out.snapshot(e).is_file()],
            "batched_seeds": trainer.seeds if len(trainer.runs) > 1 else None,
            # Seed by seed (CPUs) a stacked seed is bitwise its lone run; vmapped, only up to float rounding.
            "bitwise_as_alone": not trainer.gen.vectorized,
            "allow_tf32": bool(trainer.config["allow_tf32"]),
            "cuda_graphs": trainer.graphed is not None and bool(trainer.graphed.replays),  # captured and replayed
            "cuda_graphs_error": trainer.graph_error,  # why a wanted capture failed (the run then trained eagerly)
            # wall_time_s: training time over all attempts; when batched: the whole job's, shared by its seeds.
            "trained_by": trainer.trained_by,  # git state of each attempt (a fresh start, then any resumes)
        }
