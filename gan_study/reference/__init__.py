"""Published numbers (one cited data file, `published.yaml`)."""

import functools
from pathlib import Path

import yaml

PUBLISHED = Path(__file__).with_name("published.yaml")


@functools.lru_cache(maxsize=None)
def published():
    return yaml.safe_load(PUBLISHED.read_text())


def parzen_table1():
    """The rows of Goodfellow et al. (2014) Table 1, in the paper's order: [(model, {dataset: (mean, se)})]."""
    rows = {}
    for entry in published()["parzen_log_likelihood"]:
        if entry["source"] == "goodfellow2014":
            rows.setdefault(entry["model"], {})[entry["dataset"]] = (entry["mean"], entry["se"])
    return list(rows.items())
