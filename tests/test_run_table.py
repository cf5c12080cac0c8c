"""Per-run tables (gan_study.run_table): each run counted once, and importable without torch beside the metrics
registry that uses them."""

import json

import pandas as pd
import pytest

from gan_study.errors import GanStudyError
from gan_study.run_table import read_runs, with_run_status
from tests.conftest import without_torch


def test_the_metrics_registry_and_their_tables_import_without_torch():
    out = without_torch("import gan_study.metrics as m; "
                        "print(sorted(m.REGISTRY), callable(m.resolve(m.REGISTRY['fid'].summary)))")
    assert out.strip() == "['fid', 'fid_curve', 'parzen', 'parzen_curve'] True"


def _record(tmp_path, name, seed, **extra):
    path = tmp_path / name
    path.write_text(json.dumps({"model": "mlp_gan", "dataset": "mnist", "seed": seed, **extra}))
    return path


def test_a_per_run_file_given_twice_is_refused_as_it_would_count_twice(tmp_path):
    """Curves too: the same run's curve twice would weigh that seed double in a mean over seeds per epoch."""
    one, two = _record(tmp_path, "a.json", 0), _record(tmp_path, "b.json", 1)
    assert list(read_runs([one, two], "parzen_curve.json")) == [("mlp_gan", "mnist", 0), ("mlp_gan", "mnist", 1)]
    with pytest.raises(GanStudyError, match="parzen_curve.json for mlp_gan/mnist/0 given twice"):
        read_runs([one, two, one], "parzen_curve.json")


def test_a_metric_result_of_another_run_or_config_is_refused_and_rows_take_the_reported_status(tmp_path):
    runs = pd.DataFrame({"model": ["mlp_gan"] * 2, "dataset": ["mnist"] * 2, "seed": [0, 1],
                         "status": ["completed", "collapsed"], "run_config_hash": ["aaa", "aaa"]})
    files = [_record(tmp_path, f"{seed}.json", seed, status="completed", run_config_hash="aaa") for seed in (0, 1)]
    rows = pd.DataFrame(read_runs(files, "FID", runs).values())
    assert list(with_run_status(rows, runs)["status"]) == ["completed", "collapsed"]
    with pytest.raises(GanStudyError, match="FID result for mlp_gan/mnist/2, which has no train.json"):
        read_runs([files[0], _record(tmp_path, "2.json", 2, run_config_hash="aaa")], "FID", runs)
    with pytest.raises(GanStudyError, match="the FID result of mlp_gan/mnist/1 was made under run config bbb"):
        read_runs([files[0], _record(tmp_path, "1b.json", 1, run_config_hash="bbb")], "FID", runs)
