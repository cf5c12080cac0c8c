"""Development tooling for gan-study (not part of the package users install)."""
