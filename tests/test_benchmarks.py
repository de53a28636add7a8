"""The benchmark script's arithmetic (it prints figures; no test asserts a time)."""

import importlib.util

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_affine_cost_recovers_fixed_and_marginal_parts(bench):
    # 2 ms a month plus 150 ns per household-month, exactly
    rows = [
        {"workload": name, "households": n, "months": 60, "simulation_s": 60 * (2e-3 + 150e-9 * n)}
        for name, n in [("small", 16_000), ("W1", 172_000), ("W3", 1_616_000)]
    ]
    fit = bench.affine_cost(rows)
    assert fit["fixed_ms_per_month"] == pytest.approx(2.0, rel=1e-9)
    assert fit["marginal_ns_per_household_month"] == pytest.approx(150.0, rel=1e-9)
    # by hand: 2 ms of the 2 + 2.4 ms a month of the small run
    assert fit["fixed_share"]["small"] == pytest.approx(2.0 / 4.4, rel=1e-9)


def test_single_workload_reports_the_manifest_figures(bench):
    out = bench._single(ROOT / "scenarios" / "baseline.toml", 0.01, 1)
    assert out["months"] == 60
    assert out["households"] > 1_000
    per_hm = 1e9 * out["simulation_s"] / (out["households"] * out["months"])
    assert out["ns_per_household_month"] == pytest.approx(per_hm)
    assert out["peak_rss_mb"] >= out["rss_after_imports_mb"] > 0
