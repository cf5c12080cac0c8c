"""Published generator weights of a committed study, and re-scoring them without retraining.

`publish-weights` copies each finished run's final generator (a collapsed seed's too), and the checkpoint chosen on
validation when that is a snapshot, from work/ into results/<study>/weights/ (generator only: ~10 MB per MLP GAN),
with a manifest that records each file's sha256, epoch, status and the Parzen numbers the study reported for it.
When the study's checkpoints are gone, `reproduce` retrains its runs and `publish-weights --reproduced` publishes
those whose training log came out identical to the committed one. `rescore` samples every published
generator exactly as the sample step did and scores it with the study's own config, printing the reported and the
recomputed number side by side: a reader can check a committed number in minutes, with no training. A study that
scores another study's runs otherwise (the same checkpoints, sampled another way) re-scores from that study's
weights (`--weights-from`).
"""

import json
from pathlib import Path

import torch

from . import checkpoint
from .atomic import read_csv, write_json
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
    return read_csv(path)


def _curve_points(results_dir, run):
    path = run_dir(results_dir, run.model, run.dataset, run.seed) / "parzen_curve.json"
    return json.loads(path.read_text())["points"] if path.is_file() else []


def _reproduced(path):
    """seed -> its verdict from a `reproduce` report, and the report's (model, dataset)."""
    report = json.loads(Path(path).read_text())
    return {run["seed"]: run for run in report["runs"]}, (report["model"], report["dataset"])


def _publishable(results_dir, reproduced):
    """The runs whose training finished (a collapsed seed's generator too: it is a result), and with a `reproduce`
    report only the cell's seeds retrained identically, each of the others named."""
    runs = [run for run in _runs(results_dir).itertuples()
            if getattr(run, "trained_status", run.status) == Status.COMPLETED]
    if reproduced is None:
        return [(run, None) for run in runs]
    verdicts, cell = _reproduced(reproduced)
    chosen = []
    for run in (run for run in runs if (run.model, run.dataset) == cell and run.seed in verdicts):
        if verdicts[run.seed]["identical"]:
            chosen.append((run, verdicts[run.seed]))
        else:
            print(f"{run.model} {run.dataset} seed {run.seed}: not published; retrained apart from its committed log "
                  f"(step {verdicts[run.seed].get('first_step_apart', '?')}), so its weights are not the study's")
    if not chosen:
        raise GanStudyError(f"{reproduced}: no seed of {cell[0]} on {cell[1]} was retrained identically to its "
                            "committed log; nothing to publish under the study's numbers")
    return chosen


def _sources(results_dir, work_dir, run):
    """kind -> (file, epoch, reported test LL): the final generator, and the snapshot chosen on validation."""
    run_work = run_dir(work_dir, run.model, run.dataset, run.seed)
    sources = {"final": (run_work / "final.pt", int(run.epochs), run.test_mean_ll)}
    chosen = next((p for p in _curve_points(results_dir, run) if int(p["epoch"]) == int(run.selected_epoch)), None)
    if chosen is not None and chosen["source"] == "snapshot":  # a curve point's source, not a status
        sources["selected"] = (run_work / "snapshots" / f"epoch{int(chosen['epoch']):04d}.pt", int(chosen["epoch"]),
                               chosen["test_mean_ll"])
    return sources


def publish_weights(results_dir, work_dir, reproduced=None):
    """Write results_dir/weights/*.pt and the manifest (added to what it lists); returns the new entries.
    `reproduced`: a `reproduce` report; the generators in work_dir are then retrained ones, published for the seeds
    whose training log came out identical to the committed one."""
    results_dir, work_dir = Path(results_dir), Path(work_dir)
    entries = []
    for run, verdict in _publishable(results_dir, reproduced):
        for kind, (source, epoch, reported) in _sources(results_dir, work_dir, run).items():
            state = checkpoint.load(source, expect={"model": run.model, "dataset": run.dataset, "seed": run.seed})
            name = f"{run.model}-{run.dataset}-seed{run.seed}-{kind}.pt"
            target = results_dir / "weights" / name
            checkpoint.save(target, {"model": run.model, "dataset": run.dataset, "seed": run.seed, "epoch": epoch,
                                     "status": Status.SNAPSHOT.value if kind == "selected" else run.status,
                                     "run_config_hash": run.run_config_hash, "generator": state["generator"]})
            entries.append({"file": f"weights/{name}", "sha256": file_sha256(target), "model": run.model,
                            "dataset": run.dataset, "seed": int(run.seed), "checkpoint": kind, "epoch": epoch,
                            "status": run.status, "reported_test_mean_ll": reported,
                            "trained_by_commit": run.git_commit,
                            **({"retrained_by_commit": verdict["retrained"]["git_commit"],
                                "retrained_on": verdict["retrained"]["device"],
                                "retrained_log": "identical to the committed training log, row for row"}
                               if verdict else {})})
    manifest = results_dir / "weights" / MANIFEST
    kept = [e for e in (json.loads(manifest.read_text())["weights"] if manifest.is_file() else [])
            if e["file"] not in {n["file"] for n in entries}]
    write_json(manifest, {"study": results_dir.name, "weights": kept + entries})
    return entries


