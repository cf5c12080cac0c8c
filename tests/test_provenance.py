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




def test_a_cpu_is_named_by_model_instruction_set_and_threads(monkeypatch):
    """Float rounding follows the instruction set torch dispatches to and the vendor's kernels (MKL takes other paths
    on AMD's AVX-512 than on Intel's): a CPU run's device names both, so two records say whether they can agree."""
    import torch

    from gan_study import provenance

    monkeypatch.setattr(provenance, "_cpu_model", lambda: "AMD EPYC")
    name = provenance.device_name("cpu")
    assert name.startswith("cpu (AMD EPYC, ") and name.endswith(
        f", {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads)")
    monkeypatch.setattr(provenance, "_cpu_model", lambda: None)  # no /proc/cpuinfo: the architecture alone
    assert provenance.device_name("cpu") == name.replace("AMD EPYC, ", "")
