"""gan-study: a reproducible replication of Goodfellow et al. (2014), "Generative Adversarial Nets"."""

__version__ = "0.1.0"
