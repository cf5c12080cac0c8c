"""Per-run metrics as registered units, torch-free.

A metric is one module in this package that calls `register(Metric(...))`: the file it writes per run
(`results/<study>/runs/<run>/<name>.json`), the command that writes it, the files that command reads, when the
study computes it (its config section's `enabled`, and `per_snapshot` for a per-checkpoint metric), and optionally
its aggregation (per-seed and per-cell CSVs, a LaTeX table, macros), the report's float around that table and its
methods paragraph. The Snakemake rules (one per metric, `evaluate.smk`), the `aggregate` rule and command, the
methods section, the report's metric tables, the finished-run check of `reaggregate` and the command list all read
this registry, so adding a metric is its module, its config section and that section's schema.

The Parzen log-likelihood is the study's primary metric (Table 1): its aggregation stays in `aggregate.py`.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricTable:
    """The report's float around a metric's LaTeX table (`tables/<file>`)."""

    file: str  # relative to the results dir, e.g. "tables/fid.tex"
    caption: str  # LaTeX
    label: str
    size: str = r"\small"  # font size and column spacing inside the float


@dataclass(frozen=True)
class Metric:
    name: str  # the rule's name and the per-run file's stem
    command: str  # `python -m gan_study <command>` writes the file
    module: str  # the module (in gan_study) that registers the command: imported only when it runs
    help: str  # the command's one line in --help
    section: str  # its config section; `enabled: false` there turns it off
    # The command's inputs besides the dataset: name -> path template ({results}, {work}: the study's dirs; {run}:
    # the run's place; {{dataset}}: the dataset wildcard). Each becomes the rule's input and the option --<name>.
    inputs: dict = field(default_factory=dict)
    # Inputs whose file times are not compared with the output's (Snakemake's `ancient`; the command still reads them).
    # A clone's checkout writes runs/<run>/train.json after the curves' files, at times a clock tick later, which made
    # a committed run's curve look out of date; a retraining still reruns the curve, through the metric it extends
    # (train → sample → parzen → parzen_curve).
    ancient_inputs: tuple = ()
    per_checkpoint: bool = False  # scored at every generator snapshot (runs that keep some, `per_snapshot: true`)
    resources: str = "evaluate"  # the rules' memory/time class (common.smk: MEM_MB, RUNTIME_MIN)
    threads: int = 2
    settings: tuple = ()  # config sections whose change re-runs its jobs (default: its own section)
    # "module:function" (config, files, runs, allow_mixed) -> (outputs, macro lines): its CSVs and tables, where
    # `files` maps every metric's name to its per-run files and `runs` is the Parzen runs table.
    summary: str | None = None
    # What `summary` writes, relative to the results dir: file -> the metric whose files it needs (it is written only
    # when that metric scored some run), or None (always written).
    outputs: dict = field(default_factory=dict)
    report_outputs: dict = field(default_factory=dict)  # output -> caption file in workflows/report/
    table: MetricTable | None = None  # its float in the report
    methods: str | None = None  # "module:function" (config) -> its methods paragraph
    order: int = 100  # place in the rules, the aggregation and the methods (a curve after the metric it extends)

    @property
    def file(self):
        return f"{self.name}.json"

    def enabled(self, config):
        section = config[self.section]
        return section.get("enabled", True) and (not self.per_checkpoint or bool(section.get("per_snapshot")))

    def rule_inputs(self, results, work, run):
        return {key: template.format(results=results, work=work, run=run) for key, template in self.inputs.items()}

    def options(self, wildcards, input):
        """The command's input options, `--samples PATH …` (a Snakemake params function)."""
        return " ".join(f"--{key.replace('_', '-')} {input[key]}" for key in self.inputs)


REGISTRY = {}


def register(metric):
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name!r} registered twice")
    if not set(metric.ancient_inputs) <= set(metric.inputs):
        raise ValueError(f"metric {metric.name!r}: ancient_inputs {metric.ancient_inputs} are not all among its inputs")
    REGISTRY[metric.name] = metric
    return metric


def _discover():
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")


def resolve(spec):
    """The function a "module:function" string names (module relative to gan_study)."""
    module, function = spec.split(":")
    return getattr(importlib.import_module(f"gan_study.{module}"), function)


def metrics():
    """Every registered metric, in order."""
    return sorted(REGISTRY.values(), key=lambda m: (m.order, m.name))


def enabled_metrics(config):
    return [m for m in metrics() if m.enabled(config)]


def per_run_files(config):
    """The per-run result files a finished run of `config` has: its training summary and every enabled metric's
    file (a per-checkpoint one only when the study keeps snapshots)."""
    snapshots = bool(config["snapshots"]["every_n_epochs"])
    return ["train.json"] + [m.file for m in enabled_metrics(config) if snapshots or not m.per_checkpoint]


_discover()
