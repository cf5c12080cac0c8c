"""`python -m tools.remote_gpu <command>`: prepare bundles here, run the study there, read back what happened.

Runs from the repository root (the remote machine's copy of the working tree has gan_study/ beside tools/).
Any GanStudyError becomes one line on stderr and exit status 2.
"""

import argparse
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for gan_study on a bare machine

from gan_study.errors import GanStudyError  # noqa: E402

from . import core  # noqa: E402


def prepare_command(args):
    from gan_study.config import load_config
    from gan_study.data import resolve_data_dir
    from gan_study.fidelity import resolve_weights

    config = load_config()
    weights = None if args.without_fid_weights else resolve_weights(config["fid"]["weights_path"])
    if weights is None and not args.without_fid_weights:
        raise GanStudyError("prepare needs the Inception weights file: set $GAN_STUDY_INCEPTION_WEIGHTS, or "
                            "prepare --without-fid-weights for calls that run without them")
    codes = [(stage.code, stage.code_config) for stage in core.plan_stages(args.plan)
             if isinstance(stage, core.ReproduceStage) and stage.code]
    manifest = core.prepare(resolve_data_dir(config["data_dir"]), weights, args.out, wheels=not args.no_wheels,
                            codes=codes, datasets=args.datasets)
    calls = core.bundle_calls(args.out, manifest["limit"])
    groups = " ".join("[" + " ".join(call) + "]" for call in calls)
    print(f"{len(manifest['files'])} files in bundles of ≤ {manifest['limit'] / 2**20:.1f} MiB under {args.out}/ "
          f"(what a call leaves beside this checkout's working tree); {len(calls)} call{'s' * (len(calls) != 1)}, "
          f"each sending the folders in one pair of brackets, in this order: {groups}")
    _remind_to_set_aside()


def _remind_to_set_aside():
    from .aside import still_in_place

    waiting = still_in_place(".")
    if waiting:
        size = sum(Path(name).stat().st_size for name in waiting)
        print(f"before the first call: `python -m tools.remote_gpu set-aside` ({len(waiting)} committed weight files, "
              f"{size / 2**20:.1f} MiB, are still in the tree; the bundles are sized for the tree without them)")


def run_command(args):
    if args.plan and (args.targets or args.configfile):
        raise GanStudyError("run: --plan names its own profiles and overlays; drop the targets and --configfile")
    stages = (core.plan_stages(args.plan) if args.plan
              else [core.Stage("study", args.profile, list(args.configfile), list(args.targets))])
    if args.git:
        commit, _, dirty = args.git.partition("+")
        if not re.fullmatch(r"[0-9a-f]{7,40}", commit) or dirty not in ("", "dirty"):
            raise GanStudyError(f"run --git {args.git}: give a commit hash, '+dirty' after it if the tree was")
        os.environ.update(GAN_STUDY_GIT_COMMIT=commit, GAN_STUDY_GIT_DIRTY="1" if dirty else "0")
    if args.checks_only and not (args.bench or args.graph_check):
        raise GanStudyError("run --checks-only runs --bench and/or --graph-check; name at least one")
    core.remote_run(args.bundles, args.out, args.deadline_s, stages, args.bench and args.bench_steps,
                    args.graph_check, gpu_jobs=args.gpu_jobs, checks_only=args.checks_only,
                    fid_weights=not args.without_fid_weights)


def rule_times_command(args):
    from .rule_times import write_rule_times

    write_rule_times(args.log, args.out)


def restate_commit_command(args):
    from .restate import restate_commit

    for commit in (args.recorded, args.sent):
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise GanStudyError(f"restate-commit: {commit} is not a full 40-digit commit hash")
    changed = restate_commit(args.results_dir, args.recorded, args.sent, args.reason)
    print(f"{len(changed)} files of {args.results_dir} now name {args.sent[:10]}")


def set_aside_command(args):
    from .aside import set_aside

    moved = set_aside(".", args.to, int(args.min_mib * 2**20))
    print(f"{len(moved)} files set aside (links in their place); the tree that travels is now "
          f"{core.travelling_tree_bytes(as_set_aside=False) / 2**20:.1f} MiB; `python -m tools.remote_gpu put-back` "
          "afterwards")


