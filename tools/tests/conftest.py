"""The package tests' fixtures, shared with the tooling's tests."""

from tests.conftest import repo_copy

__all__ = ["repo_copy"]
