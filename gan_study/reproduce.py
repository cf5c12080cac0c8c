"""Retraining committed runs of a study and checking them against their committed training logs.

A study commits each run's training log, not its weights (checkpoints are too large to commit). `reproduce` trains
the runs again from the study's own config.json, seeds trained together trained together again, into a work dir, and
compares each new log with the committed one row by row: identical logs (every loss and diagnostic at every logged
step) say the new weights are the committed run's, so `publish-weights --reproduced REPORT` may publish them under
the study's reported numbers. Where the logs part, the report says at which step and by how much: the retrained
weights are then another run, not the one the tables report. Bitwise agreement needs the machine kind, torch and the
arithmetic path of the original run (the report puts both devices side by side); with `--code` the training runs
with the source of the commit that trained the runs (`OtherCode`), the comparing and publishing with this one.
"""

import json
from pathlib import Path

from .atomic import read_csv, write_json
from .commands import arg, command
from .config import load_config, run_dir
from .errors import GanStudyError
from .provenance import provenance
from .runtime import resolve_device

REPORT = "reproduced-{model}-{dataset}.json"


def report_path(results_dir, model, dataset):
    """Where a study's reproduction report of one cell goes by default."""
    return Path(results_dir) / REPORT.format(model=model, dataset=dataset)


def _committed(results_dir, model, dataset, seed):
    path = run_dir(results_dir, model, dataset, seed) / "train.json"
    if not path.is_file():
        raise GanStudyError(f"{path} is missing: reproduce only runs the study committed")
    return json.loads(path.read_text())


def stacks(results_dir, model, dataset, seeds):
    """The requested seeds grouped as they were trained (a batched run's `batched_seeds`, else one by one);
    a request that splits a stack is refused (its seeds' arithmetic may depend on being trained together)."""
    groups = []
    for seed in seeds:
        record = _committed(results_dir, model, dataset, seed)
        if len(set(record.get("stacked_datasets") or [dataset])) > 1:
            raise GanStudyError(f"seed {seed} was trained in a stack of cells ({record['stacked_datasets']}); "
                                "reproduce retrains one cell's seeds, not stacks of cells")
        stack = record.get("batched_seeds") or [seed]
        if not set(stack) <= set(seeds):
            raise GanStudyError(f"seed {seed} was trained in a stack of seeds {stack}: reproduce them together "
                                f"(--seeds {' '.join(map(str, stack))})")
        if stack not in groups:
            groups.append(stack)
    return groups


def compare_logs(committed_csv, retrained_csv, prefix=False):
    """Row by row: identical, or the first step at which they part and the largest difference of any column.
    `prefix`: the retrained log may be shorter (a run still training): its rows against the committed first ones."""
    old, new = read_csv(committed_csv), read_csv(retrained_csv)
    if prefix:
        old = old.iloc[:len(new)]
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        return {"identical": False, "why": f"{len(old)} rows {list(old.columns)} committed, "
                                          f"{len(new)} rows {list(new.columns)} retrained"}
    numeric = old.select_dtypes("number").columns
    apart = (old[numeric] != new[numeric]) & ~(old[numeric].isna() & new[numeric].isna())
    if not apart.to_numpy().any():
        return {"identical": True, "rows": len(old)}
    first = int(apart.any(axis=1).to_numpy().argmax())
    return {"identical": False, "rows": len(old), "first_step_apart": int(old["step"].iloc[first]),
            "max_abs_difference": float((old[numeric] - new[numeric]).abs().max().max())}


def _same_run_configs(results_dir, config, model, dataset, seeds):
    """Refuse before training when today's code would train another run config than the committed one."""
    from .sample import run_hash

    expected = run_hash(model, dataset, config["models"][model])
    for seed in seeds:
        committed = _committed(results_dir, model, dataset, seed)["run_config_hash"]
        if committed != expected:
            raise GanStudyError(f"seed {seed} was trained under run config {committed}; the study's config.json now "
                                f"makes {expected}: this code cannot retrain it (check out {results_dir}'s commit)")


class ThisCode:
    """Training with this checkout's code and the study's config.json."""

    def __init__(self, config):
        self.config = config

    def train(self, model, dataset, stack, folder, outputs, until_epoch=None):
        """Train (resuming); returns each seed's log so far, or None when the run has ended."""
        from .train import train_seeds

        if train_seeds(self.config, model, dataset, stack, folder, outputs, until_epoch=until_epoch) is not None:
            return None
        return [folder / f"train_log.seed{seed}.csv" for seed in stack]  # the live logs


