"""Score a run's samples; the result is one JSON file per run with its provenance."""


import torch

from .config import sigma_grid
from .data import load_splits
from .datasets import REGISTRY as DATASETS
from .errors import GanStudyError
from .identity import check_images, check_run, read_record
from .parzen import evaluate as parzen_evaluate
from .provenance import StampedRecord, config_hash
from .runtime import resolve_device
from .sample import SAMPLES_FORMAT, scored_subset
from .status import SCORED
from .train import run_config
from .commands import RUN_ARGS, arg, command


def load_samples(path, record=None, needed=0):
    """A samples file, checked against the run `record` is for (model, dataset, seed, run config) and, when it holds
    images, checked as `needed` or more images of that dataset in [0, 1]."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise GanStudyError(f"samples file {path} is unreadable ({type(err).__name__}); re-run the sample step") from None
    if not isinstance(payload, dict) or payload.get("format") != SAMPLES_FORMAT:
        raise GanStudyError(f"{path} is not a gan-study samples file; re-run the sample step")
    if record is not None:
        check_run(payload, path, record["model"], record["dataset"], record["seed"], record["run_config_hash"],
                  what="samples file")
        if payload["status"] in SCORED:
            check_images(payload.get("images"), DATASETS[record["dataset"]].image_shape, needed, path)
    return payload


def run_record(config, model, dataset, seed, metric):
    """A run's metrics record, opened now (its wall time counts from here): the run, the metric, its status, and the
    hash of the run config that trained it."""
    return StampedRecord(config, seed, model=model, dataset=dataset, seed=seed, metric=metric, status=None,
                         run_config_hash=config_hash(run_config(config, model, dataset)))


def parzen(config, model, dataset, seed, samples_path, out_json):
    record = run_record(config, model, dataset, seed, "parzen_log_likelihood")
    pcfg = config["parzen"]
    payload = load_samples(samples_path, record, pcfg["n_samples"])
    record.update(status=payload["status"], parzen_config=pcfg)
    device = resolve_device(config["device"])
    if payload["status"] in SCORED:
        splits = load_splits(dataset, config["data_dir"], config["download"])
        samples = scored_subset(payload["images"], payload.get("labels"), pcfg["n_samples"]).to(device)
        record.update(parzen_score(samples, _parzen_sets(pcfg, splits, dataset, device), pcfg))
    return record.write(out_json, device)


def _parzen_sets(pcfg, splits, dataset, device):
    """(σ images, checkpoint-selection images, test images): the first n_valid validation images choose σ, the next
    n_select choose a checkpoint, the first n_test test images give the reported number."""
    n_valid, n_select = pcfg["n_valid"], pcfg["n_select"]
    if n_valid + n_select > splits.valid_x.shape[0]:
        raise GanStudyError(f"parzen.n_valid + parzen.n_select = {n_valid + n_select} exceeds the "
                            f"{splits.valid_x.shape[0]} validation images of {dataset}; lower one of them")
    valid = splits.valid_x.to(device)
    return valid[:n_valid], valid[n_valid : n_valid + n_select], splits.test_x[: pcfg["n_test"]].to(device)


def parzen_score(samples, sets, pcfg):
    valid, select, test = sets
    return parzen_evaluate(samples, valid, test, sigma_grid(pcfg), pcfg["block_size"], select=select)


PARZEN_CURVE_FIELDS = ("sigma", "valid_mean_ll", "select_mean_ll", "test_mean_ll", "test_se")


def parzen_point(epoch, source, result):
    return {"epoch": epoch, "source": source, "valid_mean_ll": max(result["valid_mean_ll_per_sigma"]),
            **{k: result[k] for k in PARZEN_CURVE_FIELDS if k in result}}


def parzen_curve(config, model, dataset, seed, train_json, final_parzen_json, out_json):
    """Parzen log-likelihood of every generator snapshot a run kept, plus its final weights, and the checkpoint
    chosen on validation images (the highest `select_mean_ll`), never on test images.

    Each snapshot is sampled exactly as the sample step samples the final weights (same count, same noise seed)
    and scored exactly as the parzen step scores them, so its last point is the final parzen.json's number.
    """
    from pathlib import Path

    from .sample import evaluation_samples, load_generator

    record = run_record(config, model, dataset, seed, "parzen_curve")
    train, final = _run_files(record, train_json, final_parzen_json, "parzen.json")
    cfg, pcfg = config["models"][model], config["parzen"]
    device = resolve_device(config["device"])
    sets = _parzen_sets(pcfg, load_splits(dataset, config["data_dir"], config["download"]), dataset, device)
    points = []
    for snap in train["snapshots"]:
        if not Path(snap["path"]).is_file():
            raise GanStudyError(f"generator snapshot {snap['path']} listed in {train_json} is missing; re-run training")
        variant, gen, _ = load_generator(snap["path"], model, dataset, seed, cfg, device)
        images = evaluation_samples(variant, gen, config, seed, device, pcfg["n_samples"])
        points.append(parzen_point(snap["epoch"], "snapshot", parzen_score(images.to(device), sets, pcfg)))
        print(f"{model}/{dataset}/seed{seed} epoch {snap['epoch']}: test {points[-1]['test_mean_ll']:.1f} nats, "
              f"selection {points[-1]['select_mean_ll']:.1f}", flush=True)
    if final["status"] in SCORED:
        if "select_mean_ll" not in final:
            raise GanStudyError(f"{final_parzen_json} has no checkpoint-selection score (made by an older version); "
                                "re-run its parzen step")
        points.append(parzen_point(train["epochs_completed"], "final", final))
    selected = max(points, key=lambda p: p["select_mean_ll"]) if points else None
    record.update(status=final["status"], every_n_epochs=config["snapshots"]["every_n_epochs"], parzen_config=pcfg,
                  points=points, selected=selected)
    return record.write(out_json, device)


def _fid_inputs(config, dataset):
    fcfg = config["fid"]
    splits = load_splits(dataset, config["data_dir"], config["download"])
    real = splits.test_x[: fcfg["n_real"]]
    from .fidelity import resolve_weights

    return fcfg, real, resolve_weights(fcfg["weights_path"])


def fid_reference(config, dataset, cache_dir, out_json):
    """Cache the test set's Inception features once per dataset; FID(test, test) = 0 is recorded as a check."""
    from .fidelity import fidelity_metrics, reference_cache_name, weights_record

    record = StampedRecord(config, dataset=dataset)
    fcfg, real, weights = _fid_inputs(config, dataset)
    device = resolve_device(config["device"])
    name = reference_cache_name(dataset, len(real), fcfg, weights)
    metrics = fidelity_metrics(real, real, name, fcfg, device, cache_dir, weights, generated_cache_name=name)
    record.update(cache_name=name, cache_dir=str(cache_dir), n_real=len(real), fid_test_vs_itself=metrics["fid"],
                  batch_size=fcfg["batch_size"], inception_weights=weights_record(weights))
    return record.write(out_json, device)


