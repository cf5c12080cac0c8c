"""What a long training run shows while it runs: progress with the current losses every few seconds, and its
training-log rows appended to a file in the run's work dir as they are made (the final CSV is written at the end).

On a terminal the progress is a tqdm bar; in a log file (Snakemake redirects every job's output there) it is one
plain line every `every_s` seconds, which `tail -f` can follow.
"""

import csv
import sys
import time
from pathlib import Path

from tqdm import tqdm


def _fmt(row):
    return " ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("step", "epoch") and v is not None)


class Progress:
    def __init__(self, label, total_steps, done_steps, every_s=10.0, stream=None):
        self.label, self.total, self.every_s = label, total_steps, every_s
        self.stream = stream or sys.stderr
        self.bar = (tqdm(total=total_steps, initial=done_steps, desc=label, unit="step", mininterval=2,
                         file=self.stream) if self.stream.isatty() else None)
        self.t0, self.first_step, self.last_print = time.time(), done_steps, 0.0

    def update(self, step, epoch, row):
        """Called after every training-log row: `row` holds the current losses (of the first running seed)."""
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(_fmt(row), refresh=False)
            return
        now = time.time()
        if now - self.last_print < self.every_s and step < self.total:
            return
        self.last_print = now
        rate = (step - self.first_step) / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        print(f"[gan-study] {self.label}: epoch {epoch:.2f}, step {step:,}/{self.total:,}, {rate:.1f} step/s, "
              f"ETA {eta / 60:.0f} min | {_fmt(row)}", file=sys.stdout, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class LiveLog:
    """A seed's training-log rows, appended to `path` as they are made. A resumed run first rewrites the file from
    the checkpoint's rows, so rows logged after the last checkpoint by a killed attempt do not appear twice."""

    def __init__(self, path, rows):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fields = list(rows[0]) if rows else None
        with open(self.path, "w", newline="") as handle:
            if rows:
                writer = csv.DictWriter(handle, self.fields)
                writer.writeheader()
                writer.writerows(rows)

    def append(self, row):
        with open(self.path, "a", newline="") as handle:
            if self.fields is None:
                self.fields = list(row)
                csv.DictWriter(handle, self.fields).writeheader()
            csv.DictWriter(handle, self.fields, extrasaction="ignore").writerow(row)
