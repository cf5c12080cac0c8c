"""graph-check: training steps replayed from CUDA graphs against eager ones, side by side, before a study trusts them.

Each model trains `steps` steps from the same seeds and minibatches three times: eagerly, eagerly again (where GPU
kernels do not repeat, a graphed run cannot be held to more) and from graphs (CUDA graphs on a GPU; replay emulated
through static outputs elsewhere, which checks the machinery but not a capture). Every step's losses are copied as
they come (a replayed graph returns the same static tensors every step) and compared key by key, then every weight and
buffer. The verdict decides which models a study may train from graphs (config `cuda_graphs`).
"""

from pathlib import Path

import torch

from .atomic import write_json
from .bench import _trainer  # the study's own Trainer, with no checkpoints or outputs
from .commands import arg, command
from .errors import GanStudyError
from .graphs import CudaGraphs, EagerReplay
from .provenance import device_name, git_state, now, package_versions
from .runtime import resolve_device


GRAPH_CHECK_TOLERANCE = {"rtol": 1e-3, "atol": 1e-5}
# Per seed, the first step whose losses or diagnostics differ by more than this between two runs: training is chaotic,
# so correct runs drift apart eventually; a graphed run that leaves its eager run within a few hundred steps is wrong.
STEP_APART = 1e-3
LAST_STEPS = 100  # per seed, each logged quantity's mean over the last steps (a collapse shows there: D(x)→1, D(G(z))→0)


def graph_check(config, models, n_seeds=5, steps=20, out_dir="results/bench", tag=None):
    """Train each model `steps` steps from the same seeds and minibatches eagerly and from CUDA graphs (off GPUs:
    replayed eagerly, which checks the machinery but not a capture); compare every step's losses and the final
    weights. Writes graph-check-<device type>[-<tag>].json; `passed` when every model captured and agreed within
    `GRAPH_CHECK_TOLERANCE`. Per seed it also reports the first step the runs differ by more than `STEP_APART`, and
    the last steps' means of both (for a long check: does a seed collapse eagerly as it did from graphs?)."""
    device = resolve_device(config["device"])
    backend = CudaGraphs() if device.type == "cuda" else EagerReplay()
    result = {"check": "training steps replayed from CUDA graphs against eager steps", "device": device_name(device),
              "backend": type(backend).__name__, "seeds_batched": n_seeds, "steps": steps,
              "tolerance": GRAPH_CHECK_TOLERANCE, "packages": package_versions(), "git": git_state(), "date": now(),
              "models": [_graph_check_model(config, model, list(range(n_seeds)), steps, backend) for model in models]}
    result["passed"] = all(m["passed"] for m in result["models"])
    for m in result["models"]:
        print(f"graph-check {m['model']}: {'agrees' if m['passed'] else 'FAILS'} (captured: {m['captured']}; "
              f"largest loss difference {m['max_abs_loss_difference']}, weights {m['max_abs_weight_difference']} "
              f"in {m['max_abs_weight_difference_in']})"
              + f"; eager run twice: loss {m['eager_repeat_max_abs_loss_difference']}, weights "
              f"{m['eager_repeat_max_abs_weight_difference']}" + (f" — {m['error']}" if m["error"] else ""))
    path = Path(out_dir) / f"graph-check-{device.type}{'' if tag is None else f'-{tag}'}.json"
    write_json(path, result)
    print(f"written to {path}")
    return result


def _step_losses(trainer, steps):
    """Every loss and diagnostic of every step, per key (a generator loss only on the steps that update it), each
    copied when returned: a replayed graph returns the same static tensors every step."""
    next_batch = trainer.steps_through_epochs()
    rows = []
    for done in range(steps):
        rows.append({k: v.detach().clone() for k, v in trainer.step(*next_batch(done)).items() if v is not None})
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return {k: torch.stack([row[k] for row in rows if k in row]).cpu() for k in keys}


def _tensors(stack):
    """Every weight and buffer of a seed stack, by name."""
    return {**stack.params, **stack.buffers}


