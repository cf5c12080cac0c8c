"""The statuses a run, a checkpoint or a metrics record can have: one enum, compared and stored as plain strings.

Files store `.value` (checkpoints load with `weights_only=True`, which refuses enum objects); a `Status` compares
equal to its string, so code reading a file compares with the enum directly.
"""

from enum import StrEnum


class Status(StrEnum):
    RUNNING = "running"  # a seed still training (only inside a checkpoint)
    COMPLETED = "completed"  # trained to its budget; its samples and metrics are meaningful
    DIVERGED = "diverged"  # a non-finite loss or weight: frozen at that point, never scored
    SNAPSHOT = "snapshot"  # a generator kept at an epoch during training (scored for the curves)


# What a sampler may score: a generator trained to its budget, or a snapshot of one.
SCOREABLE = (Status.COMPLETED, Status.SNAPSHOT)
