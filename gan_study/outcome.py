"""A trained run's outcome, decided from its training log alone (never from test or validation images).

A run that trained to its budget is `collapsed` when its discriminator separates real from generated images almost
perfectly over the whole last part of training: every log row of the last `collapse.last_fraction` of its epochs
has D(G(z)) below `collapse.d_fake_below` and D(x) above `collapse.d_real_above` (config `collapse`). Such a
generator no longer receives a useful gradient (the 2014 objective saturates), so its samples describe the failure,
not the protocol: it is scored and reported per seed, but kept out of the trained seeds' mean.

Models whose log has no D(x), D(G(z)) (the WGAN critics output scores, not probabilities) are not assessed: their
status stays what training recorded.
"""

import math

import pandas as pd

from .atomic import read_csv
from .status import Status

DIAGNOSTICS = ("d_real", "d_fake")


def separated(log, rule):
    """Per log row: True where the discriminator separates real from generated images (the collapse condition)."""
    return (log["d_fake"] < rule["d_fake_below"]) & (log["d_real"] > rule["d_real_above"])


def assess_collapse(log, rule):
    """The collapse verdict of one run's training log (a DataFrame of log rows with `epoch`, `d_real`, `d_fake`).

    Returns {"assessed": False, "reason"} when the rule cannot apply, else {"assessed": True, "collapsed",
    "window_from_epoch", "max_d_fake", "min_d_real", "first_epoch", "from_epoch"}, where `first_epoch` is the epoch
    of the first row that meets the condition and `from_epoch` that of the first row from which every later row meets
    it (a collapse often flickers before it holds), and the rule itself.
    """
    if log is None or log.empty:
        return {"assessed": False, "reason": "no training-log rows", "rule": dict(rule)}
    missing = [c for c in DIAGNOSTICS if c not in log.columns or log[c].isna().all()]
    if missing:
        return {"assessed": False, "reason": f"the log has no {', '.join(missing)} (not a probability discriminator)",
                "rule": dict(rule)}
    last_epoch = float(log["epoch"].max())
    window_from = last_epoch * (1 - rule["last_fraction"])
    window = log[log["epoch"] >= window_from]
    hits = separated(log, rule).tolist()
    start = len(hits)
    while start > 0 and hits[start - 1]:
        start -= 1
    collapsed = bool(separated(window, rule).all())
    return {
        "assessed": True, "collapsed": collapsed, "window_from_epoch": round(window_from, 4),
        "max_d_fake": float(window["d_fake"].max()), "min_d_real": float(window["d_real"].min()),
        "first_epoch": float(log["epoch"].iloc[hits.index(True)]) if any(hits) else None,
        "from_epoch": float(log["epoch"].iloc[start]) if start < len(hits) else None,
        "rule": dict(rule),
    }


def run_status(trained_status, assessment):
    """The status a run is reported with: training's own (`completed` or `diverged`), or `collapsed` when a completed
    run's log meets the collapse rule."""
    if trained_status in (Status.COMPLETED, Status.COLLAPSED) and assessment.get("assessed"):
        return (Status.COLLAPSED if assessment["collapsed"] else Status.COMPLETED).value
    return str(trained_status)


def describe_rule(rule):
    """The rule in words, for the methods section and the verdict."""
    share = rule["last_fraction"]
    return (f"every training-log row of the last {share:.0%} of its epochs has D(G(z)) < {rule['d_fake_below']:g} and "
            f"D(x) > {rule['d_real_above']:g}")


def collapse_epoch(assessment, key="from_epoch"):
    """When a collapsed run's discriminator first separated the samples (`first_epoch`) or did so for good
    (`from_epoch`), as a whole epoch (the one the log row falls in, counted from 1); None if it did not collapse."""
    if not assessment.get("collapsed") or assessment.get(key) is None:
        return None
    return max(1, int(math.ceil(assessment[key])))


def read_log(path):
    """A training log CSV as a DataFrame (empty when the run diverged before its first row)."""
    try:
        return read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def wilson_interval(failures, runs, z=1.959964):
    """The Wilson score interval (95% by default) of a failure rate of `failures` in `runs` seeds: well behaved at 0
    and at all, where the normal approximation gives an interval of width zero."""
    if runs == 0:
        return math.nan, math.nan
    p, n = failures / runs, runs
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def outcome_counts(cell):
    """How a cell's runs (a frame with the reported `status` of each) ended: runs, trained, collapsed, diverged."""
    return {"runs": len(cell), "trained": int((cell["status"] == Status.COMPLETED).sum()),
            "collapsed": int((cell["status"] == Status.COLLAPSED).sum()),
            "diverged": int((cell["status"] == Status.DIVERGED).sum())}


def failure_rate(cell_counts):
    """{failure_rate, failure_low, failure_high}: the share of a cell's seeds that failed (collapsed or diverged) and
    its 95% Wilson interval."""
    failed, runs = cell_counts["runs"] - cell_counts["trained"], cell_counts["runs"]
    low, high = wilson_interval(failed, runs)
    return {"failure_rate": failed / runs if runs else math.nan, "failure_low": low, "failure_high": high}