def _graph_check_model(config, model, seeds, steps, backend):
    """Graphed against eager training, and eager against eager again: where eager training itself does not repeat
    (GPU kernels that are not deterministic), a graphed run cannot be held to more."""
    trainers = {"eager": _trainer(config, model, seeds, True), "eager_repeat": _trainer(config, model, seeds, True),
                "graphed": _trainer(config, model, seeds, True, backend)}
    losses = {name: _step_losses(trainer, steps) for name, trainer in trainers.items()}
    graphed, record = trainers["graphed"], {}
    for name, prefix in (("graphed", ""), ("eager_repeat", "eager_repeat_")):
        if losses[name].keys() != losses["eager"].keys():
            raise GanStudyError(f"graph-check {model}: {name} steps logged {sorted(losses[name])}, eager steps "
                                f"{sorted(losses['eager'])}")
        # Every weight and every buffer (batch-norm running statistics) of both nets.
        weights = {}
        for net in ("gen", "disc"):
            other = _tensors(getattr(trainers[name], net))
            weights.update({f"{net}.{key}": (a, other[key])
                            for key, a in _tensors(getattr(trainers["eager"], net)).items()})
        same = all(torch.allclose(losses[name][k], v, **GRAPH_CHECK_TOLERANCE) for k, v in losses["eager"].items())
        record[f"{prefix}agrees"] = same and all(torch.allclose(b, a, **GRAPH_CHECK_TOLERANCE)
                                                 for a, b in weights.values())
        record[f"{prefix}max_abs_loss_difference"] = max(float((losses[name][k] - v).abs().max())
                                                         for k, v in losses["eager"].items())
        # Which tensor differs most says why: a parameter no true gradient reaches moves by rounding noise alone.
        differences = {key: float((b - a).detach().abs().max()) for key, (a, b) in weights.items()}
        worst = max(differences, key=differences.get)
        record[f"{prefix}max_abs_weight_difference"] = differences[worst]
        record[f"{prefix}max_abs_weight_difference_in"] = worst
    return {"model": model, "captured": graphed.graphed is not None, "error": graphed.graph_error,
            "passed": graphed.graphed is not None and record.pop("agrees"), **record,
            "seeds": _per_seed(seeds, losses, steps)}


def _per_seed(seeds, losses, steps):
    """Per seed: the first step at which the graphed run (and the eager repeat) differs from the eager run by more
    than STEP_APART in any quantity logged every step (None: never), and each such quantity's mean over the last
    LAST_STEPS steps in each run."""
    every_step = [k for k, v in losses["eager"].items() if v.shape[0] == steps]

    def first_apart(name, i):
        apart = torch.zeros(steps, dtype=torch.bool)
        for k in every_step:
            apart |= (losses[name][k][:, i] - losses["eager"][k][:, i]).abs() > STEP_APART
        return int(apart.nonzero()[0]) if apart.any() else None

    def last_means(name, i):
        return {k: round(float(losses[name][k][-LAST_STEPS:, i].double().mean()), 6) for k in every_step}

    return [{"seed": seed, "first_step_apart": first_apart("graphed", i),
             "eager_repeat_first_step_apart": first_apart("eager_repeat", i),
             "last_steps_mean": {"steps": min(LAST_STEPS, steps), "eager": last_means("eager", i),
                                 "graphed": last_means("graphed", i)}} for i, seed in enumerate(seeds)]


@command("graph-check", [
    arg("--models", nargs="+", help="default: every model of the config's runs"),
    arg("--seeds", type=int, default=5, help="seeds trained together (vmapped), as train_seeds does"),
    arg("--steps", type=int, default=20), arg("--out-dir", default="results/bench"),
    arg("--tag", help="written as graph-check-<device>-TAG.json, beside the verdict a study reads"),
    arg("--report-only", action="store_true",
        help="a long comparison (e.g. 10 epochs, where correct runs drift apart): report, exit 0 whatever it finds")])
def graph_check_command(config, args):
    models = args.models or list(dict.fromkeys(run["model"] for run in config["runs"]))
    result = graph_check(config, models, args.seeds, args.steps, args.out_dir, getattr(args, "tag", None))
    if not result["passed"] and not getattr(args, "report_only", False):
        failed = ", ".join(m["model"] for m in result["models"] if not m["passed"])
        raise GanStudyError(f"graph-check: {failed} replayed from CUDA graphs do not agree with eager training; keep "
                            "cuda_graphs: false")
