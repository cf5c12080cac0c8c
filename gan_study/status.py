"""The statuses a run, a checkpoint or a metrics record can have: one enum, compared and stored as plain strings.

Files store `.value` (checkpoints load with `weights_only=True`, which refuses enum objects); a `Status` compares
equal to its string, so code reading a file compares with the enum directly.
"""

from enum import StrEnum


class Status(StrEnum):
    RUNNING = "running"  # a seed still training (only inside a checkpoint)
    COMPLETED = "completed"  # trained to its budget; its samples and metrics are meaningful
    COLLAPSED = "collapsed"  # trained to its budget, but its discriminator separated real from generated images
    # over the last part of training (gan_study.outcome): scored and reported per seed, kept out of the trained mean
    DIVERGED = "diverged"  # a non-finite loss or weight: frozen at that point, never scored
    SNAPSHOT = "snapshot"  # a generator kept at an epoch during training (scored for the curves)


# What a sampler may score: a generator trained to its budget (collapsed or not), or a snapshot of one.
SCOREABLE = (Status.COMPLETED, Status.COLLAPSED, Status.SNAPSHOT)
# The runs whose weights were trained to the budget and scored: every seed that did not diverge.
SCORED = (Status.COMPLETED, Status.COLLAPSED)
