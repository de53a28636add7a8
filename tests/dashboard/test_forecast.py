"""The page's first screen: the cached forecast, the lever sliders, the difference column."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from model.dashboard import DashboardRun, lever_range, run_small_ensemble, slider_bounds
from model.dashboard.forecast import (
    _MEMORY,
    cache_folder,
    cached_forecast,
    difference_rows,
    forecast_key,
    run_differences,
)
from model.engine.scenario import apply_overrides, load_scenario
from model.experiments.ensemble import EnsembleResult

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.toml")


class CountingBuild:
    """A stand-in for the ensemble runner that counts its builds (one tiny real ensemble)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, scenario, **kwargs):
        self.calls += 1
        return run_small_ensemble(scenario, **kwargs)


SMALL = {"replicates": 2, "population_scale": 0.01, "seed": 3}


def test_forecast_is_built_once_and_read_back(baseline, tmp_path):
    build = CountingBuild()
    seen = []
    first = cached_forecast(
        baseline, tmp_path, on_progress=lambda d, n: seen.append(d), build=build, **SMALL
    )
    assert build.calls == 1
    assert seen == [0, 1, 2]
    folders = list(tmp_path.glob("forecast-*"))
    assert len(folders) == 1 and (folders[0] / "manifest.json").is_file()
    assert list(tmp_path.glob(".forecast-*")) == []  # no half-written folder left
    # a second start: the process's memory is empty, the disk holds the forecast
    _MEMORY.clear()
    again = cached_forecast(baseline, tmp_path, build=build, **SMALL)
    assert build.calls == 1
    pd.testing.assert_frame_equal(
        again.ensemble.probabilities, first.ensemble.probabilities, check_dtype=False
    )
    pd.testing.assert_frame_equal(again.ensemble.quantiles, first.ensemble.quantiles)
    assert again.ensemble.manifest["seed"] == 3
    assert again.ensemble.manifest["replicates"] == 2
    assert again.ensemble.probability_source().endswith("seeds only")
    assert again.ledger["amount"].sum() == pytest.approx(first.ledger["amount"].sum())
    assert "x2, scale 0.01, seed 3, fixed parameters" in again.label


def test_forecast_is_rebuilt_when_the_scenario_or_the_version_changes(baseline, tmp_path):
    build = CountingBuild()
    cached_forecast(baseline, tmp_path, build=build, version="1.0", **SMALL)
    cached_forecast(baseline, tmp_path, build=build, version="1.0", **SMALL)
    assert build.calls == 1
    cached_forecast(baseline, tmp_path, build=build, version="1.1", **SMALL)
    assert build.calls == 2
    changed = apply_overrides(
        baseline, {"employment.training_places": {2016: 6000.0, 2017: 9000.0, 2018: 6000.0}}
    )
    cached_forecast(changed, tmp_path, build=build, version="1.1", **SMALL)
    assert build.calls == 3
    assert len(list(tmp_path.glob("forecast-*"))) == 3


def test_key_follows_the_scenario_content_not_its_header(baseline):
    same = apply_overrides(baseline, {})
    assert forecast_key(same, "1") == forecast_key(baseline, "1")
    assert forecast_key(baseline, "1") != forecast_key(baseline, "2")
    assert forecast_key(baseline, "1", replicates=10) != forecast_key(baseline, "1", replicates=9)
    changed = apply_overrides(
        baseline, {"social_security.dibao_standard": {2016: 3960.0, 2017: 4440.0, 2018: 5000.0}}
    )
    assert forecast_key(changed, "1") != forecast_key(baseline, "1")


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SHAOGUAN_ABM_CACHE", str(tmp_path / "here"))
    assert cache_folder() == tmp_path / "here"
    monkeypatch.delenv("SHAOGUAN_ABM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "shaoguan-abm"


def _run(p: dict, exits: dict, scale: float = 0.05) -> DashboardRun:
    """A run with a hand-written probability table and median cumulative exits."""
    probabilities = pd.DataFrame(
        {"year": list(p), "probability_met": list(p.values())}, dtype=object
    )
    quantiles = pd.DataFrame(
        {
            "metric": "cumulative_exited_people",
            "year": list(exits),
            "q50": list(exits.values()),
        }
    )
    empty = pd.DataFrame()
    ensemble = EnsembleResult(
        empty, empty, probabilities, quantiles, empty, {"population_scale": scale}
    )
    return DashboardRun(ensemble, empty, scenario=None)


def test_differences_by_hand():
    latest = _run(
        {2016: 1.0, 2017: 0.4, 2018: 0.1, "all": 0.1}, {2016: 1600, 2017: 3100, 2018: 4000}
    )
    pinned = _run(
        {2016: 1.0, 2017: 0.7, 2018: 0.0, "all": 0.0}, {2016: 1550, 2017: 3300, 2018: 3900}
    )
    d = run_differences(latest, pinned)
    assert list(d["year"]) == ["2016", "2017", "2018", "all"]
    # 1600-1550, 3100-3300, 4000-3900; points: 100 x (1-1, 0.4-0.7, 0.1-0, 0.1-0)
    assert list(d["exits_difference"][:3]) == [50.0, -200.0, 100.0]
    assert math.isnan(d["exits_difference"].iloc[3])
    assert list(d["points_difference"]) == pytest.approx([0.0, -30.0, 10.0, 10.0])
    rows = difference_rows(latest, pinned)
    assert rows[1] == {"year": "2017", "exits (median)": "-200", "P(met), points": "-30"}
    assert rows[3] == {"year": "all targets", "exits (median)": "", "P(met), points": "+10"}


def test_levers_with_a_catalogue_range_get_slider_bounds(baseline):
    # ranges stated by the parameters' sources (employment.py, social_security.py, funding.py)
    assert lever_range(baseline, "employment.training_places") == (3000.0, 9000.0)
    assert lever_range(baseline, "social_security.dibao_standard") == (3350.0, 5650.0)
    assert lever_range(baseline, "funding.allocation") == (0.05, 0.5)
    assert lever_range(baseline, "funding.source_shares") is None
    assert slider_bounds(baseline, "funding.source_shares", 0.6) is None
    assert slider_bounds(baseline, "employment.public_posts", "3000") == (1000.0, 5000.0)
    # a typed value beyond the range widens the slider to hold it
    assert slider_bounds(baseline, "employment.public_posts", "7000") == (1000.0, 7000.0)
    assert slider_bounds(baseline, "employment.public_posts", "many") == (1000.0, 5000.0)
