"""Load, merge and validate the study configuration.

The same YAML files and the same JSON schema serve Snakemake (`validate` in the Snakefile) and the
package (`load_config`), so a command run by hand sees exactly the configuration a rule would.
Overlays are merged like Snakemake merges `--configfile`s: nested mappings recursively, everything
else replaced.
"""

import copy
import json
from pathlib import Path

import yaml

from .errors import GanStudyError
from .commands import arg, command

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "workflows" / "config" / "config.yaml"
STUDIES_DIR = Path("workflows") / "studies"  # a study's config: which runs, seeds and budgets (profiles: where)
SCHEMA = REPO_ROOT / "workflows" / "config" / "schema.yaml"


def deep_merge(base, overlay):
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last one, silently)."""


def _mapping_without_duplicates(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                "keep one", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _no_duplicate_json_keys(pairs):
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise GanStudyError(f"key {twice[0]!r} is given twice in one object; keep one")
    return dict(pairs)


def read_mapping(path):
    path = Path(path)
    if not path.is_file():
        raise GanStudyError(f"config file {path} does not exist")
    try:
        text = path.read_text()
        data = (json.loads(text, object_pairs_hook=_no_duplicate_json_keys) if path.suffix == ".json"
                else yaml.load(text, Loader=_StrictLoader))
    except json.JSONDecodeError as err:
        raise GanStudyError(f"config file {path}, line {err.lineno}, column {err.colno}: invalid JSON ({err.msg})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise GanStudyError(f"config file {path}{where}: invalid YAML ({problem}); fix that line") from None
    except GanStudyError as err:
        raise GanStudyError(f"config file {path}: {err}") from None
    if not isinstance(data, dict):
        raise GanStudyError(f"config file {path} must hold a mapping of keys to values")
    return data


def check_config_files(paths):
    """Read every config file Snakemake merged (it keeps the last of a key given twice) with the strict reader."""
    for path in paths:
        read_mapping(path)


def validate(config, source="config"):
    """Raise a GanStudyError naming the first offending key if `config` breaks the schema."""
    import jsonschema

    from .datasets import REGISTRY
    from .models import variant_names

    schema = yaml.safe_load(SCHEMA.read_text())
    # The names a run may use come from the registries, so a new variant or dataset needs no schema edit here.
    run = schema["properties"]["runs"]["items"]["properties"]
    run["model"], run["datasets"]["items"] = {"enum": variant_names()}, {"enum": list(REGISTRY)}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if errors:
        # Report the most specific error: a bad value inside a model's section also makes its valid keys
        # "unevaluated" at the section level, which would hide the real culprit.
        specific = [e for e in errors if e.validator != "unevaluatedProperties"] or errors
        err = max(specific, key=lambda e: len(e.absolute_path))
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise GanStudyError(
            f"invalid {source}: at '{where}': {err.message} "
            f"(allowed keys and values: workflows/config/schema.yaml)"
        )
    check_update_orders(config, source)
    return config


def check_update_orders(config, source="config"):
    """Refuse a model section whose `update_order` its variant does not support (e.g. WGAN-GP simultaneous:
    no penalty, no n_critic)."""
    from .models import variant_class

    for model, cfg in config["models"].items():
        supported = variant_class(model).update_orders
        if cfg["update_order"] not in supported:
            raise GanStudyError(
                f"invalid {source}: at 'models.{model}.update_order': {cfg['update_order']!r} is not supported by "
                f"{model}; use {' or '.join(supported)}"
            )


CONFIG_VERSION = 5  # 3: the conv models' `redundant_biases`; 4: cGAN's `sample_dropout`; 5: Figure 1's k and lr decay
CONV_MODELS = ("dcgan", "wgan", "wgan_gp")  # the models built on the DCGAN nets
# Keys added after the first studies were committed, with the value the code of that time behaved as. A key missing
# from an older study's config.json and not listed here gets today's default (e.g. the collapse rule, applied now).
OLDER_BEHAVIOUR = {
    ("batch_seeds",): False, ("allow_tf32",): False, ("cuda_graphs",): False,
    ("snapshots", "every_n_epochs"): None, ("parzen", "per_snapshot"): False, ("fid", "per_snapshot"): False,
    **{("models", model, "redundant_biases"): True for model in CONV_MODELS},
    ("models", "cgan", "sample_dropout"): False,  # the sampler of that time switched dropout off
    ("figure1", "d_steps_per_g_step"): 1, ("figure1", "lr_decay_d"): False,  # (d) alternated single steps at one lr
}


# Model keys added after studies were committed, at the value that reproduces those studies: a run config holding
# that value hashes as if the key were absent, so the committed runs keep their hashes (and resume, re-score and
# aggregate as theirs). Any other value enters the hash.
HASH_NEUTRAL = {"mlp_gan": {"noise": "uniform"},
                **{model: {"redundant_biases": True} for model in CONV_MODELS}}


# Model keys that only the sample stage reads: training is the same whatever their value, so no run hash holds them
# (a run's checkpoints are sampled either way) and only the jobs that sample depend on them.
SAMPLING_KEYS = ("sample_dropout",)


def hashed_model_config(model, cfg):
    """The model section `cfg` as run hashes see it (HASH_NEUTRAL keys at their neutral value and the sampling keys
    left out)."""
    neutral = HASH_NEUTRAL.get(model, {})
    return {key: value for key, value in cfg.items()
            if key not in SAMPLING_KEYS and (key not in neutral or neutral[key] != value)}


def sampling_config(cfg):
    """The sampling keys of the model section `cfg` (what the sample stage reads beyond the run's weights)."""
    return {key: cfg[key] for key in SAMPLING_KEYS if key in cfg}


def model_run_config(model, dataset, cfg):
    """The run config of (model, dataset) trained with model section `cfg`: what a run's hash is taken of."""
    return {"model": model, "dataset": dataset, "model_config": hashed_model_config(model, cfg)}


def migrate(config, defaults=None):
    """An older study's resolved config brought to `CONFIG_VERSION`: missing keys filled (the older behaviour where it
    is known, else today's default), sections of models the study never ran replaced by today's defaults, and every
    change recorded under `migrated`. A current config is returned unchanged."""
    version = config.get("config_version", 1)
    if version >= CONFIG_VERSION:
        return config
    defaults = read_mapping(DEFAULT_CONFIG) if defaults is None else defaults
    config, filled = copy.deepcopy(config), {}
    run_models = {entry["model"] for entry in config.get("runs", [])}
    for model, section in defaults["models"].items():
        if model not in run_models and config.get("models", {}).get(model) != section:
            config.setdefault("models", {})[model] = copy.deepcopy(section)
            filled[f"models.{model}"] = "today's defaults (not run by this study)"
    config["config_version"] = CONFIG_VERSION
    _fill(config, defaults, (), filled)
    config["migrated"] = {"from_version": version, "filled": filled}
    return config


def _fill(config, defaults, path, filled):
    for key, value in defaults.items():
        here = (*path, key)
        if key not in config:
            config[key] = copy.deepcopy(OLDER_BEHAVIOUR.get(here, value))
            filled[".".join(here)] = config[key]
        elif isinstance(value, dict) and isinstance(config[key], dict) and here != ("models",):
            _fill(config[key], value, here, filled)
        elif here == ("models",):
            for model in config[key]:
                if model in value and isinstance(config[key][model], dict):
                    _fill(config[key][model], value[model], (*here, model), filled)


def load_config(*overlays, base=DEFAULT_CONFIG):
    """The validated configuration: `base` with each overlay file merged on top in order.

    A `.json` overlay that is already a fully resolved config (as written for the Snakemake rules)
    may also be passed as `base` with no overlays; a study's config.json of an older version is migrated.
    """
    config = migrate(read_mapping(base))
    for path in overlays:
        config = deep_merge(config, read_mapping(path))
    return validate(config, source=f"config ({', '.join(str(p) for p in (base, *overlays))})")


def study_file(study=None, profile=None):
    """A study's config file: `study` as a path to a YAML file or a name under workflows/studies/, or the file the
    Snakemake `profile` names (its config.yaml's `configfile`)."""
    if profile is not None:
        named = read_mapping(Path(profile) / "config.yaml").get("configfile") if (
            Path(profile) / "config.yaml").is_file() else None
        if not named:
            raise GanStudyError(f"profile {profile} names no study (no configfile in its config.yaml); give --study "
                                f"with a name under {STUDIES_DIR}/")
        study = named if isinstance(named, str) else named[0]
    path = Path(study) if Path(study).suffix else STUDIES_DIR / f"{study}.yaml"
    if not path.is_file() and not path.is_absolute() and (REPO_ROOT / path).is_file():
        path = REPO_ROOT / path  # relative to the checkout, as Snakemake run from its root reads it
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (REPO_ROOT / STUDIES_DIR).glob("*.yaml")))
        raise GanStudyError(f"no study file {path}; name one of {STUDIES_DIR}/ ({known}) or give a YAML file")
    return path


