import pytest

from gan_study.config import load_config
from gan_study.methods import methods_text


@pytest.mark.parametrize("seeds, every, says", [
    ([0], 1, ("1 seed per model and dataset: 0.", "A generator snapshot is kept every epoch and")),
    ([0, 1, 2, 3, 4], 10, ("5 seeds per model and dataset: 0, 1, 2, 3, 4.",
                           "A generator snapshot is kept every 10 epochs and")),
])
def test_the_methods_count_seeds_and_snapshot_epochs_in_words(seeds, every, says):
    config = load_config()
    config["seeds"], config["snapshots"]["every_n_epochs"] = seeds, every
    text = methods_text(config)
    assert all(phrase in text for phrase in says) and "(s)" not in text
