import pytest

from gan_study.config import DEFAULT_CONFIG, deep_merge, grid, load_config, sigma_grid, validate
from gan_study.errors import GanStudyError
from tests.conftest import REPO


def test_default_config_is_the_paper_protocol():
    c = load_config()
    assert c["parzen"]["n_samples"] == 10_000 and c["parzen"]["n_test"] == 10_000 and c["parzen"]["n_valid"] == 1000
    assert sigma_grid(c["parzen"]).tolist() == pytest.approx([10 ** (-1 + i / 9) for i in range(10)])
    m = c["models"]["mlp_gan"]
    assert (m["batch_size"], m["lr_initial"], m["lr_decay_factor"], m["lr_min"]) == (100, 0.1, 1.000004, 1e-6)
    assert (m["momentum_initial"], m["momentum_final"], m["momentum_saturate_epoch"]) == (0.5, 0.7, 250)
    assert m["update_order"] == "simultaneous"


@pytest.mark.parametrize("study", sorted(p.stem for p in (REPO / "workflows" / "studies").glob("*.yaml")))
def test_every_study_file_validates_and_names_itself(study):
    c = load_config(REPO / "workflows" / "studies" / f"{study}.yaml")
    assert c["study"] == study


def test_the_cpu_failure_study_is_the_gpu_ones_seeds_and_rule_at_a_cpu_budget():
    cpu, gpu = (load_config(REPO / "workflows" / "studies" / f"{s}.yaml") for s in ("cpu-failures", "paper-failures"))
    # paper-failures' seeds first (cpu-failures adds more: its count is a CPU's, not a GPU lease's)
    assert cpu["seeds"][: len(gpu["seeds"])] == gpu["seeds"] and cpu["collapse"] == gpu["collapse"]
    assert (cpu["device"], cpu["models"]["mlp_gan"]["epochs"], gpu["models"]["mlp_gan"]["epochs"]) == ("cpu", 20, 50)
    assert cpu["models"]["mlp_gan"]["train_limit"] is None and cpu["parzen"] == gpu["parzen"]  # the paper protocol


def test_smoke_grid():
    c = load_config(REPO / "workflows" / "studies" / "smoke.yaml")
    models = ["mlp_gan", "cgan", "dcgan", "wgan", "wgan_gp"]
    expected = [(m, "mnist", seed) for m in models for seed in (0, 1)]
    expected[2:2] = [("mlp_gan", "fashion_mnist", 0), ("mlp_gan", "fashion_mnist", 1)]
    assert grid(c) == expected


@pytest.mark.parametrize(
    "overlay, message",
    [
        ({"sedes": [1]}, "Additional properties are not allowed \\('sedes'"),
        ({"models": {"mlp_gan": {"lr_intial": 0.1}}}, "models.mlp_gan.*lr_intial"),
        ({"models": {"mlp_gan": {"update_order": "random"}}}, "models.mlp_gan.update_order"),
        ({"parzen": {"n_test": 20000}}, "parzen.n_test"),
        ({"seeds": []}, "at 'seeds'"),
        ({"device": "gpu"}, "at 'device'"),
        ({"fid": {"n_real": 20000}}, "fid.n_real"),
        ({"fid": {"weights": "x.pth"}}, "weights"),
        ({"runs": [{"model": "biggan", "datasets": ["mnist"]}]}, "runs.0.model"),
    ],
)
def test_bad_config_is_one_clear_error(overlay, message):
    import yaml

    config = deep_merge(yaml.safe_load(DEFAULT_CONFIG.read_text()), overlay)
    with pytest.raises(GanStudyError, match=message):
        validate(config)


def test_deep_merge_replaces_lists_and_merges_mappings():
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": 3}, "l": [9]}) == {"a": {"b": 3, "c": 2}, "l": [9]}


def test_a_model_key_added_later_keeps_the_committed_runs_hashes_at_its_old_value():
    """mlp_gan's `noise` came after studies were committed: at `uniform` (what they ran) a run hashes as before, so
    the committed runs stay this config's runs; `gaussian` is another run."""
    import json

    from gan_study.provenance import config_hash
    from gan_study.train import run_config

    config = load_config(REPO / "workflows" / "studies" / "paper.yaml")
    assert config["models"]["mlp_gan"]["noise"] == "uniform"
    committed = json.loads((REPO / "results" / "paper" / "runs" / "mlp_gan" / "mnist" / "seed0" / "train.json").read_text())
    assert config_hash(run_config(config, "mlp_gan", "mnist")) == committed["run_config_hash"]
    config["models"]["mlp_gan"]["noise"] = "gaussian"
    assert config_hash(run_config(config, "mlp_gan", "mnist")) != committed["run_config_hash"]