def rescore(results_dir, out_dir, device=None, weights_from=None):
    """Sample and Parzen-score every published generator with the study's config (on `device` instead of the
    study's if given); returns (entry, recomputed). `weights_from`: another study's published generators of the same
    runs (the same run-config hash, so the same checkpoints), scored with this study's config (sampled otherwise,
    say) against the numbers this study reports."""
    from .config import load_config
    from .evaluate import parzen
    from .sample import sample

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    source = Path(weights_from) if weights_from else results_dir
    manifest = source / "weights" / MANIFEST
    if not manifest.is_file():
        raise GanStudyError(f"{manifest} is missing: that study published no weights" if weights_from else
                            f"{manifest} is missing: this study published no weights (`--weights-from RESULTS_DIR` "
                            "scores those another study published of the same runs)")
    config = load_config(base=results_dir / "config.json")
    other_device = device is not None and device != config["device"]
    if other_device:
        print(f"[gan-study] the study sampled on {config['device']}, this rescore on {device}: a random generator's "
              "stream depends on its device, so these are other samples; expect each number within a few standard "
              "errors of the reported one, not equal to it", flush=True)
        config["device"] = device
    results = []
    runs = {(r.model, r.dataset, int(r.seed)): r for r in _runs(results_dir).itertuples()} if weights_from else None
    for entry in json.loads(manifest.read_text())["weights"]:
        weights = source / entry["file"]
        if file_sha256(weights) != entry["sha256"]:
            raise GanStudyError(f"{weights} does not match its sha256 in {manifest}; restore it from git")
        if weights_from:
            entry = _as_reported_by(results_dir, runs, entry, weights)
        stem = out_dir / Path(entry["file"]).stem
        run = (entry["model"], entry["dataset"], entry["seed"])
        sample(config, *run, weights, stem.with_suffix(".samples.pt"), stem.with_suffix(".png"))
        record = parzen(config, *run, stem.with_suffix(".samples.pt"), stem.with_suffix(".parzen.json"))
        results.append((entry, record["test_mean_ll"]))
        print(_rescored_line(entry, record, other_device), flush=True)
    return results


def _rescored_line(entry, record, other_device):
    recomputed = f"recomputed {record['test_mean_ll']:.4f} ± {record['test_se']:.4f} nats"
    if entry["reported_test_mean_ll"] is None:
        return f"{entry['file']} (epoch {entry['epoch']}): not reported by this study, {recomputed}"
    apart = record["test_mean_ll"] - entry["reported_test_mean_ll"]
    return (f"{entry['file']} (epoch {entry['epoch']}): reported {entry['reported_test_mean_ll']:.4f}, {recomputed}"
            + (f" ({apart / record['test_se']:+.1f} standard errors)" if other_device else ""))


def _as_reported_by(results_dir, runs, entry, weights):
    """Another study's manifest entry with the number `results_dir` reports for that run and epoch (None if it
    reports none there), once the file is known to hold one of its `runs` ((model, dataset, seed) -> run)."""
    run = runs.get((entry["model"], entry["dataset"], int(entry["seed"])))
    held = checkpoint.load(weights).get("run_config_hash")
    if run is None or run.run_config_hash != held:
        raise GanStudyError(f"{weights} holds run {held} of {entry['model']} {entry['dataset']} seed {entry['seed']}, "
                            f"which {results_dir} did not score; --weights-from needs a study of the same runs")
    points = {int(p["epoch"]): p["test_mean_ll"] for p in _curve_points(results_dir, run)}
    points[int(run.epochs)] = run.test_mean_ll
    return {**entry, "reported_test_mean_ll": points.get(int(entry["epoch"]))}


def generator_only(path):
    """The generator state dict of a published file (for users loading it into their own code)."""
    return torch.load(path, map_location="cpu", weights_only=True)["generator"]


@command("publish-weights", [arg("--results-dir", required=True),
                             arg("--work-dir", required=True, help="the study's work dir (work/<study>)"),
                             arg("--reproduced", help="a `reproduce` report: publish the generators it retrained "
                                                      "identically (from --work-dir)")])
def publish_weights_command(config, args):
    entries = publish_weights(args.results_dir, args.work_dir, args.reproduced)
    print(f"published {len(entries)} generator file(s) under {args.results_dir}/weights/")


@command("rescore", [arg("--results-dir", required=True),
                     arg("--out-dir", required=True, help="scratch dir for the samples and scores"),
                     arg("--device", choices=["cpu", "cuda"],
                         help="sample and score here instead of on the study's device (a GPU study on a CPU: other "
                              "noise, so close to the reported numbers, not equal)"),
                     arg("--weights-from", metavar="RESULTS_DIR",
                         help="score the generators another study published of the same runs, with this study's "
                              "config, against this study's numbers (e.g. a study that samples them otherwise)")])
def rescore_command(config, args):
    rescore(args.results_dir, args.out_dir, args.device, args.weights_from)