class OtherCode:
    """Training with the source of another commit (the one that trained the runs): its `gan_study` run in a
    subprocess from `source`, reading `config_file` (the config that code wrote, which it can validate). A first
    look trains a copy of the run cut to `until_epoch` epochs in a scratch folder (the schedule depends on the step,
    not on the budget, so its log is the whole run's first rows)."""

    def __init__(self, source, config_file, commit=None):
        self.source, self.config_file, self.commit = Path(source).resolve(), Path(config_file).resolve(), commit
        if not (self.source / "gan_study" / "__main__.py").is_file():
            raise GanStudyError(f"--code {source} holds no gan_study package: give a checkout of the training commit")

    def _train_command(self, stack):
        """`train-seeds` where that code has it; code older than seed stacks trains one seed a call (`train`)."""
        if any("train-seeds" in path.read_text() for path in (self.source / "gan_study").rglob("*.py")):
            return ["train-seeds", "--seeds", *map(str, stack)]
        if len(stack) > 1:
            raise GanStudyError(f"the code in {self.source} trains one seed at a time, so it cannot have trained the "
                                f"stack {stack}: give the commit that trained it")
        return ["train", "--seed", str(stack[0])]

    def train(self, model, dataset, stack, folder, outputs, until_epoch=None):
        import os
        import subprocess
        import sys

        from .train import RunOutputs

        config_file = self.config_file
        if until_epoch is not None:
            folder = folder.with_name(f"{folder.name}-first{until_epoch}")
            outputs = [RunOutputs(folder / f"seed{s}" / "final.pt", folder / f"seed{s}" / "train_log.csv",
                                  folder / f"seed{s}" / "train.json") for s in stack]
            cut = json.loads(config_file.read_text())
            cut["models"][model]["epochs"] = until_epoch
            write_json(config_file := folder / "config.json", cut)
        command, *which = self._train_command(stack)
        cmd = [sys.executable, "-m", "gan_study", "--config", str(config_file), command, "--model", model,
               "--dataset", dataset, *which, "--work-dir", str(Path(folder).resolve())]
        for flag, kind in (("--final", "final"), ("--log-csv", "log_csv"), ("--summary", "summary")):
            cmd += [flag, *(str(Path(getattr(out, kind)).resolve()) for out in outputs)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(self.source),
                                                                         os.environ.get("PYTHONPATH")])),
               **({"GAN_STUDY_GIT_COMMIT": self.commit, "GAN_STUDY_GIT_DIRTY": "0"} if self.commit else {})}
        done = subprocess.run(cmd, cwd=self.source, env=env)
        if done.returncode != 0:
            raise GanStudyError(f"training with the code in {self.source} ended with exit status {done.returncode} "
                                "(its output is above)")
        return [Path(out.log_csv) for out in outputs] if until_epoch is not None else None


def reproduce(results_dir, model, dataset, seeds, work_dir, report_file=None, first_epochs=1, code=None):
    """Retrain (resuming from work_dir's checkpoints), compare and write the report; returns it. A stack whose seeds
    have all parted from their committed logs after `first_epochs` is not trained further. `code`: an OtherCode to
    train with (default: this code)."""
    from .train import RunOutputs

    results_dir, work_dir = Path(results_dir), Path(work_dir)
    config = load_config(base=results_dir / "config.json")
    if code is None:
        _same_run_configs(results_dir, config, model, dataset, seeds)
    trainer = code or ThisCode(config)
    report = {"study": results_dir.name, "model": model, "dataset": dataset, "runs": [],
              "retrained_by": provenance(config, device=resolve_device(config["device"])),
              "committed_by": _committed_by(results_dir, model, dataset, seeds),
              "trained_with_code_of": code.commit if code else "this commit"}
    _say_devices(report["committed_by"], report["retrained_by"])
    for stack in stacks(results_dir, model, dataset, seeds):
        outs = [run_dir(work_dir, model, dataset, seed) for seed in stack]
        folder = run_dir(work_dir, model, dataset, stack[0]).parent / f"reproduce-seeds{'-'.join(map(str, stack))}"
        outputs = [RunOutputs(o / "final.pt", o / "train_log.csv", o / "train.json") for o in outs]
        # A first epoch against the committed logs: when every seed has parted already, a whole retraining would
        # only confirm it.
        logs = trainer.train(model, dataset, stack, folder, outputs, until_epoch=first_epochs)
        if logs is not None:
            early = [_early_verdict(results_dir, model, dataset, seed, log) for seed, log in zip(stack, logs)]
            if not any(run["identical"] for run in early):
                report["runs"] += early
                continue
            trainer.train(model, dataset, stack, folder, outputs)
        for seed, out in zip(stack, outs):
            report["runs"].append(_verdict(results_dir, model, dataset, seed, out))
    write_json(Path(report_file) if report_file else report_path(results_dir, model, dataset), report)
    return report


