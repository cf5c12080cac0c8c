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


