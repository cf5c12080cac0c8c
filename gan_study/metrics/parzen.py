"""The paper's metric: the Parzen-window log-likelihood of the test set (`evaluate.parzen`), for the final weights
and per generator snapshot with the checkpoint chosen on validation images. Its tables (Table 1, all datasets) and
methods paragraph are the study's own (`aggregate`, `methods`)."""

from . import Metric, register

register(Metric(
    name="parzen", command="parzen", module="evaluate", section="parzen", order=0,
    help="Parzen-window log-likelihood of the test set (paper protocol)",
    inputs={"samples": "{work}/runs/{run}/samples.pt"},
))

register(Metric(
    name="parzen_curve", command="parzen-curve", module="evaluate", section="parzen", order=1, per_checkpoint=True,
    help="Parzen of every generator snapshot of a run; the checkpoint chosen on validation",
    inputs={"train": "{results}/runs/{run}/train.json", "parzen": "{results}/runs/{run}/parzen.json"},
    ancient_inputs=("train",),
))