def _committed_by(results_dir, model, dataset, seeds):
    """The devices, torch versions and commits that trained the committed runs."""
    records = [_committed(results_dir, model, dataset, seed)["provenance"] for seed in seeds]
    return {key: sorted({pick(r) for r in records}) for key, pick in (
        ("devices", lambda r: r["device"]), ("torch", lambda r: r["packages"]["torch"]),
        ("git_commits", lambda r: r["git_commit"]))}


def _say_devices(committed_by, retrained_by):
    here = (retrained_by["device"], retrained_by["packages"]["torch"])
    if (committed_by["devices"], committed_by["torch"]) != ([here[0]], [here[1]]):
        print(f"[gan-study] trained on {', '.join(committed_by['devices'])} with torch "
              f"{', '.join(committed_by['torch'])}; retraining on {here[0]} with torch {here[1]}: float rounding may "
              "differ, and with it every number after it")


def _verdict(results_dir, model, dataset, seed, out):
    committed, retrained = _committed(results_dir, model, dataset, seed), json.loads((out / "train.json").read_text())
    if retrained["run_config_hash"] != committed["run_config_hash"]:
        raise GanStudyError(f"seed {seed} retrained under run config {retrained['run_config_hash']}, committed under "
                            f"{committed['run_config_hash']}: not the same run")
    verdict = compare_logs(run_dir(results_dir, model, dataset, seed) / "train_log.csv", out / "train_log.csv")
    return {"seed": seed, "run_config_hash": committed["run_config_hash"], **verdict,
            "committed": {k: committed["provenance"].get(k) for k in ("git_commit", "device", "packages")},
            "retrained": {k: retrained["provenance"].get(k) for k in ("git_commit", "device", "packages")}}


def _early_verdict(results_dir, model, dataset, seed, log):
    """A seed's log so far against the committed log's first rows."""
    verdict = compare_logs(run_dir(results_dir, model, dataset, seed) / "train_log.csv", log, prefix=True)
    return {"seed": seed, **verdict, "stopped_after_rows": verdict.get("rows")}


@command("reproduce", [arg("--results-dir", required=True, help="a committed study (results/<study>)"),
                       arg("--model", required=True), arg("--dataset", required=True),
                       arg("--seeds", required=True, type=int, nargs="+"),
                       arg("--work-dir", required=True, help="where the retrained runs and checkpoints go"),
                       arg("--out", help=f"the report (default: <results-dir>/{REPORT})"),
                       arg("--publish", action="store_true",
                           help="then publish the generators retrained identically (publish-weights --reproduced)"),
                       arg("--code", help="train with the source in this folder (a checkout of the commit that "
                                          "trained the runs) instead of this code"),
                       arg("--code-config", help="with --code: the config file that code reads (the study's "
                                                 "config.json as that commit wrote it)"),
                       arg("--code-commit", help="with --code: its commit, for the provenance (a copy without .git)")])
def reproduce_command(config, args):
    if bool(args.code) != bool(args.code_config):
        raise GanStudyError("reproduce: --code and --code-config go together (the other commit's source and the "
                            "config it reads)")
    code = OtherCode(args.code, args.code_config, args.code_commit) if args.code else None
    report = reproduce(args.results_dir, args.model, args.dataset, args.seeds, args.work_dir, args.out, code=code)
    for run in report["runs"]:
        said = ("its committed log, row for row" if run["identical"] else
                f"apart from its committed log from step {run.get('first_step_apart')}; not trained further"
                if "stopped_after_rows" in run else
                f"apart from its committed log from step {run.get('first_step_apart', '?')} "
                f"(largest difference {run.get('max_abs_difference', float('nan')):.3g}; {run.get('why', '')})")
        print(f"seed {run['seed']}: {said}")
    if args.publish:
        from .publish import publish_weights

        entries = publish_weights(args.results_dir, args.work_dir,
                                  args.out or report_path(args.results_dir, args.model, args.dataset))
        print(f"published {len(entries)} generator file(s) under {args.results_dir}/weights/")
