"""Per-run tables keyed by (model, dataset, seed), as a study's aggregation builds them: every run's record counted
once, a metric's rows checked against the study's Parzen runs, and each row given the status the study reports for its
run. Torch-free, so a metric's module (gan_study/metrics) builds its tables with them beside the registry."""

from .errors import GanStudyError
from .identity import RUN_KEYS, read_record


def _run_key(record):
    return tuple(record[key] for key in RUN_KEYS)


def unique_runs(records, what):
    """`records` keyed by (model, dataset, seed); the same run given twice is refused (it would count twice)."""
    keyed = {}
    for record in records:
        key = _run_key(record)
        if key in keyed:
            raise GanStudyError(f"{what} for {'/'.join(map(str, key))} given twice; pass each run's file once")
        keyed[key] = record
    return keyed


def read_runs(paths, what, runs=None):
    """The records of the per-run files `paths` (`what` names them in errors, e.g. "fid.json"), keyed by run, each run
    once; with `runs` (the study's Parzen table), each must be one of its runs, made under that run's config: a result
    of another run or config is refused, in one line naming the fix."""
    keyed = unique_runs((read_record(path) for path in paths), what)
    if runs is not None:
        hashes = _config_hashes(runs)
        for key, record in keyed.items():
            _check_same_run(key, record.get("run_config_hash"), hashes, what)
    return keyed


def in_order_of_appearance(values):
    """The distinct `values`, in the order they first appear: the commits (or devices) that trained a study's runs,
    several when it was trained in parts."""
    return list(dict.fromkeys(values))


def with_run_status(frame, runs):
    """`frame` (per-run or per-checkpoint rows) with each run's reported status from `runs`: a collapse is decided at
    aggregation, so the evaluators' records of older studies still say `completed`."""
    if frame is None:
        return None
    status = runs.set_index(list(RUN_KEYS))["status"]
    keys = list(zip(frame["model"], frame["dataset"], frame["seed"]))
    return frame.assign(status=[status.get(k, s) for k, s in zip(keys, frame["status"])])


def _config_hashes(runs):
    return runs.set_index(list(RUN_KEYS))["run_config_hash"]


def _check_same_run(key, run_config_hash, hashes, what):
    if key not in hashes.index:
        raise GanStudyError(f"{what} result for {'/'.join(map(str, key))}, which has no train.json and parzen.json "
                            "here; pass the files of one study's runs together")
    if run_config_hash != hashes[key]:
        raise GanStudyError(f"the {what} result of {'/'.join(map(str, key))} was made under run config "
                            f"{run_config_hash}, its Parzen result under {hashes[key]}; re-run its steps")
