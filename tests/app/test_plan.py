"""``plan_dataset`` (hocert/_plan.py, ``hocert certify --plan``): pilots on the first inputs
predict the radii of several ``n``."""

from __future__ import annotations

from hocert.examples import load_example
from hocert.runner import plan_dataset

from .test_certify_dataset import _scores


def test_plan_dataset_predicts_per_candidate():
    _, x, y = load_example()
    plan = plan_dataset(
        _scores(), x, y, sigma=0.25, n0=1000, candidates=(1000, 10_000), max_inputs=2
    )
    assert plan.indices == (0, 1)
    assert len(plan.plans) == 2
    assert plan.median(1000, "radius_cohen") <= plan.median(10_000, "radius_cohen")
    assert "l1/cohen" in plan.table()
