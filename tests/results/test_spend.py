"""Spend is aggregated once: by year and source or use, with leakage apart."""

from __future__ import annotations

import pandas as pd
import pytest

from model.results.outputs import LEAKED, across_replicates, ensemble_spend, spend_by_year

ROWS = [
    ("special", "province", "", "received", 2016, 6_000_000.0),
    ("special", "province", "employment", "spent", 2016, 3_000_000.0),
    ("special", "province", "industry", "spent", 2016, 1_000_000.0),
    ("special", "paired_city", "employment", "spent", 2016, 2_000_000.0),
    ("special", "paired_city", "employment", "leaked", 2016, 500_000.0),
    ("sector", "dibao", "social_security", "spent", 2017, 250_000.0),
    ("special", "province", "industry", "spent", 2017, 3_500_000.0),
    ("special", "province", "", "unspent", 2017, 1_000_000.0),
    ("special", "province", "industry", "leaked", 2018, 100_000.0),
]


def ledger() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["fund", "source", "use", "kind", "year", "amount"])


def test_by_source_counts_spent_money_by_fund_and_source():
    table = spend_by_year(ledger(), "source")
    assert list(table.index) == [2016, 2017]
    assert table.loc[2016, ("special", "province")] == 4_000_000
    assert table.loc[2016, ("special", "paired_city")] == 2_000_000
    assert table.loc[2017, ("sector", "dibao")] == 250_000
    assert table.loc[2016, ("sector", "dibao")] == 0
    assert table.to_numpy().sum() == 3e6 + 1e6 + 2e6 + 0.25e6 + 3.5e6


def test_by_use_follows_the_measures_order_and_leakage_is_apart():
    table = spend_by_year(ledger(), "use", leaked=True)
    # industry comes before employment in the monthly order of the measures
    assert list(table.columns) == ["industry", "employment", "social_security", LEAKED]
    assert list(table.index) == [2016, 2017, 2018]
    assert table[LEAKED].tolist() == [500_000, 0, 100_000]
    assert table.loc[2016, "employment"] == 5_000_000
    assert table.loc[2018].drop(LEAKED).sum() == 0
    by_source = spend_by_year(ledger(), "source", leaked=True)
    assert by_source[(LEAKED, "")].tolist() == [500_000, 0, 100_000]


def test_without_a_ledger_the_monthly_spend_columns_give_the_uses():
    monthly = pd.DataFrame(
        {
            "year": [2016, 2016, 2017],
            "month": [1, 2, 1],
            "spend_housing": [10.0, 20.0, 5.0],
            "spend_health": [1.0, 0.0, 2.0],
        }
    )
    table = spend_by_year(None, "use", monthly=monthly)
    assert table.to_dict("index") == {
        2016: {"housing": 30.0, "health": 1.0},
        2017: {"housing": 5.0, "health": 2.0},
    }
    assert spend_by_year(None, "source", monthly=monthly).empty
    with pytest.raises(ValueError, match="by: expected 'source' or 'use', found 'county'"):
        spend_by_year(ledger(), "county")


def test_a_run_spends_the_same_by_source_by_use_and_in_its_monthly_table(small_result):
    by_source = small_result.spend_by("source")
    by_use = small_result.spend_by("use")
    cols = [c for c in small_result.monthly.columns if c.startswith("spend_")]
    monthly = small_result.monthly.groupby("year")[cols].sum().sum(axis=1)
    assert by_source.sum(axis=1).to_numpy() == pytest.approx(monthly.to_numpy(), rel=1e-12)
    assert by_use.sum(axis=1).to_numpy() == pytest.approx(monthly.to_numpy(), rel=1e-12)
    assert by_use.sum().sum() == pytest.approx(small_result.outcomes()["total_spend"], rel=1e-12)


def test_ensemble_spend_is_the_mean_with_a_band_of_the_totals():
    rows = [
        (0, "special", "province", "employment", "spent", 2016, 100.0),
        (0, "special", "province", "employment", "leaked", 2016, 10.0),
        (1, "special", "province", "employment", "spent", 2016, 300.0),
        (1, "special", "province", "industry", "spent", 2017, 50.0),
        (2, "special", "province", "employment", "spent", 2016, 200.0),
    ]
    ledger = pd.DataFrame(
        rows, columns=["replicate", "fund", "source", "use", "kind", "year", "amount"]
    )
    by_source, by_use, band = ensemble_spend(ledger)
    # means over the 3 replicates, a replicate without a row counting as 0
    assert by_use.loc[2016, "employment"] == pytest.approx(200.0)
    assert by_use.loc[2016, LEAKED] == pytest.approx(10 / 3)
    assert by_use.loc[2017, "industry"] == pytest.approx(50 / 3)
    assert by_source.loc[2016, ("special", "province")] == pytest.approx(200.0)
    # totals per replicate in 2016: 110, 300, 200 -> 5% = 110 + 0.1 * 90; 95% = 200 + 0.9 * 100
    assert band.loc[2016, "low"] == pytest.approx(119.0)
    assert band.loc[2016, "high"] == pytest.approx(290.0)
    # 2017: 0, 50, 0 -> 5% = 0; 95% = 0.9 * 50 + ... (sorted 0, 0, 50: position 1.9)
    assert band.loc[2017, "low"] == 0.0
    assert band.loc[2017, "high"] == pytest.approx(45.0)


def test_across_replicates_gives_median_and_band():
    table = pd.DataFrame(
        {
            "replicate": list(range(5)) * 2,
            "county": ["a"] * 5 + ["b"] * 5,
            "people": [1, 2, 3, 4, 5, 10, 10, 10, 10, 50],
        }
    )
    out = across_replicates(table, ["county"], "people")
    assert out["county"].tolist() == ["a", "b"]
    assert out["median"].tolist() == [3, 10]
    # 5% of 1..5 at position 0.2: 1.2; 95% at 3.8: 4.8; county b's 95% at 3.8: 10 + 0.8 * 40
    assert out["low"].tolist() == pytest.approx([1.2, 10.0])
    assert out["high"].tolist() == pytest.approx([4.8, 42.0])