def run_id(model, dataset, seed):
    return f"{model}/{dataset}/seed{seed}"


def run_dir(root, model, dataset, seed):
    """Where one run's files live under a study's results (or work) dir: root/runs/<model>/<dataset>/seed<seed>."""
    return Path(root) / "runs" / run_id(model, dataset, seed)


def grid(config):
    """(model, dataset, seed) for every run the config asks for, in a stable order (the Snakefile keeps those whose
    dataset is present: gan_study.dag.runs)."""
    return [
        (entry["model"], dataset, seed)
        for entry in config["runs"]
        for dataset in entry["datasets"]
        for seed in config["seeds"]
    ]


def snapshot_epochs(config, model):
    """Epochs after which training keeps a generator snapshot: every snapshots.every_n_epochs, before the last
    epoch (the final weights are every curve's last point)."""
    every = config["snapshots"]["every_n_epochs"]
    return set(range(every, config["models"][model]["epochs"], every)) if every else set()


def sigma_grid(parzen_cfg):
    import numpy as np

    return np.logspace(parzen_cfg["sigma_log10_start"], parzen_cfg["sigma_log10_stop"], parzen_cfg["sigma_count"])


@command("check-config", [arg("--out", help="write the resolved config (JSON) here instead of printing it")])
def check_config_command(config, args):
    import json

    text = json.dumps(config, indent=2, sort_keys=True)
    if args.out:
        from .atomic import write_text

        write_text(args.out, text + "\n")
    else:
        print(text)
