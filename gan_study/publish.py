"""Published generator weights of a committed study, and re-scoring them without retraining.

`publish-weights` copies each completed run's final generator, and the checkpoint chosen on validation when that is
a snapshot, from work/ into results/<study>/weights/ (generator only: ~10 MB per MLP GAN), with a manifest that
records each file's sha256, epoch and the Parzen numbers the study reported for it. `rescore` samples every published
generator exactly as the sample step did and scores it with the study's own config, printing the reported and the
recomputed number side by side: a reader can check a committed number in minutes, with no training.
"""

import json
from pathlib import Path

import torch

from . import checkpoint
from .atomic import write_json
from .errors import GanStudyError
from .status import Status
from .fidelity import file_sha256
from .commands import arg, command
from .config import run_dir

MANIFEST = "weights.json"


def _runs(results_dir):
    path = Path(results_dir) / "parzen_runs.csv"
    if not path.is_file():
        raise GanStudyError(f"{path} is missing; publish weights of an aggregated study (run snakemake first)")
    import pandas as pd

    return pd.read_csv(path)


def _curve_points(results_dir, run):
    path = run_dir(results_dir, run.model, run.dataset, run.seed) / "parzen_curve.json"
    return json.loads(path.read_text())["points"] if path.is_file() else []


def publish_weights(results_dir, work_dir):
    """Write results_dir/weights/*.pt and the manifest; returns the manifest entries."""
    results_dir, work_dir = Path(results_dir), Path(work_dir)
    entries = []
    for run in _runs(results_dir).itertuples():
        if run.status != Status.COMPLETED:
            continue
        run_work = run_dir(work_dir, run.model, run.dataset, run.seed)
        sources = {"final": (run_work / "final.pt", int(run.epochs), run.test_mean_ll)}
        chosen = next((p for p in _curve_points(results_dir, run) if int(p["epoch"]) == int(run.selected_epoch)), None)
        if chosen is not None and chosen["source"] == "snapshot":  # a curve point's source, not a status
            sources["selected"] = (run_work / "snapshots" / f"epoch{int(chosen['epoch']):04d}.pt", int(chosen["epoch"]),
                                   chosen["test_mean_ll"])
        for kind, (source, epoch, reported) in sources.items():
            state = checkpoint.load(source, expect={"model": run.model, "dataset": run.dataset, "seed": run.seed})
            name = f"{run.model}-{run.dataset}-seed{run.seed}-{kind}.pt"
            target = results_dir / "weights" / name
            checkpoint.save(target, {"model": run.model, "dataset": run.dataset, "seed": run.seed, "epoch": epoch,
                                     "status": (Status.SNAPSHOT if kind == "selected" else Status.COMPLETED).value,
                                     "run_config_hash": run.run_config_hash, "generator": state["generator"]})
            entries.append({"file": f"weights/{name}", "sha256": file_sha256(target), "model": run.model,
                            "dataset": run.dataset, "seed": int(run.seed), "checkpoint": kind, "epoch": epoch,
                            "reported_test_mean_ll": reported, "trained_by_commit": run.git_commit})
    write_json(results_dir / "weights" / MANIFEST, {"study": results_dir.name, "weights": entries})
    return entries


def rescore(results_dir, out_dir):
    """Sample and Parzen-score every published generator with the study's config; returns (entry, recomputed)."""
    from .config import load_config
    from .evaluate import parzen
    from .sample import sample

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    manifest = results_dir / "weights" / MANIFEST
    if not manifest.is_file():
        raise GanStudyError(f"{manifest} is missing: this study published no weights")
    config = load_config(base=results_dir / "config.json")
    results = []
    for entry in json.loads(manifest.read_text())["weights"]:
        weights = results_dir / entry["file"]
        if file_sha256(weights) != entry["sha256"]:
            raise GanStudyError(f"{weights} does not match its sha256 in {manifest}; restore it from git")
        stem = out_dir / Path(entry["file"]).stem
        run = (entry["model"], entry["dataset"], entry["seed"])
        sample(config, *run, weights, stem.with_suffix(".samples.pt"), stem.with_suffix(".png"))
        record = parzen(config, *run, stem.with_suffix(".samples.pt"), stem.with_suffix(".parzen.json"))
        results.append((entry, record["test_mean_ll"]))
        print(f"{entry['file']} (epoch {entry['epoch']}): reported {entry['reported_test_mean_ll']:.4f}, "
              f"recomputed {record['test_mean_ll']:.4f} nats", flush=True)
    return results


def generator_only(path):
    """The generator state dict of a published file (for users loading it into their own code)."""
    return torch.load(path, map_location="cpu", weights_only=True)["generator"]


@command("publish-weights", [arg("--results-dir", required=True),
                             arg("--work-dir", required=True, help="the study's work dir (work/<study>)")])
def publish_weights_command(config, args):
    entries = publish_weights(args.results_dir, args.work_dir)
    print(f"published {len(entries)} generator file(s) under {args.results_dir}/weights/")


@command("rescore", [arg("--results-dir", required=True),
                     arg("--out-dir", required=True, help="scratch dir for the samples and scores")])
def rescore_command(config, args):
    rescore(args.results_dir, args.out_dir)
