"""The DAG's bookkeeping (gan_study.dag): importable without torch, and in step with the data loaders."""

import subprocess
import sys

import torchvision.datasets as tvd

from gan_study import dag
from gan_study.config import load_config
from gan_study.data import DATASETS
from tests.conftest import REPO


def test_dag_module_imports_without_torch():
    # The default config read as plain YAML (validating it asks the model variants, which are torch modules).
    code = ("import sys, yaml; sys.modules['torch'] = None; from gan_study import dag; "
            "from gan_study.config import DEFAULT_CONFIG; "
            "print(len(dag.runs(yaml.safe_load(DEFAULT_CONFIG.read_text()))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_data_layout_matches_the_loaders():
    for name, spec in DATASETS.items():
        folders, files = dag.DATA_LAYOUT[name]
        assert folders[0] == spec.folder
        if name != "cifar10":
            assert folders[1] == f"{spec.torchvision_class}/raw"
            assert list(files) == [f for f, _ in getattr(tvd, spec.torchvision_class).resources]
    assert list(dag.CIFAR10_FILES) == [f for f, _ in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list]


def test_data_files_are_declared_when_present(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDY_DATA_DIR", str(mnist_dir))
    config = load_config()
    files = dag.data_files(config, "mnist")
    assert len(files) == 4 and all(f.endswith(".gz") for f in files)
    monkeypatch.setenv("GAN_STUDY_DATA_DIR", str(tmp_path))
    assert dag.data_files(config, "mnist") == []  # the job then names the missing file itself


def test_resolved_config_is_rewritten_only_when_it_changes(tmp_path):
    config = load_config()
    path = dag.write_resolved_config(tmp_path / "w" / "config.json", config)
    stamp = path.stat().st_mtime_ns
    dag.write_resolved_config(path, config)
    assert path.stat().st_mtime_ns == stamp
    dag.write_resolved_config(path, {**config, "seeds": [9]})
    assert '"seeds": [\n    9\n  ]' in path.read_text()
