"""Committed weights set aside while the tree travels: links in their place, git blind to them, put back checked."""

import os
import subprocess

import pytest

from gan_study.errors import GanStudyError
from tools.remote_gpu import core
from tools.remote_gpu.aside import put_back, set_aside


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "checkout"
    (repo / "results" / "s" / "weights").mkdir(parents=True)
    (repo / "results" / "s" / "weights" / "g.pt").write_bytes(os.urandom(3 * 2**20))
    (repo / "results" / "s" / "weights" / "weights.json").write_text("{}\n")
    (repo / "results" / "s" / "table.csv").write_bytes(os.urandom(2 * 2**20))
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results")
    return repo


def test_set_aside_weights_travel_as_links_and_come_back_whole(repo, tmp_path):
    weights = repo / "results" / "s" / "weights" / "g.pt"
    content = weights.read_bytes()
    before, foreseen = core.travelling_tree_bytes(repo, as_set_aside=False), core.travelling_tree_bytes(repo)
    assert set_aside(repo) == ["results/s/weights/g.pt"]  # the manifest is small, the table is no weight file
    assert weights.is_symlink() and weights.read_bytes() == content  # still readable here
    assert (tmp_path / "checkout-aside" / "results" / "s" / "weights" / "g.pt").is_file()
    assert before - core.travelling_tree_bytes(repo, as_set_aside=False) > 3 * 2**20 - 1000
    assert core.travelling_tree_bytes(repo, as_set_aside=False) == foreseen  # bundles were sized for this tree
    assert _git(repo, "status", "--porcelain") == ""  # no commit can take the link for the file
    assert put_back(repo) == ["results/s/weights/g.pt"]
    assert not weights.is_symlink() and weights.read_bytes() == content
    assert _git(repo, "status", "--porcelain") == ""
    assert core.travelling_tree_bytes(repo, as_set_aside=False) == before


def test_put_back_refuses_a_file_that_is_not_gits(repo, tmp_path):
    set_aside(repo)
    (tmp_path / "checkout-aside" / "results" / "s" / "weights" / "g.pt").write_bytes(b"other")
    with pytest.raises(GanStudyError, match="is not the file git holds"):
        put_back(repo)


def test_the_aside_folder_must_lie_outside_the_checkout(repo):
    with pytest.raises(GanStudyError, match="outside the checkout"):
        set_aside(repo, to=repo / "aside")
