"""Scenario discovery with PRIM: known boxes are recovered, folders are read and refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model.experiments.discovery import DiscoveryError, discover, prim_boxes

DRAWN = ["a.x1", "a.x2", "a.x3"]


def synthetic(n: int = 1000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Uniform draws; cases of interest exactly where x1 > 0.7 and x2 < 0.3."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 3)), columns=DRAWN)
    y = (x["a.x1"] > 0.7).to_numpy() & (x["a.x2"] < 0.3).to_numpy()
    return x, y


def ensemble_folder(tmp_path, parameters: str = "prior", n: int = 600):
    x, y = synthetic(n)
    outcomes = pd.DataFrame({"replicate": np.arange(n), "seed": np.arange(n) + 10})
    outcomes["cumulative_exited_people_2017"] = 1000 * y + 10 * x["a.x3"].to_numpy()
    outcomes["target_met_2017"] = y
    outcomes["target_met_2016"] = True
    outcomes["draw"] = np.arange(n)
    outcomes = pd.concat([outcomes, x], axis=1)
    folder = tmp_path / "ens"
    folder.mkdir()
    outcomes.to_parquet(folder / "outcomes.parquet")
    manifest = {
        "kind": "ensemble",
        "schema_version": 1,
        "scenario_name": "synthetic",
        "parameters": parameters,
        "drawn_parameters": DRAWN if parameters != "fixed" else [],
        "population_scale": 0.01,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, x, y


def test_prim_recovers_a_known_box():
    x, y = synthetic()
    boxes, trajectory = prim_boxes(x, y, min_mass=0.05)
    first = boxes[boxes["box"] == 1].set_index("uncertainty")
    assert set(first.index) == {"a.x1", "a.x2"}  # x3 is irrelevant and left free
    assert first.loc["a.x1", "lower"] == pytest.approx(0.7, abs=0.03)
    assert first.loc["a.x2", "upper"] == pytest.approx(0.3, abs=0.03)
    # coverage, density and mass recomputed from the limits
    inside = (
        (x["a.x1"] >= first.loc["a.x1", "lower"])
        & (x["a.x1"] <= first.loc["a.x1", "upper"])
        & (x["a.x2"] >= first.loc["a.x2", "lower"])
        & (x["a.x2"] <= first.loc["a.x2", "upper"])
    ).to_numpy()
    assert first["mass"].iloc[0] == pytest.approx(inside.mean())
    assert first["density"].iloc[0] == pytest.approx(y[inside].mean())
    assert first["coverage"].iloc[0] == pytest.approx(y[inside].sum() / y.sum())
    assert first["coverage"].iloc[0] > 0.85 and first["density"].iloc[0] > 0.9
    selected = trajectory[trajectory["selected"] & (trajectory["box"] == 1)]
    assert len(selected) == 1
    assert selected["coverage"].iloc[0] == pytest.approx(first["coverage"].iloc[0])
    # the trajectory starts from the whole sample: coverage 1, density the base rate
    start = trajectory[(trajectory["box"] == 1) & (trajectory["step"] == 0)].iloc[0]
    assert start["coverage"] == 1 and start["density"] == pytest.approx(y.mean())


def test_no_box_when_the_density_cannot_be_reached():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((400, 2)), columns=["p", "q"])
    y = rng.random(400) < 0.1  # cases of interest anywhere: no dense region
    boxes, _ = prim_boxes(x, y, min_density=0.9, min_mass=0.2)
    assert boxes.empty


def test_discover_reads_an_ensemble_and_writes_its_files(tmp_path):
    folder, _, y = ensemble_folder(tmp_path)
    result = discover(folder, target_met=2017)
    assert result.summary["cases_of_interest"] == int(y.sum())
    assert result.summary["parameters"] == "prior"
    by_name = result.boxes[result.boxes["box"] == 1].set_index("uncertainty")
    assert by_name.loc["a.x1", "lower"] == pytest.approx(0.7, abs=0.05)
    written = pd.read_csv(folder / "discovery.csv")
    assert list(written["uncertainty"]) == list(result.boxes["uncertainty"])
    for name in ("discovery_trajectory.csv", "discovery.png", "discovery.json"):
        assert (folder / name).is_file()
    # the same box from the numeric outcome and a threshold
    numeric = discover(folder, outcome="cumulative_exited_people_2017", threshold=500, write=False)
    pd.testing.assert_frame_equal(numeric.boxes, result.boxes)
    # below: the complement is the condition
    below = discover(
        folder, outcome="cumulative_exited_people_2017", threshold=500, below=True, write=False
    )
    assert below.summary["cases_of_interest"] == len(y) - int(y.sum())


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"outcome": "exits"}, "--outcome exits: expected an outcome of the ensemble"),
        ({"target_met": 2030}, "--target-met 2030: expected a year with a target"),
        ({"target_met": 2016}, "found every one of the 600 replicates meets it"),
        (
            {"outcome": "cumulative_exited_people_2017", "threshold": 5000},
            "found no replicate meets it",
        ),
        ({"outcome": "cumulative_exited_people_2017"}, "expected --threshold X"),
        ({"min_mass": 1.5}, "--min-mass: expected a number in (0, 1)"),
    ],
)
def test_refusals_write_nothing(tmp_path, kwargs, fragment):
    folder, _, _ = ensemble_folder(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(DiscoveryError) as err:
        discover(folder, **kwargs)
    assert fragment in str(err.value)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_fixed_parameters_have_nothing_to_discover(tmp_path):
    folder, _, _ = ensemble_folder(tmp_path, parameters="fixed")
    with pytest.raises(DiscoveryError, match="nothing to discover"):
        discover(folder)
