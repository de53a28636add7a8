from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from model.engine.assessment import LABOUR_VILLAGE
from model.engine.households import Households

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"

#: ``python -m model`` with Ctrl-C's default handler, as at a terminal: a job that a
#: non-interactive shell starts in the background inherits SIGINT ignored, and Python keeps that
CLI = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('model', run_name='__main__', alter_sys=True)",
]


def make_households(n: int = 3, **values) -> Households:
    """Hand-built households: every attribute neutral unless given."""
    base = dict(
        county=np.zeros(n, np.int8),
        village=np.full(n, -1, np.int16),
        group=np.full(n, LABOUR_VILLAGE, np.int8),
        registered=np.ones(n, bool),
        size=np.full(n, 2, np.int16),
        workers=np.ones(n, np.int8),
        school_children=np.zeros(n, np.int8),
        elderly=np.zeros(n, np.int8),
        disabled=np.zeros(n, bool),
        chronic=np.zeros(n, bool),
        skill=np.full(n, 0.5, np.float32),
        housing_safe=np.ones(n, bool),
        children_in_school=np.ones(n, bool),
        insured=np.ones(n, bool),
        jobs=np.zeros(n, np.int8),
        job_wage=np.zeros(n),
        business_annual=np.zeros(n),
        property_annual=np.zeros(n),
        transfer_annual=np.zeros(n),
        farm_shock=np.ones(n),
        ill_months=np.zeros(n, np.int8),
        dibao_class=np.zeros(n, np.int8),
        wubao=np.zeros(n, bool),
        social_excluded=np.zeros(n, bool),
        status=np.zeros(n, np.int8),
        exit_year=np.zeros(n, np.int16),
    )
    for key, value in values.items():
        base[key] = np.asarray(value, dtype=base[key].dtype)
    return Households(**base)


@pytest.fixture(scope="session")
def baseline():
    from model.engine.scenario import load_scenario

    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small_result(baseline):
    from model.results.recording import run

    return run(baseline, seed=1, population_scale=0.05)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the end-to-end cases marked ``slow`` first.

    ``make test`` spreads the suite over two processes (pytest-xdist); a long case started last
    would leave one process idle while the other finishes it. The order is otherwise kept.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
