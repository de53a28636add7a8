"""The contract every registered measure keeps, checked over the whole registry.

Each test is parametrised over :data:`model.engine.interventions.MEASURES`, so a measure added to
the registry is checked without editing this file: switched off it costs nothing and serves no
one; it never spends more than its pots hold nor starts more than its capacity; it spends only
when it serves someone (nothing at all when there is nobody to serve); it writes only the
household arrays it declares; every shipped counterfactual scenario treats it explicitly; it
has a test file of its own.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from model.engine.assessment import NON_POOR
from model.engine.households import INCOME_COMPONENTS, Households
from model.engine.interventions import MEASURES, SharedOutputs, running
from model.engine.interventions.base import Measure, RegistrationError, check_declarations
from model.engine.scenario import apply_overrides, load_scenario, shipped_scenarios
from model.engine.simulation import PovertyModel
from tests.conftest import ROOT, SCENARIOS, make_households
from tests.fakes import FakeModel

NAMES = [m.name for m in MEASURES]
BY_NAME = {m.name: m for m in MEASURES}
SCALE = 0.01
#: The household arrays that hold this month's income flows, by income component.
FLOWS = {f"{c}_m": c for c in INCOME_COMPONENTS}


def _short(baseline):
    """The baseline over 2016-2018 (the plan's years)."""
    return apply_overrides(baseline, {"calendar.end_year": 2018})


# ---------------------------------------------------------------------------------------------
# one instrumented run of the baseline, shared by the tests below


class _Watch:
    """What one measure did in a run, month by month."""

    def __init__(self) -> None:
        self.written: set[str] = set()  # household arrays it changed
        self.spend: list[float] = []  # yuan, per month
        self.served: list[int] = []  # households in its enrolled mask at the end of the month
        self.over_capacity: list[str] = []
        self.over_pot: list[str] = []
        self.among: list[tuple[int, int]] = []  # (households asked, served) each check
        self.among_wrong: list[str] = []  # months its mask of some households was not the mask


def _wrap(measure: Measure, watch: _Watch, method: str) -> None:
    """Record which household arrays ``measure.<method>`` changes."""
    original = getattr(measure, method)

    def wrapped(model: PovertyModel) -> None:
        before = model.households.copy()
        original(model)
        for f in fields(Households):
            if not np.array_equal(getattr(before, f.name), getattr(model.households, f.name)):
                watch.written.add(f.name)

    setattr(measure, method, wrapped)


def _earmarked_fen(model: PovertyModel, use: str, fund: str) -> int:
    """Fen the ledger received into ``fund`` for ``use`` so far, from the allocation shares.

    Computed from the received totals and the scenario's shares (not from the pots): each
    tranche is split by county and then by use with largest remainders, so the true earmark
    may exceed the proportional share by at most one fen per county and receipt.
    """
    shares = (
        model.scenario.funding.allocation
        if fund == "special"
        else model.scenario.funding.village_allocation
    )
    received = kept = 0
    receipts = 0
    for f, _source, u, kind, _y, _m, counties, amounts in model.ledger.blocks:
        if f != fund:
            continue
        if kind == "received":
            received += sum(amounts)
            receipts += len(counties)
        elif kind == "leaked" and u == use:
            kept -= sum(amounts)
    return int(received * shares.get(use, 0.0)) + kept + receipts


def _spent_fen(model: PovertyModel, use: str, fund: str) -> int:
    return sum(
        sum(amounts)
        for f, _s, u, kind, _y, _m, _c, amounts in model.ledger.blocks
        if f == fund and u == use and kind == "spent"
    )


@pytest.fixture(scope="module")
def watched(baseline):
    """The baseline at 2% over 2016-2020 with every measure watched; ``{name: _Watch}``.

    (At 2% every measure has a place to give: 70 villages' works a year make one.)
    """
    model = PovertyModel(baseline, seed=5, population_scale=2 * SCALE)
    watches = {m.name: _Watch() for m in model.measures}
    rng = np.random.default_rng(6)
    for measure in model.measures:
        for method in ("enrol", "apply", "respond"):
            _wrap(measure, watches[measure.name], method)
    while model.running:
        model.step()
        for measure in model.measures:
            w = watches[measure.name]
            w.spend.append(model.spend_this_month[measure.name])
            mask = measure.enrolled_mask(model)
            w.served.append(int(mask.sum()))
            if model.month % 6 == 0:  # the mask of some households: the whole mask's entries
                hh = model.households
                for among in (np.flatnonzero(hh.registered), rng.integers(0, hh.n, 50)):
                    got = measure.enrolled_mask(model, among)
                    w.among.append((among.size, int(got.sum())))
                    if not np.array_equal(got, mask[among]):
                        w.among_wrong.append(f"{model.year}-{model.month}: {among.size} asked")
            for counter, (year, capacity) in measure.capacities.items():
                started = measure.started_this_year(model, counter)
                if year == model.year and started > np.floor(capacity + 1e-9):
                    w.over_capacity.append(f"{model.year}-{model.month}: {counter} {started}")
            for fund in measure.funds:
                spent = _spent_fen(model, measure.name, fund)
                allowed = _earmarked_fen(model, measure.name, fund)
                if spent > allowed:
                    w.over_pot.append(f"{model.year}-{model.month}: {fund} {spent} > {allowed}")
    return watches


# ---------------------------------------------------------------------------------------------
# the contract


@pytest.mark.parametrize("name", NAMES)
def test_switched_off_it_costs_nothing_serves_no_one_and_equals_enabled_false(baseline, name):
    off = apply_overrides(_short(baseline), {"measures.off": [name]})
    assert BY_NAME[name] not in running(off)
    a = PovertyModel(off, seed=7, population_scale=SCALE)
    assert name not in [m.name for m in a.measures]
    a.run_model()
    spent = [b for b in a.ledger.blocks if b[2] == name and b[3] == "spent"]
    assert spent == []
    # the same as switching it off in its own table (older files)
    b = PovertyModel(
        apply_overrides(_short(baseline), {f"{name}.enabled": False}),
        seed=7,
        population_scale=SCALE,
    )
    b.run_model()
    assert a.ledger.blocks == b.ledger.blocks
    assert np.array_equal(a.households.status, b.households.status)
    assert np.array_equal(a.households.income_history, b.households.income_history)


@pytest.mark.parametrize("name", NAMES)
def test_it_never_spends_beyond_its_pots_or_starts_beyond_its_capacity(watched, name):
    w = watched[name]
    assert w.over_pot == []
    assert w.over_capacity == []
    assert all(s >= 0 for s in w.spend)


@pytest.mark.parametrize("name", NAMES)
def test_its_mask_of_some_households_is_the_masks_entries(watched, name):
    """``enrolled_mask(model, among)`` (what the record asks) is ``enrolled_mask(model)[among]``."""
    w = watched[name]
    assert not w.among_wrong
    assert len(w.among) == 20 and any(served for _, served in w.among)


@pytest.mark.parametrize("name", NAMES)
def test_it_spends_only_in_months_it_serves_someone(watched, name):
    w = watched[name]
    assert sum(w.spend) > 0, f"{name} spent nothing in the baseline"
    assert max(w.served) > 0, f"{name} served no one in the baseline"
    idle = [i for i, (s, n) in enumerate(zip(w.spend, w.served, strict=True)) if s > 0 and n == 0]
    assert idle == []


@pytest.mark.parametrize("name", NAMES)
def test_with_nobody_to_serve_it_serves_no_one_spends_nothing_and_touches_nothing(name):
    # 40 households not on the register, no poor village: nobody any measure is for
    n = 40
    hh = make_households(n, group=[NON_POOR] * n, registered=[False] * n, workers=[2] * n)
    hh.income_history[:] = 500.0
    m = FakeModel(hh, year=2016, month=1)
    cls = BY_NAME[name]
    for fund in cls.funds:
        m.fund(name, 10_000_000, fund=fund)
    # the teachers' allowance is paid to teachers, not to households: leave it out here
    params = cls.Params(**({"mountain_teachers": 0.0} if name == "education" else {}))
    measure = cls(params, m)
    before = hh.copy()
    spend = 0.0
    for month_index in range(24):
        m.year, m.month, m.month_index = 2016 + month_index // 12, month_index % 12 + 1, month_index
        measure.month_spend = 0.0
        measure.enrol(m)
        measure.apply(m)
        measure.respond(m)
        spend += measure.cost(m)
        assert not measure.enrolled_mask(m).any()
    assert spend == 0.0
    assert not any(b[3] == "spent" for b in m.ledger.blocks)
    changed = [
        f.name
        for f in fields(Households)
        if not np.array_equal(getattr(before, f.name), getattr(hh, f.name))
    ]
    assert changed == []


@pytest.mark.parametrize("name", NAMES)
def test_it_writes_exactly_the_household_arrays_it_declares(watched, name):
    cls = BY_NAME[name]
    written = watched[name].written
    declared_flows = {f"{c}_m" for c in cls.incomes}
    assert {f for f in written if f in FLOWS} == declared_flows
    assert {f for f in written if f not in FLOWS} == set(cls.household_fields)


@pytest.mark.parametrize("name", NAMES)
def test_it_reads_shared_outputs_only_through_model_shared_as_declared(name):
    import inspect
    import re

    source = inspect.getsource(inspect.getmodule(BY_NAME[name]))
    cls = BY_NAME[name]
    used = set(re.findall(r"model\.shared\.(\w+)", source))
    assert used <= set(cls.reads) | set(cls.publishes)
    assert set(cls.reads) <= used
    for output in SharedOutputs.__dataclass_fields__:
        assert not re.search(rf"model\.{output}\b", source), f"{name} reads model.{output}"


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_counterfactual_treats_it_explicitly(name):
    """A counterfactual (a scenario switching any measure off) lists what it keeps.

    So a measure runs in it exactly when named in its ``[measures] only`` list, and a measure
    added later is off there unless the file names it. Any other shipped scenario runs it.
    """
    counterfactuals = 0
    for file_name in shipped_scenarios(SCENARIOS):
        s = load_scenario(SCENARIOS / file_name)
        on = {m.name for m in running(s)}
        if on == set(NAMES):
            continue
        counterfactuals += 1
        assert s.measures.only is not None, f"{file_name}: expected [measures] only = [...]"
        assert (name in on) == (name in s.measures.only), file_name
        assert getattr(s, name).enabled, f"{file_name}: switches {name} off outside [measures]"
    assert counterfactuals >= 2  # no_new_measures, social_security_only


@pytest.mark.parametrize("name", NAMES)
def test_it_has_a_test_file_of_its_own(name):
    path = ROOT / "tests" / "engine" / f"test_{name}.py"
    assert path.is_file(), f"add {path.relative_to(ROOT)}: hand-built tests of {name}"
    assert f"model.engine.interventions.{name} import" in path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the registry refuses wrong declarations


def _measure(**declared):
    namespace = {"name": "test_measure_contract", "funds": (), "__module__": __name__, **declared}
    return type("Probe", (Measure,), namespace)


@pytest.mark.parametrize(
    ("declared", "fragment"),
    [
        ({"sector_sources": ("road",)}, "sector_sources: expected names among"),
        ({"sector_source": "dibao"}, "sector_source: expected one of sector_sources [], found"),
        ({"funds": ("specal",)}, "funds: expected names among ['special', 'village']"),
        ({"household_fields": ("income",)}, "household_fields: expected names among"),
        ({"incomes": ("wages",)}, "incomes: expected names among"),
        ({"publishes": ("party",)}, "publishes: expected names among"),
        ({"reads": "party_factor"}, "reads: expected a tuple of names"),
        ({"name": "other"}, "name: expected the module's name"),
    ],
)
def test_a_wrong_declaration_is_refused_at_registration(declared, fragment):
    check_declarations(_measure())  # the probe itself is valid
    with pytest.raises(RegistrationError) as err:
        check_declarations(_measure(**declared))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_a_measure_must_say_which_pots_it_draws_on():
    probe = type("Probe", (Measure,), {"name": "test_measure_contract", "__module__": __name__})
    with pytest.raises(RegistrationError, match="funds: expected the measure to declare"):
        check_declarations(probe)


def test_charging_an_undeclared_sector_budget_is_refused():
    hh = make_households(1)
    m = FakeModel(hh)
    measure = BY_NAME["education"](BY_NAME["education"].Params(), m)
    with pytest.raises(ValueError, match="'medical', which the measure does not declare"):
        measure.charge(m, hh.county, np.array([100.0]), sector_source="medical")
    assert measure.charge(m, hh.county, np.array([100.0]), sector_source="education") == 1.0
    assert m.ledger.frame()["amount"].sum() == 2 * 100.0  # received and spent, in yuan
