"""Large committed files set aside while the working tree travels to a remote machine, and put back afterwards.

The working tree a remote call sends is limited in size, and published generator weights are large (10 MB per MLP
GAN generator). `set-aside` moves each tracked file over a size under results/*/weights/ to a folder outside the
checkout and leaves a symbolic link in its place: here everything still reads it through the link, a link travels as
a link, and git is told to ignore the change (skip-worktree), so no commit can record the link instead of the file.
`put-back` undoes it, checking each file against the blob git holds for it.
"""

import shutil
import subprocess
from pathlib import Path

from gan_study.errors import GanStudyError

PATTERN = "results/*/weights/*"


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def _tracked(repo, pattern=PATTERN):
    return [name for name in _git(repo, "ls-files", "-z", "--", pattern).split("\0") if name]


def aside_folder(repo, to=None):
    """Where `set_aside` moves the files of `repo`: `to`, by default <repo>/../<repo name>-aside."""
    repo = Path(repo).resolve()
    return Path(to).resolve() if to else repo.parent / f"{repo.name}-aside"


def still_in_place(repo=".", min_bytes=2**20):
    """The relative paths `set_aside` would move now: tracked weight files of ≥ min_bytes that are not links yet."""
    repo = Path(repo).resolve()
    return [name for name in _tracked(repo) if not (repo / name).is_symlink() and (repo / name).is_file()
            and (repo / name).stat().st_size >= min_bytes]


def set_aside(repo=".", to=None, min_bytes=2**20):
    """Move the large tracked weight files of `repo` to `to` (default: <repo>/../<repo name>-aside) and link them;
    returns the relative paths set aside."""
    repo, to = Path(repo).resolve(), aside_folder(repo, to)
    if to == repo or repo in to.parents:
        raise GanStudyError(f"set-aside --to {to}: the folder must lie outside the checkout, or it travels too")
    moved = []
    for name in still_in_place(repo, min_bytes):
        path = repo / name
        target = to / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        path.symlink_to(target)
        _git(repo, "update-index", "--skip-worktree", "--", name)
        moved.append(name)
    return moved


def put_back(repo="."):
    """Replace each link `set_aside` left by its file, checked against git's blob; returns the paths put back."""
    repo = Path(repo).resolve()
    restored = []
    for name in _tracked(repo):
        path = repo / name
        if not path.is_symlink():
            continue
        source = path.resolve()
        if not source.is_file():
            raise GanStudyError(f"{name} links to {source}, which is missing; restore it with "
                                f"`git update-index --no-skip-worktree {name} && git checkout -- {name}`")
        blob = _git(repo, "ls-files", "-s", "--", name).split()[1]
        if _git(repo, "hash-object", str(source)).strip() != blob:
            raise GanStudyError(f"{source} is not the file git holds for {name}; put it back by hand")
        path.unlink()
        shutil.move(source, path)
        _git(repo, "update-index", "--no-skip-worktree", "--", name)
        restored.append(name)
    return restored
