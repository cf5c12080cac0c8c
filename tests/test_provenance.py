"""provenance: the commit, config, packages and device each result records."""


def test_a_stated_commit_wins_over_the_copys_git(monkeypatch):
    """A copy of the tree made elsewhere may carry another .git (or none): the records name the commit
    its maker states (GAN_STUDY_GIT_COMMIT)."""
    from gan_study.provenance import git_state

    stated = "b" * 40
    assert git_state()["git_commit"] != stated  # this checkout's own
    monkeypatch.setenv("GAN_STUDY_GIT_COMMIT", stated)
    monkeypatch.setenv("GAN_STUDY_GIT_DIRTY", "0")
    assert git_state() == {"git_commit": stated, "git_dirty": False}


def test_a_tree_is_dirty_by_its_code_not_by_the_study_results_it_writes(tmp_path):
    """A run that adds seeds to a committed study rewrites results/<study>/ while its later jobs start: those runs
    come from the committed code all the same. A changed source file makes the tree dirty."""
    import subprocess

    from gan_study.provenance import git_state

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results" / "study").mkdir(parents=True)
    (tmp_path / "results" / "study" / "runs.csv").write_text("seed\n0\n")
    (tmp_path / "train.py").write_text("lr = 0.1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "study")
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "results" / "study" / "runs.csv").write_text("seed\n0\n1\n")
    (tmp_path / "results" / "study" / "new.json").write_text("{}")
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "train.py").write_text("lr = 0.2\n")
    assert git_state(tmp_path)["git_dirty"] is True


def test_a_cpu_is_named_by_model_instruction_set_and_threads(monkeypatch):
    """Float rounding follows the instruction set torch dispatches to and the vendor's kernels (MKL takes other paths
    on AMD's AVX-512 than on Intel's): a CPU run's device names both, so two records say whether they can agree."""
    import torch

    from gan_study import provenance

    monkeypatch.setattr(provenance, "_cpu_model", lambda: "AMD EPYC")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # a training job of the CPU profiles
    assert provenance.device_name("cpu").endswith(f", {torch.backends.cpu.get_cpu_capability()}, 1 thread)")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    name = provenance.device_name("cpu")
    assert name.startswith("cpu (AMD EPYC, ") and name.endswith(
        f", {torch.backends.cpu.get_cpu_capability()}, 2 threads)")
    monkeypatch.setattr(provenance, "_cpu_model", lambda: None)  # no /proc/cpuinfo: the architecture alone
    assert provenance.device_name("cpu") == name.replace("AMD EPYC, ", "")
