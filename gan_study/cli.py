"""`python -m gan_study <command>`: the commands the Snakemake rules call (and a person can run by hand).

Every command takes `--config FILE...`: overlays merged onto workflows/config/config.yaml and
validated against the schema. Any GanStudyError becomes one line on stderr and exit status 2.
Each command is registered beside the code it runs (`commands.command`); this table only says which module
holds it and what it does, so that listing the commands imports none of them.
"""

import argparse
import importlib
import sys

from .commands import registered
from .errors import GanStudyError
from .metrics import metrics

COMMANDS = {  # command: (module that registers it, one-line help)
    "check-config": ("config", "validate the merged config and print it as JSON"),
    "train": ("train", "train one run (resumes from WORK_DIR/checkpoint.pt)"),
    "train-seeds": ("train", "train all given seeds of one (model, dataset) as one batched model"),
    "sample": ("sample", "draw the evaluation samples and a sample grid"),
}
# Then each registered metric's command (gan_study/metrics; the registry is torch-free), then the rest.
COMMANDS.update({m.command: (m.module, m.help) for m in metrics()})
COMMANDS.update({
    "parzen-baselines": ("baselines", "Theis et al. (2016) baselines: real data and k-means centres"),
    "parzen-tfd": ("tfd", "TFD Parzen protocol (σ per fold, s.e. over folds) for 48×48 samples"),
    "fid-reference": ("evaluate", "cache the test set's Inception features for FID/KID/PR"),
    "aggregate": ("aggregate", "per-seed and per-cell tables, LaTeX tables and macros"),
    "figures": ("figures", "figures for the report"),
    "figure1": ("toy1d", "the paper's Figure 1 from a real 1-D GAN run"),
    "methods": ("methods", "the methods section, generated from the resolved config"),
    "readme": ("readme", "regenerate the README's results table from a committed results dir"),
    "bench": ("bench", "benchmark: naive vs device-resident vs seed-batched training, and Parzen"),
    "bench-stack": ("bench_stack", "benchmark: training speed by models per stack, with a profiler trace"),
    "bench-parzen": ("bench", "benchmark: Parzen distances-once vs per-σ recomputation"),
    "graph-check": ("graph_check", "check: training steps replayed from CUDA graphs agree with eager ones (on a GPU)"),
    "publish-weights": ("publish", "copy a study's final and selected generators into results/<study>/weights"),
    "rescore": ("publish", "resample and re-score a study's published generators (no training)"),
    "reproduce": ("reproduce", "retrain committed runs of a study and compare them with their committed logs"),
    "reaggregate": ("reaggregate", "tables, figures, methods, report of a study's finished cells (trains nothing)"),
    "report": ("report", "build the PDF from a results dir with latexmk"),
})


def build_parser(command=None, probe=False):
    """The parser; the arguments of `command` (imported on demand) when given, of none otherwise. `probe`: only to
    find the command (its `--help` is left for the full parser)."""
    parser = argparse.ArgumentParser(prog="python -m gan_study", description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="config overlay (YAML/JSON) merged onto the default config; repeatable")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, add_help=not probe)
        if name == command:
            importlib.import_module(f"{__package__}.{module}")
            for names, options in registered(name)[0]:
                p.add_argument(*names, **options)
    return parser


def parse(argv=None):
    # First find the command (its own arguments are not known yet), then parse with them.
    known, _ = build_parser(probe=True).parse_known_args(argv)
    return build_parser(known.command).parse_args(argv)


def main(argv=None):
    args = parse(argv)
    try:
        from .config import load_config

        config = load_config(*args.config)
        registered(args.command)[1](config, args)
    except GanStudyError as err:
        print(f"gan-study: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: checkpoints and outputs are written atomically, so nothing is half-written
        print(f"gan-study: {args.command} interrupted; run it again to go on (training resumes from its last "
              "checkpoint)", file=sys.stderr)
        return 130
    except OSError as err:  # a read-only dir, a file where a dir should be, a full disk, …
        where = f": {err.filename}" if err.filename else ""
        print(f"gan-study: error: {err.strerror or err}{where}; check that path and its permissions", file=sys.stderr)
        return 2
    return 0