def put_back_command(args):
    from .aside import put_back

    print(f"{len(put_back('.'))} files put back")


def unpack_command(args):
    names = core.unpack(args.parts, ".")
    print(f"{len(names)} files extracted from {args.parts} into the tree")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tools.remote_gpu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="here: cut data, weights and wheels into bundles, one folder per call")
    p.add_argument("--out", default=".dev", help="bundles go to OUT/d1 (data + manifest), OUT/w*, OUT/p* (wheels)")
    p.add_argument("--no-wheels", action="store_true", help="skip the wheels (they need PyPI)")
    p.add_argument("--plan", default="tools/remote_gpu/plan-paper.yaml",
                   help="the plan to be run: the source of every commit its stages retrain with goes into d1")
    p.add_argument("--without-fid-weights", action="store_true",
                   help="no Inception weights: for calls that run `run --without-fid-weights` only")
    p.add_argument("--datasets", nargs="+", choices=core.BUNDLED_DATASETS,
                   help="bundle only these datasets' files (default: all of them); a stage that needs another is "
                        "skipped and named")
    p.set_defaults(fn=prepare_command)
    p = sub.add_parser("run", help="there: restore the bundles, run the stages under a deadline, pack to --out")
    p.add_argument("--bundles", default=".dev")
    p.add_argument("--out", required=True, help="the folder whose files come back")
    p.add_argument("--deadline-s", type=float, default=540, help="stop cleanly after this many seconds")
    p.add_argument("--profile", default="workflows/profiles/paper")
    p.add_argument("--configfile", nargs="*", default=[], help="overlays after the study the profile names")
    p.add_argument("--git", metavar="COMMIT[+dirty]",
                   help="the commit the working tree was sent at, for the provenance records (the copy has no .git)")
    p.add_argument("--bench", action="store_true", help="run `bench` first")
    p.add_argument("--bench-steps", type=int, default=200, help="timed steps per path of `bench`")
    p.add_argument("--graph-check", action="store_true",
                   help="run `graph-check` (once per machine); the study trains from CUDA graphs only if it passed")
    p.add_argument("--plan", help="run the stages of this plan in order (e.g. tools/remote_gpu/plan-paper.yaml)")
    p.add_argument("--gpu-jobs", type=int, default=4,
                   help="GPU jobs at once (Snakemake's gpu resource; the profiles say 1): evaluation is mostly start-up")
    p.add_argument("--checks-only", action="store_true",
                   help="run only --bench/--graph-check (data and wheels sent; the weights may still be on their way)")
    p.add_argument("--without-fid-weights", action="store_true",
                   help="the Inception weights are not sent yet: run the stages that need no FID, name the others")
    p.add_argument("targets", nargs="*", help="Snakemake targets (default: the whole study but the report)")
    p.set_defaults(fn=run_command)
    p = sub.add_parser("unpack", help="here: join the parts one call sent back and extract them into the tree")
    p.add_argument("parts", help="the folder holding results.tar.gz or results.tar.gz.partNN")
    p.set_defaults(fn=unpack_command)
    p = sub.add_parser("set-aside", help="here: move committed weights out of the tree that travels (links stay)")
    p.add_argument("--to", help="a folder outside the checkout (default: beside it, <checkout>-aside)")
    p.add_argument("--min-mib", type=float, default=1.0, help="only files at least this large")
    p.set_defaults(fn=set_aside_command)
    p = sub.add_parser("put-back", help="here: put back what set-aside moved, checked against git")
    p.set_defaults(fn=put_back_command)
    p = sub.add_parser("rule-times", help="per-job wall times (rule, wildcards, seconds) from a Snakemake log")
    p.add_argument("--log", required=True, help="a Snakemake console log")
    p.add_argument("--out", required=True, help="CSV: one row per job, its rule, wildcards and seconds")
    p.set_defaults(fn=rule_times_command)
    p = sub.add_parser("restate-commit", help="correct the commit a results dir records when its machine misread it")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--recorded", required=True, help="the full commit the files name")
    p.add_argument("--sent", required=True, help="the full commit of the clean tree that really made them")
    p.add_argument("--reason", required=True, help="why, for provenance-corrections.json")
    p.set_defaults(fn=restate_commit_command)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except GanStudyError as err:
        print(f"remote-gpu: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
