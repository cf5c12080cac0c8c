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
