"""Scenarios are canonicalised on load: results never depend on the order of keys."""

from __future__ import annotations

import random

import pytest
from pandas.testing import assert_frame_equal

from model.engine.catalogue import canonicalise, get_path, set_path
from model.engine.scenario import Scenario, load_scenario_text, validate_scenario


def _permuted(value, rng: random.Random | None):
    """Every dict of ``value`` with its keys reversed (``rng`` None) or shuffled, recursively."""
    if isinstance(value, dict):
        keys = list(value)
        if rng is None:
            keys.reverse()
        else:
            rng.shuffle(keys)
        return {k: _permuted(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_permuted(v, rng) for v in value]
    return value


def _dict_orders(value, prefix=""):
    """``{path: [keys in order]}`` of every dict of a dumped scenario."""
    out = {}
    if isinstance(value, dict):
        out[prefix] = list(value)
        for k, v in value.items():
            out.update(_dict_orders(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def test_permuting_every_table_changes_nothing_in_a_run(baseline):
    from model.results.recording import run

    data = baseline.model_dump(mode="python")
    reversed_ = _permuted(data, None)
    # the permutation really reverses the tables that drive the run
    assert list(reversed_["funding"]["allocation"])[0] == "health"
    assert list(reversed_["social_security"]["dibao_standard"])[0] == 2020
    assert list(reversed_["population"]["counties"])[0] == "ruyuan"
    permuted = validate_scenario(reversed_)
    assert _dict_orders(permuted.model_dump(mode="python")) == _dict_orders(data)

    a = run(baseline, seed=1, population_scale=0.02)
    b = run(permuted, seed=1, population_scale=0.02)
    for table in ("annual", "monthly", "ledger"):
        assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_tables_load_in_the_canonical_order(baseline, seed):
    data = baseline.model_dump(mode="python")
    shuffled = validate_scenario(_permuted(data, random.Random(seed)))
    assert _dict_orders(shuffled.model_dump(mode="python")) == _dict_orders(data)
    assert shuffled == baseline


def test_canonical_order_of_tables_a_file_writes_in_any_order():
    text = (
        "[funding]\n"
        "allocation = { health = 0.1, finance = 0.0, employment = 0.5, education = 0.0, "
        "industry = 0.4 }\n"
        "tranches = { 9 = 0.5, 3 = 0.5 }\n"
        "[housing]\n"
        "renovations = { 2018 = 0.0, 2016 = 4541.0, 2017 = 3293.0 }\n"
    )
    s = load_scenario_text(text, "order.toml")
    # names in the schema's default order
    uses = ["industry", "employment", "finance", "education", "health"]
    assert list(s.funding.allocation) == uses
    assert list(s.funding.tranches) == [3, 9]
    assert list(s.housing.renovations) == [2016, 2017, 2018]


def test_names_outside_the_default_table_follow_it_alphabetically():
    s = Scenario()
    s.__dict__["ranges"] = {"funding.leakage_rate": (0.0, 0.1), "dynamics.job_finding_rate": (0, 1)}
    canonicalise(s)
    assert list(s.ranges) == ["dynamics.job_finding_rate", "funding.leakage_rate"]


def test_dotted_paths_get_and_set():
    s = Scenario()
    assert get_path(s, "health.premium.2017") == 180.0
    assert get_path(s, "funding.source_shares.paired_city") == 0.3
    with pytest.raises(KeyError):
        get_path(s, "health.no_such_key")
    data = s.model_dump(mode="python")
    set_path(data, "health.premium.2017", 200.0)
    set_path(data, "newtable.x", 1)
    assert data["health"]["premium"] == {2016: 150.0, 2017: 200.0, 2018: 220.0}
    assert data["newtable"] == {"x": 1}