def fid(config, model, dataset, seed, samples_path, reference_json, out_json):
    """FID/KID/PR of one run's samples against the cached test-set features."""
    from .fidelity import fidelity_metrics, weights_record

    record = run_record(config, model, dataset, seed, "fid_kid_prc")
    payload = load_samples(samples_path, record, config["fid"]["n_samples"])
    reference = _reference(reference_json, dataset)
    record.update(status=payload["status"], fid_config=config["fid"], reference_cache_name=reference["cache_name"])
    device = resolve_device(config["device"])
    if payload["status"] in SCORED:
        fcfg, real, weights = _fid_inputs(config, dataset)
        generated = scored_subset(payload["images"], payload.get("labels"), fcfg["n_samples"])
        if payload.get("labels") is not None:  # a conditional model's: the classes its FID images cover
            chosen = scored_subset(payload["labels"], payload["labels"], fcfg["n_samples"])
            record["generated_per_class"] = torch.bincount(chosen).tolist()
        record.update(fidelity_metrics(generated, real, reference["cache_name"], fcfg, device,
                                       reference["cache_dir"], weights))
        record["inception_weights"] = weights_record(weights)
    return record.write(out_json, device)


def _run_files(record, train_json, final_json, what):
    """The run's train.json and its final metrics record, each checked to be this run's, made under this config."""
    run = (record["model"], record["dataset"], record["seed"], record["run_config_hash"])
    train = read_record(train_json, "train.json")
    check_run(train, train_json, *run, what="train.json")
    final = read_record(final_json, what)
    check_run(final, final_json, *run, what=what)
    return train, final


def _reference(reference_json, dataset):
    reference = read_record(reference_json, "fid-reference file", required=("dataset", "cache_name", "cache_dir"))
    if reference["dataset"] != dataset:
        raise GanStudyError(f"fid-reference file {reference_json} holds {reference['dataset']}'s test features, not "
                            f"{dataset}'s; pass that dataset's reference")
    return reference


CURVE_METRICS = ("fid", "kid_mean", "kid_std", "precision", "recall")