def test_a_study_written_before_redundant_biases_reads_as_the_nets_it_trained(tmp_path):
    """`redundant_biases` came with config version 3 and defaults to false (no bias that batch norm or the loss
    cancels). A version-2 study that trained DCGAN had a bias on every layer: it reads as `true`, and its runs keep the
    hashes they were trained under (the key at `true` hashes as if absent); `false` is another run."""
    import json

    from gan_study.config import CONFIG_VERSION, HASH_NEUTRAL
    from gan_study.provenance import config_hash
    from gan_study.train import run_config

    config = load_config()
    assert CONFIG_VERSION >= 3 and config["models"]["dcgan"]["redundant_biases"] is False
    older = json.loads(json.dumps(config))
    older["config_version"] = 2
    for model in ("dcgan", "wgan", "wgan_gp"):
        del older["models"][model]["redundant_biases"]
    older["runs"] = [{"model": "dcgan", "datasets": ["mnist"]}]
    (tmp_path / "config.json").write_text(json.dumps(older))
    migrated = load_config(base=tmp_path / "config.json")
    assert migrated["models"]["dcgan"]["redundant_biases"] is True
    assert migrated["migrated"]["filled"]["models.dcgan.redundant_biases"] is True
    assert migrated["models"]["wgan"]["redundant_biases"] is False  # not run by that study: today's defaults

    def without_key(cfg):
        return {k: v for k, v in cfg.items() if k != "redundant_biases"}

    as_trained = {"model": "dcgan", "dataset": "mnist", "model_config": without_key(migrated["models"]["dcgan"])}
    assert config_hash(run_config(migrated, "dcgan", "mnist")) == config_hash(as_trained)
    assert config_hash(run_config(config, "dcgan", "mnist")) != config_hash(run_config(migrated, "dcgan", "mnist"))
    assert HASH_NEUTRAL["wgan_gp"] == {"redundant_biases": True}


def test_cgan_sample_dropout_is_a_sampling_key_and_an_older_cgan_study_sampled_without(tmp_path):
    """`sample_dropout` (config version 4) changes no run's hash, so the same checkpoints are sampled either way,
    and re-runs the jobs that sample (their digest) but not training. A version-3 study that ran the cGAN sampled
    without dropout: it reads as `false`."""
    import json

    from gan_study import dag
    from gan_study.provenance import config_hash
    from gan_study.train import run_config

    config = load_config()
    assert config["models"]["cgan"]["sample_dropout"] is True
    off = json.loads(json.dumps(config))
    off["models"]["cgan"]["sample_dropout"] = False
    assert config_hash(run_config(config, "cgan", "mnist")) == config_hash(run_config(off, "cgan", "mnist"))
    assert dag.config_digest(config, "models", "cgan") == dag.config_digest(off, "models", "cgan")
    assert dag.sampling_digest(config, "cgan") != dag.sampling_digest(off, "cgan")
    assert dag.sampling_digest(config, "mlp_gan") == dag.sampling_digest(off, "mlp_gan")
    older = json.loads(json.dumps(config))
    older["config_version"] = 3
    del older["models"]["cgan"]["sample_dropout"]
    older["runs"] = [{"model": "cgan", "datasets": ["mnist"]}]
    (tmp_path / "config.json").write_text(json.dumps(older))
    migrated = load_config(base=tmp_path / "config.json")
    assert migrated["models"]["cgan"]["sample_dropout"] is False
    assert migrated["migrated"]["filled"]["models.cgan.sample_dropout"] is False


def test_an_older_study_drew_figure1_with_single_steps_at_one_learning_rate(tmp_path):
    """Figure 1's `d_steps_per_g_step` and `lr_decay_d` (config version 5): a version-4 study's panel (d) alternated
    one discriminator step with one generator step at a fixed learning rate, and reads so."""
    import json

    config = load_config()
    assert config["figure1"]["d_steps_per_g_step"] > 1 and config["figure1"]["lr_decay_d"] is True
    older = json.loads(json.dumps(config))
    older["config_version"] = 4
    for key in ("d_steps_per_g_step", "lr_decay_d"):
        del older["figure1"][key]
    (tmp_path / "config.json").write_text(json.dumps(older))
    migrated = load_config(base=tmp_path / "config.json")
    assert migrated["figure1"]["d_steps_per_g_step"] == 1 and migrated["figure1"]["lr_decay_d"] is False
    assert migrated["migrated"]["filled"] == {"figure1.d_steps_per_g_step": 1, "figure1.lr_decay_d": False}
