"""The samples a metric scores: a conditional model's FID on fewer images than were drawn covers every class."""

import torch

from gan_study.config import load_config
from gan_study.models import get_variant
from gan_study.sample import scored_subset


def _labels(n):
    return get_variant("cgan", load_config()["models"]["cgan"]).sample_labels(n, "cpu")


def test_fewer_conditional_samples_than_were_drawn_take_every_class_in_the_counts_of_a_fresh_draw():
    labels = _labels(10_000)
    images = torch.arange(10_000, dtype=torch.float32)[:, None]
    assert set(labels[:2048].tolist()) == {0, 1, 2}  # the first 2,048 alone: what the subset must not be
    chosen = scored_subset(images, labels, 2048)[:, 0].long()
    per_class = torch.bincount(labels[chosen], minlength=10)
    assert torch.equal(per_class, torch.bincount(_labels(2048), minlength=10))  # 204 or 205 of each class
    assert torch.equal(chosen[:205], torch.arange(205))  # the first of each class, classes in block order
    assert torch.equal(chosen[-204:], torch.arange(9000, 9204))


def test_all_the_samples_or_unlabelled_ones_are_the_first_k_unchanged():
    images = torch.rand(1000, 1, 4, 4)
    assert torch.equal(scored_subset(images, _labels(1000), 1000), images)  # Parzen on all of them: bitwise as before
    assert torch.equal(scored_subset(images, None, 300), images[:300])
