"""gan-study: a reproducible replication of Goodfellow et al. (2014), "Generative Adversarial Nets"."""

__version__ = "0.2.0"  # as pyproject.toml and CITATION.cff (tests/test_readme.py checks all three)
