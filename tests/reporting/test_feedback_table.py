"""The feedback table: reported against income-verified exits, targets and the register."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from model.experiments.ensemble import EnsembleResult
from model.reporting.figures import feedback_table

TARGETS = {2016: 300, 2017: 650}


def _ensemble(verification: bool = True, register: bool = True) -> EnsembleResult:
    """Three replicates over 2016-2018, numbers chosen by hand."""
    rows = []
    # replicate: (reported, counted, verified, registered, added, removed) per year
    values = {
        0: [
            (400, 310, 290, 1000, 50, 20),
            (380, 640, 600, 1030, 40, 10),
            (200, 800, 760, 1060, 30, 0),
        ],
        1: [
            (350, 280, 270, 1010, 60, 10),
            (420, 660, 655, 1050, 30, 5),
            (210, 820, 800, 1070, 20, 1),
        ],
        2: [
            (500, 305, 301, 990, 40, 30),
            (300, 700, 640, 1020, 35, 5),
            (190, 790, 700, 1040, 10, 2),
        ],
    }
    for r, years in values.items():
        for year, (rep, counted, verified, reg, add, rem) in zip(
            (2016, 2017, 2018), years, strict=True
        ):
            target = TARGETS.get(year)
            row = {
                "replicate": r,
                "seed": r,
                "year": year,
                "cumulative_exited_people": counted,
                "target_cumulative_people": float("nan") if target is None else target,
                "target_met": target is not None and counted >= target,
            }
            if verification:
                row["reported_exited_people"] = rep
                row["income_verified_exited_people"] = verified
                row["income_verified_target_met"] = target is not None and verified >= target
            if register:
                row.update(registered_people=reg, added_people=add, removed_people=rem)
            rows.append(row)
    annual = pd.DataFrame(rows)
    outcomes = pd.DataFrame({"replicate": [0, 1, 2], "seed": [0, 1, 2]})
    return EnsembleResult.from_runs(annual, outcomes, sorted(TARGETS), {"replicates": 3})


def test_medians_targets_and_both_probabilities():
    e = _ensemble()
    table = feedback_table(e.quantiles, e.probabilities)
    assert list(table["year"]) == [2016, 2017, 2018]
    assert table["target_cumulative_people"].iloc[:2].tolist() == [300, 650]
    assert math.isnan(table["target_cumulative_people"].iloc[2])
    # medians of three replicates, by hand
    assert table["reported_exited_people"].tolist() == [400, 380, 200]
    assert table["cumulative_exited_people"].tolist() == [305, 660, 800]
    assert table["income_verified_exited_people"].tolist() == [290, 640, 760]
    assert table["registered_people"].tolist() == [1000, 1030, 1060]
    assert table["added_people"].tolist() == [50, 35, 20]
    assert table["removed_people"].tolist() == [20, 5, 1]
    # on paper: 2016 met by replicates 0 and 2 (310, 305 >= 300), 2017 by 1 and 2 (660, 700)
    assert table["probability_met"].iloc[:2].tolist() == pytest.approx([2 / 3, 2 / 3])
    # in income: 2016 met only by replicate 2 (301), 2017 by replicate 1 (655)
    assert table["probability_met_in_income"].iloc[:2].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert math.isnan(table["probability_met"].iloc[2])


def test_register_alone_has_no_exit_columns():
    e = _ensemble(verification=False)
    table = feedback_table(e.quantiles, e.probabilities)
    assert list(table.columns) == [
        "year",
        "target_cumulative_people",
        "registered_people",
        "added_people",
        "removed_people",
    ]


def test_nothing_without_the_mechanisms():
    e = _ensemble(verification=False, register=False)
    assert feedback_table(e.quantiles, e.probabilities).empty
