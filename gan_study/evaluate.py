"""Score a run's samples; the result is one JSON file per run with its provenance."""

import time

import torch

from .atomic import write_json
from .config import sigma_grid
from .data import load_splits
from .errors import GanStudyError
from .parzen import evaluate as parzen_evaluate
from .provenance import config_hash, now, provenance
from .runtime import resolve_device
from .sample import SAMPLES_FORMAT
from .train import run_config


def load_samples(path):
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise GanStudyError(f"samples file {path} is unreadable ({type(err).__name__}); re-run the sample step") from None
    if not isinstance(payload, dict) or payload.get("format") != SAMPLES_FORMAT:
        raise GanStudyError(f"{path} is not a gan-study samples file; re-run the sample step")
    return payload


def parzen(config, model, dataset, seed, samples_path, out_json):
    started, t0 = now(), time.time()
    payload = load_samples(samples_path)
    pcfg = config["parzen"]
    record = {
        "model": model,
        "dataset": dataset,
        "seed": seed,
        "metric": "parzen_log_likelihood",
        "status": payload["status"],
        "run_config_hash": config_hash(run_config(config, model, dataset)),
        "parzen_config": pcfg,
    }
    if payload["status"] == "completed":
        device = resolve_device(config["device"])
        splits = load_splits(dataset, config["data_dir"], config["download"])
        samples = payload["images"][: pcfg["n_samples"]].to(device)
        valid = splits.valid_x[: pcfg["n_valid"]].to(device)
        test = splits.test_x[: pcfg["n_test"]].to(device)
        record.update(parzen_evaluate(samples, valid, test, sigma_grid(pcfg), pcfg["block_size"]))
    record["wall_time_s"] = round(time.time() - t0, 3)
    record["provenance"] = provenance(config, seed=seed, device=resolve_device(config["device"]), started=started)
    write_json(out_json, record)
    return record


def _fid_inputs(config, dataset):
    fcfg = config["fid"]
    splits = load_splits(dataset, config["data_dir"], config["download"])
    real = splits.test_x[: fcfg["n_real"]]
    from .fidelity import resolve_weights

    return fcfg, real, resolve_weights(fcfg["weights_path"])


def fid_reference(config, dataset, cache_dir, out_json):
    """Cache the test set's Inception features once per dataset; FID(test, test) = 0 is recorded as a check."""
    from .fidelity import fidelity_metrics, reference_cache_name

    started, t0 = now(), time.time()
    fcfg, real, weights = _fid_inputs(config, dataset)
    device = resolve_device(config["device"])
    name = reference_cache_name(dataset, len(real), fcfg, weights)
    metrics = fidelity_metrics(real, real, name, fcfg, device, cache_dir, weights, generated_cache_name=name)
    record = {
        "dataset": dataset, "cache_name": name, "cache_dir": str(cache_dir), "n_real": len(real),
        "fid_test_vs_itself": metrics["fid"], "batch_size": fcfg["batch_size"], "weights": weights or "release",
        "wall_time_s": round(time.time() - t0, 3),
        "provenance": provenance(config, device=device, started=started),
    }
    write_json(out_json, record)
    return record


def fid(config, model, dataset, seed, samples_path, reference_json, out_json):
    """FID/KID/PR of one run's samples against the cached test-set features."""
    import json
    from pathlib import Path

    from .fidelity import fidelity_metrics

    started, t0 = now(), time.time()
    payload = load_samples(samples_path)
    reference = json.loads(Path(reference_json).read_text())
    record = {
        "model": model, "dataset": dataset, "seed": seed, "metric": "fid_kid_prc", "status": payload["status"],
        "run_config_hash": config_hash(run_config(config, model, dataset)), "fid_config": config["fid"],
        "reference_cache_name": reference["cache_name"],
    }
    device = resolve_device(config["device"])
    if payload["status"] == "completed":
        fcfg, real, weights = _fid_inputs(config, dataset)
        generated = payload["images"][: fcfg["n_samples"]]
        record.update(fidelity_metrics(generated, real, reference["cache_name"], fcfg, device,
                                       reference["cache_dir"], weights))
    record["wall_time_s"] = round(time.time() - t0, 3)
    record["provenance"] = provenance(config, seed=seed, device=device, started=started)
    write_json(out_json, record)
    return record


CURVE_METRICS = ("fid", "kid_mean", "kid_std", "precision", "recall")


def fid_curve(config, model, dataset, seed, train_json, final_fid_json, reference_json, out_json):
    """FID/KID/PR of every generator snapshot a run kept (snapshots.every_n_epochs), plus its final FID.

    Each snapshot is sampled exactly as the sample step samples the final weights (same count, same noise
    seed), so the curve's last point and the final FID are the same kind of number. The best point is what
    Lucic et al. (2018) report; it is chosen on the test set, so it is optimistic, and is labelled as such.
    """
    import json
    from pathlib import Path

    from .fidelity import fidelity_metrics
    from .sample import evaluation_sample_count, generate, load_generator

    started, t0 = now(), time.time()
    train = json.loads(Path(train_json).read_text())
    final = json.loads(Path(final_fid_json).read_text())
    reference = json.loads(Path(reference_json).read_text())
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    points = []
    if train["snapshots"]:
        fcfg, real, weights = _fid_inputs(config, dataset)
    for snap in train["snapshots"]:
        if not Path(snap["path"]).is_file():
            raise GanStudyError(f"generator snapshot {snap['path']} listed in {train_json} is missing; re-run training")
        variant, gen, _ = load_generator(snap["path"], model, dataset, seed, cfg, device)
        images = generate(variant, gen, cfg, evaluation_sample_count(config), seed, device)[: fcfg["n_samples"]]
        metrics = fidelity_metrics(images, real, reference["cache_name"], fcfg, device, reference["cache_dir"], weights)
        points.append({"epoch": snap["epoch"], "source": "snapshot", **{k: metrics.get(k) for k in CURVE_METRICS}})
        print(f"{model}/{dataset}/seed{seed} epoch {snap['epoch']}: FID {metrics['fid']:.2f}")
    if final["status"] == "completed":
        points.append({"epoch": train["epochs_completed"], "source": "final", **{k: final.get(k) for k in CURVE_METRICS}})
    best = min(points, key=lambda p: p["fid"]) if points else None
    record = {
        "model": model, "dataset": dataset, "seed": seed, "metric": "fid_curve", "status": final["status"],
        "run_config_hash": config_hash(run_config(config, model, dataset)), "every_n_epochs": config["snapshots"]["every_n_epochs"],
        "points": points, "best": best,
        "wall_time_s": round(time.time() - t0, 3),
        "provenance": provenance(config, seed=seed, device=device, started=started),
    }
    write_json(out_json, record)
    return record
