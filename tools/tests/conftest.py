"""The package tests' fixtures, shared with the tooling's tests."""

from tests.conftest import committed, mnist_dir, repo_copy, tiny_config

__all__ = ["committed", "mnist_dir", "repo_copy", "tiny_config"]
