"""Published numbers (one cited data file, `published.yaml`)."""

import functools
from pathlib import Path

import yaml

PUBLISHED = Path(__file__).with_name("published.yaml")


@functools.lru_cache(maxsize=None)
def published():
    return yaml.safe_load(PUBLISHED.read_text())


def parzen_table1():
    """Published Parzen rows, in file order (Goodfellow et al. Table 1 first): [(model, {dataset: (mean, se)})]."""
    rows = {}
    for entry in published()["parzen_log_likelihood"]:
        rows.setdefault(entry["model"], {})[entry["dataset"]] = (entry["mean"], entry["se"])
    return list(rows.items())


def lucic_fid(loss_family, dataset):
    """(mean, std) of Lucic et al. (2018)'s best FID for a loss family on a dataset, or None."""
    for entry in published()["fid"]:
        if entry["loss"] == loss_family and entry["dataset"] == dataset:
            return entry["mean"], entry["std"]
    return None


def device_peak(device_name):
    """The devices.yaml entry whose `match` occurs in `device_name` (torch.cuda.get_device_name), or None."""
    entries = yaml.safe_load(Path(__file__).with_name("devices.yaml").read_text())
    for entry in entries["devices"]:
        if entry["match"] in device_name:
            return {**entry, "citation": entries["sources"][entry["source"]]}
    return None
