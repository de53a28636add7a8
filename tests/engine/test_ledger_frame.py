"""The ledger table built column by column equals the table built row by row."""

import numpy as np
import pandas as pd

from model.engine.funding import FEN, Ledger


def table_from_rows(led):
    """The ledger table the simple way: one tuple per row, names looked up one by one."""
    df = pd.DataFrame(
        led.rows,
        columns=["fund", "source", "use", "kind", "year", "month", "county", "amount_fen"],
    )
    df["county"] = [led.county_names[c] for c in df["county"]]
    df["amount"] = df.pop("amount_fen") / FEN
    return df


def test_frame_equals_the_row_by_row_table_of_a_run(baseline):
    from model.engine.simulation import PovertyModel

    m = PovertyModel(baseline, seed=2, population_scale=0.01)
    m.run_model()
    table = m.ledger.frame()
    assert len(table) > 500
    pd.testing.assert_frame_equal(table, table_from_rows(m.ledger), check_exact=True)


def test_frame_equals_the_row_by_row_table():
    led = Ledger(uses=["a", "b"], n_counties=3, county_names=["x", "y", "z"])
    led.receive("special", "province", 2016, 3, np.array([1000, 0, 2001]), {"a": 0.5, "b": 0.5})
    led.receive("village", "shaoguan_city", 2016, 1, np.array([0, 500, 0]), {"a": 1.0, "b": 0.0})
    led.spend("a", 2016, 4, np.array([800, 200, 7]), ("special", "village"), "roads")
    led.spend("b", 2017, 12, np.array([0, 0, 5000]), ("special",), None)
    led.close(2020, 12)
    got = led.frame()
    pd.testing.assert_frame_equal(got, table_from_rows(led), check_exact=True)
    # spot values computed by hand: 1,000 fen to county x, half earmarked to each use
    received = got[(got["kind"] == "received") & (got["fund"] == "special")]
    assert received["county"].tolist() == ["x", "z"]
    assert received["amount"].tolist() == [10.0, 20.01]
    sector = got[got["source"] == "roads"]
    assert sector["kind"].tolist() == ["received", "spent"]
    # county x wanted 800 fen for "a" and the special fund held 500 for it: roads paid 300
    assert sector["county"].tolist() == ["x", "x"]
    assert sector["amount"].tolist() == [3.0, 3.0]


def test_empty_ledger_frame_equals_the_row_by_row_table():
    led = Ledger(uses=["a"], n_counties=2, county_names=["x", "y"])
    pd.testing.assert_frame_equal(led.frame(), table_from_rows(led), check_exact=True)
