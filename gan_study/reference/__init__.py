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
