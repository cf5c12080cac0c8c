import pandas as pd
import pytest

from gan_study.config import load_config
from gan_study.outcome import assess_collapse, collapse_epoch, read_log, run_status
from tests.conftest import REPO

RULE = {"last_fraction": 0.1, "d_fake_below": 1e-3, "d_real_above": 0.999}


def log(d_real, d_fake, epochs=100):
    epoch = [e / 5 for e in range(1, epochs * 5 + 1)]
    return pd.DataFrame({"epoch": epoch, "d_real": [d_real(e) for e in epoch], "d_fake": [d_fake(e) for e in epoch]})


def test_a_late_collapse_is_flagged_with_when_it_began():
    verdict = assess_collapse(log(lambda e: 0.6 if e < 80 else 0.9999, lambda e: 0.4 if e < 80 else 1e-5), RULE)
    assert verdict["assessed"] and verdict["collapsed"]
    assert collapse_epoch(verdict) == 80 and collapse_epoch(verdict, "first_epoch") == 80
    assert run_status("completed", verdict) == "collapsed"


def test_healthy_and_recovering_logs_are_not_collapsed():
    healthy = assess_collapse(log(lambda e: 0.6, lambda e: 0.4), RULE)
    # Separated for a while in the middle, then training recovered: not a collapse.
    recovered = assess_collapse(log(lambda e: 0.9999 if 20 < e < 60 else 0.6,
                                    lambda e: 1e-5 if 20 < e < 60 else 0.4), RULE)
    # One healthy row inside the last 10% is enough to say the discriminator did not stay separated.
    flicker = assess_collapse(log(lambda e: 0.6 if e == 95 else 0.9999, lambda e: 0.4 if e == 95 else 1e-5), RULE)
    for verdict in (healthy, recovered, flicker):
        assert verdict["assessed"] and not verdict["collapsed"]
        assert run_status("completed", verdict) == "completed" and collapse_epoch(verdict) is None


def test_a_critic_log_or_an_empty_log_is_not_assessed_and_keeps_training_status():
    critic = pd.DataFrame({"epoch": [1.0, 2.0], "wasserstein": [0.1, 0.2]})
    for frame in (critic, pd.DataFrame()):
        verdict = assess_collapse(frame, RULE)
        assert not verdict["assessed"] and verdict["reason"]
        assert run_status("completed", verdict) == "completed"
    assert run_status("diverged", assess_collapse(pd.DataFrame(), RULE)) == "diverged"


@pytest.mark.parametrize("study, collapsed",
                         [("paper", [1]), ("cpu-failures", [6, 23]), ("cpu-noise", [4, 16, 18]), ("cpu-long", []),
                          ("cpu", []), ("cpu-cgan", []), ("cpu-cgan-no-dropout", [])])
def test_the_committed_studies_collapse_exactly_as_their_logs_say(study, collapsed):
    """results/paper's seed 1 collapsed (D(x) → 1, D(G(z)) → 0 from epoch ~7), results/cpu-failures' seeds 6 and 23
    and results/cpu-noise's seeds 4, 16 and 18 (eagerly on a CPU); no other committed seed did."""
    results = REPO / "results" / study
    rule = load_config(base=results / "config.json")["collapse"]
    found = []
    for path in sorted((results / "runs").glob("*/*/seed*/train_log.csv")):
        if assess_collapse(read_log(path), rule)["collapsed"]:
            found.append(int(path.parent.name.removeprefix("seed")))
    assert sorted(found) == collapsed
    assert sorted((results / "runs").glob("*/*/seed*/train_log.csv"))


def test_training_records_a_collapse_and_the_collapsed_run_is_still_scored(tmp_path, tiny_config):
    """A rule every log meets marks the run collapsed in train.json and final.pt; its samples are scored and keep
    the status, so every record says what the run was."""
    from gan_study import checkpoint
    from gan_study.evaluate import parzen
    from gan_study.sample import sample
    from gan_study.train import train

    tiny_config["collapse"].update(d_fake_below=0.99, d_real_above=0.01, last_fraction=1.0)
    d = tmp_path
    summary = train(tiny_config, "mlp_gan", "mnist", 0, d / "work", d / "final.pt", d / "log.csv", d / "train.json")
    assert summary["status"] == "collapsed" and summary["collapse"]["collapsed"]
    assert summary["collapse"]["rule"] == tiny_config["collapse"]
    assert checkpoint.load(d / "final.pt")["status"] == "collapsed"
    payload = sample(tiny_config, "mlp_gan", "mnist", 0, d / "final.pt", d / "samples.pt", d / "grid.png")
    assert payload["status"] == "collapsed" and "images" in payload
    record = parzen(tiny_config, "mlp_gan", "mnist", 0, d / "samples.pt", d / "parzen.json")
    assert record["status"] == "collapsed" and record["test_mean_ll"] == record["test_mean_ll"]  # scored, finite


def test_the_failure_rate_interval_is_wilson_s():
    from gan_study.outcome import failure_rate, wilson_interval

    # The 95% Wilson score interval, to four places.
    assert wilson_interval(1, 5) == pytest.approx((0.0362, 0.6245), abs=1e-4)
    assert wilson_interval(3, 20) == pytest.approx((0.0524, 0.3604), abs=1e-4)
    low, high = wilson_interval(0, 5)
    assert low == 0 and high == pytest.approx(0.4345, abs=1e-4)  # no failure seen is not a rate of zero
    rate = failure_rate({"runs": 5, "trained": 4})
    assert rate["failure_rate"] == 0.2 and rate["failure_low"] < 0.2 < rate["failure_high"]