def fid_curve(config, model, dataset, seed, train_json, final_fid_json, reference_json, out_json):
    """FID/KID/PR of every generator snapshot a run kept (snapshots.every_n_epochs), plus its final FID.

    Each snapshot is sampled exactly as the sample step samples the final weights (same count, same noise
    seed), so the curve's last point and the final FID are the same kind of number. The best point is what
    Lucic et al. (2018) report; it is chosen on the test set, so it is optimistic, and is labelled as such.
    """
    from pathlib import Path

    from .fidelity import fidelity_metrics
    from .sample import evaluation_samples, load_generator

    record = run_record(config, model, dataset, seed, "fid_curve")
    train, final = _run_files(record, train_json, final_fid_json, "fid.json")
    reference = _reference(reference_json, dataset)
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    points = []
    if train["snapshots"]:
        fcfg, real, weights = _fid_inputs(config, dataset)
    for snap in train["snapshots"]:
        if not Path(snap["path"]).is_file():
            raise GanStudyError(f"generator snapshot {snap['path']} listed in {train_json} is missing; re-run training")
        variant, gen, _ = load_generator(snap["path"], model, dataset, seed, cfg, device)
        images = evaluation_samples(variant, gen, config, seed, device, fcfg["n_samples"])
        metrics = fidelity_metrics(images, real, reference["cache_name"], fcfg, device, reference["cache_dir"], weights)
        points.append({"epoch": snap["epoch"], "source": "snapshot", **{k: metrics.get(k) for k in CURVE_METRICS}})
        print(f"{model}/{dataset}/seed{seed} epoch {snap['epoch']}: FID {metrics['fid']:.2f}")
    if final["status"] in SCORED:
        points.append({"epoch": train["epochs_completed"], "source": "final", **{k: final.get(k) for k in CURVE_METRICS}})
    best = min(points, key=lambda p: p["fid"]) if points else None
    record.update(status=final["status"], every_n_epochs=config["snapshots"]["every_n_epochs"], points=points,
                  best=best)
    return record.write(out_json, device)


@command("parzen", RUN_ARGS + [arg("--samples", required=True), arg("--out", required=True)])
def parzen_command(config, args):
    record = parzen(config, args.model, args.dataset, args.seed, args.samples, args.out)
    if record["status"] in SCORED:
        print(f"{args.model}/{args.dataset}/seed{args.seed}: Parzen test log-likelihood "
              f"{record['test_mean_ll']:.1f} ± {record['test_se']:.1f} nats (σ = {record['sigma']:.4f}, "
              f"{record['n_centres']} samples, {record['n_test']} test images)")


@command("fid-reference", [arg("--dataset", required=True), arg("--cache-dir", required=True),
                           arg("--out", required=True)])
def fid_reference_command(config, args):
    record = fid_reference(config, args.dataset, args.cache_dir, args.out)
    print(f"{args.dataset}: cached features of {record['n_real']} test images; FID(test, test) = "
          f"{record['fid_test_vs_itself']:.3g}")


@command("fid", RUN_ARGS + [arg("--samples", required=True), arg("--out", required=True),
                            arg("--reference", required=True, help="the dataset's fid-reference JSON")])
def fid_command(config, args):
    record = fid(config, args.model, args.dataset, args.seed, args.samples, args.reference, args.out)
    if record["status"] in SCORED:
        note = " — " + record["note"] if "note" in record else ""
        print(f"{args.model}/{args.dataset}/seed{args.seed}: FID {record['fid']:.2f}, KID {record['kid_mean']:.4f} "
              f"({record['n_generated']} vs {record['n_real']} images){note}")


CURVE_ARGS = RUN_ARGS + [arg("--train", required=True, help="the run's train.json (lists its snapshots)"),
                         arg("--out", required=True)]


@command("fid-curve", CURVE_ARGS + [arg("--fid", required=True, help="the run's final fid.json"),
                                    arg("--reference", required=True, help="the dataset's fid-reference JSON")])
def fid_curve_command(config, args):
    record = fid_curve(config, args.model, args.dataset, args.seed, args.train, args.fid, args.reference, args.out)
    if record["best"]:
        print(f"{args.model}/{args.dataset}/seed{args.seed}: best FID {record['best']['fid']:.2f} at epoch "
              f"{record['best']['epoch']} of {len(record['points'])} checkpoints")


@command("parzen-curve", CURVE_ARGS + [arg("--parzen", required=True, help="the run's final parzen.json")])
def parzen_curve_command(config, args):
    record = parzen_curve(config, args.model, args.dataset, args.seed, args.train, args.parzen, args.out)
    if record["selected"]:
        s = record["selected"]
        print(f"{args.model}/{args.dataset}/seed{args.seed}: chosen on validation: epoch {s['epoch']} "
              f"(test {s['test_mean_ll']:.1f} ± {s['test_se']:.1f} nats) of {len(record['points'])} checkpoints")
