"""The DAG's bookkeeping (gan_study.dag): importable without torch, and in step with the data loaders."""

import torchvision.datasets as tvd

from gan_study import dag
from gan_study.config import load_config
from gan_study.datasets import REGISTRY
from tests.conftest import without_torch


def test_dag_module_imports_without_torch():
    # The default config read as plain YAML (validating it asks the model variants, which are torch modules).
    out = without_torch("import yaml; from gan_study import dag; from gan_study.config import DEFAULT_CONFIG; "
                        "print(len(dag.runs(yaml.safe_load(DEFAULT_CONFIG.read_text()))))")
    assert int(out) > 0


def test_the_dataset_registry_matches_torchvision():
    """Each entry's files are torchvision's (whose md5s the loaders check); MNIST-like data may sit in torchvision's
    own layout."""
    for name, spec in REGISTRY.items():
        tv = getattr(tvd, spec.torchvision_class)
        if spec.reader == "idx":
            assert spec.folders[1] == f"{spec.torchvision_class}/raw"
            assert list(spec.files) == [f for f, _ in tv.resources]
        else:
            assert list(spec.files) == [f for f, _ in tv.train_list + tv.test_list]
        assert spec.n_train < spec.n_official_train and f"1--{spec.n_train:,}" in spec.split_sentence()


def test_a_dataset_registered_in_one_place_reaches_the_schema_the_dag_and_the_methods(tmp_path, monkeypatch):
    """Adding a dataset is one registry entry (plus a reader for a new file format): the config accepts it, the DAG
    declares its files and the methods describe its split."""
    from gan_study import datasets
    from gan_study.config import load_config
    from gan_study.methods import methods_text

    spec = datasets.DatasetSpec("kmnist", "Kuzushiji-MNIST", (1, 28, 28), ("kmnist", "KMNIST/raw"),
                                datasets.IDX_FILES, "idx", "KMNIST", n_official_train=60_000, n_test=10_000,
                                n_train=55_000)
    monkeypatch.setitem(datasets.REGISTRY, "kmnist", spec)
    monkeypatch.delenv("GAN_STUDY_DATA_DIR", raising=False)  # the config's data_dir, here
    for name in spec.files:
        (tmp_path / "kmnist").mkdir(exist_ok=True)
        (tmp_path / "kmnist" / name).write_bytes(b"")
    overlay = tmp_path / "k.yaml"
    overlay.write_text(f"data_dir: {tmp_path}\nruns: [{{model: mlp_gan, datasets: [kmnist]}}]\n")
    config = load_config(overlay)
    assert [run["dataset"] for run in dag.runs(config)][:1] == ["kmnist"]
    assert dag.data_files(config, "kmnist") == [str(tmp_path / "kmnist" / name) for name in spec.files]
    assert "Kuzushiji-MNIST" in methods_text(config) and "1--55,000" in methods_text(config)


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
