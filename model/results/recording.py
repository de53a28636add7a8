"""Recording a run: the monthly scalars and December tables a model produces, and ``run()``.

The engine's :class:`~model.engine.simulation.PovertyModel` keeps no tables; its step 8 calls
:meth:`~model.engine.simulation.PovertyModel.record`. :class:`RecordedModel` (exported as
``model.PovertyModel``) records there with a :class:`Recorder` and builds a
:class:`~model.results.outputs.RunResult` from it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.engine import kernels
from model.engine.assessment import EXITED, GROUP_NAMES, RELAPSED
from model.engine.households import INCOME_COMPONENTS, people_where
from model.engine.population import PARTIES
from model.engine.scenario import load_scenario
from model.engine.simulation import PovertyModel
from model.results.metrics import table_columns
from model.results.outputs import (
    INCOME_PERCENTILES,
    SCHEMA_VERSION,
    RunResult,
    git_commit,
    package_version,
    run_outcomes,
    stable_argsort,
    weighted_median,
    weighted_percentiles,
)


@dataclass(frozen=True)
class _FixedIndices:
    """What the year tables read that changes only when the register does.

    Households' sizes, groups and villages are fixed for a run; the register may change (the
    living register), and then :attr:`Households.groups` is rebuilt, and so is this.

    Attributes:
        groups: The households' group index these were made from (compared by identity; a
            weak reference, so that a register's old index is not kept alive by it).
        registered: Registered households (ascending).
        registered_people: Their sizes as int64 (cumulative sums of them pass int16).
        registered_total: Their people.
        labour: Households of the two labour-capable groups (ascending).
        labour_people: Their sizes.
        labour_total: Their people.
        party_registered: Registered households of the poor villages (ascending).
        party_registered_sizes: Their sizes.
        party_labour: Households of the labour-capable groups in the poor villages.
        party_labour_sizes: Their sizes.
        party_people: Registered people by assisting party (float64 counts).
        party_labour_people: People of the labour-capable groups by party (float64 counts).
    """

    groups: Any
    registered: np.ndarray
    registered_people: np.ndarray
    registered_total: int
    labour: np.ndarray
    labour_people: np.ndarray
    labour_total: int
    party_registered: np.ndarray
    party_registered_sizes: np.ndarray
    party_labour: np.ndarray
    party_labour_sizes: np.ndarray
    party_people: np.ndarray
    party_labour_people: np.ndarray

    @classmethod
    def of(cls, hh: Any, groups: Any, party: np.ndarray) -> _FixedIndices:
        """Make them for the households ``hh`` (whose group index is ``groups``).

        Sizes are kept in the households' own small type: a product with a float64 income and a
        bincount's weights are the same numbers either way.
        """
        size = hh.size
        registered = groups.registered
        labour_mask = hh.labour_capable
        labour = np.flatnonzero(labour_mask)
        in_party = party >= 0
        party_registered = np.flatnonzero(hh.registered & in_party)
        party_labour = np.flatnonzero(labour_mask & in_party)
        n_p = len(PARTIES)
        return cls(
            groups=weakref.ref(groups),
            registered=registered,
            registered_people=size[registered].astype(np.int64),
            registered_total=int(size[registered].sum(dtype=np.int64)),
            labour=labour,
            labour_people=size[labour],
            labour_total=int(size[labour].sum(dtype=np.int64)),
            party_registered=party_registered,
            party_registered_sizes=size[party_registered],
            party_labour=party_labour,
            party_labour_sizes=size[party_labour],
            party_people=np.bincount(party[party_registered], size[party_registered], n_p),
            party_labour_people=np.bincount(party[party_labour], size[party_labour], n_p),
        )


class Recorder:
    """Collects per-month scalars and per-December tables while a model runs."""

    #: the tables it records
    TABLES = (
        "annual", "monthly", "by_county", "by_group", "by_measure", "income_percentiles",
        "by_party",
    )  # fmt: skip

    def __init__(self, model: PovertyModel, tables: Iterable[str] | None = None) -> None:
        """Record ``model``'s months.

        Args:
            model: The model to record.
            tables: The tables to record besides ``annual`` and ``monthly`` (which every
                outcome reads); default all of :data:`TABLES`. Many-run work records only the
                tables it reads: the others cost about a tenth of a small run's month.

        Raises:
            ValueError: For a name not among :data:`TABLES`.
        """
        self.model = model
        wanted = set(self.TABLES if tables is None else tables)
        unknown = sorted(wanted - set(self.TABLES))
        if unknown:
            raise ValueError(f"tables {unknown}: expected among {list(self.TABLES)}")
        #: the tables recorded
        self.recorded = frozenset(wanted | {"annual", "monthly"})
        self.monthly: list[dict[str, Any]] = []
        self.annual: list[dict[str, Any]] = []
        self.by_county: list[dict[str, Any]] = []
        self.by_group: list[dict[str, Any]] = []
        self.by_measure: list[dict[str, Any]] = []
        self.by_party: list[dict[str, Any]] = []
        self._spend_to_date: dict[str, float] = {}
        #: the year's spend so far, by measure and in all, added month by month in the order
        #: the monthly rows hold it (the annual tables' sums, without reading the rows again)
        self._spend_year: int | None = None
        self._year_spend: dict[str, float] = {}
        self._year_spend_total = 0.0
        self.income_percentiles: list[dict[str, Any]] = []
        self._exited_this_year = np.zeros(model.households.n, dtype=bool)
        #: each household's assisting party (-1 outside the poor villages), made at the first
        #: December: households never move and villages keep their party
        self._household_party: np.ndarray | None = None
        #: the year tables' indices while the register stays the same (:meth:`_fixed_indices`)
        self._fixed: _FixedIndices | None = None
        #: each table's columns, in order, as the catalogue of metrics declares them
        measures = [measure.name for measure in model.measures]
        mechanisms = [mechanism.name for mechanism in model.mechanisms]
        self.columns = {t: table_columns(t, measures, mechanisms) for t in self.TABLES}
        self._spend_columns = {name: f"spend_{name}" for name in measures}

    def _append(self, table: str, row: dict[str, Any]) -> None:
        """Add a row to a table, after checking that its columns are the catalogue's."""
        if list(row) != self.columns[table]:
            raise RuntimeError(
                f"{table} row: expected the catalogue's columns {self.columns[table]}, found "
                f"{list(row)} (declare new columns in model/results/metrics.py)"
            )
        getattr(self, table).append(row)

    def record_month(self, verdict: dict[str, np.ndarray] | None) -> None:
        """Record this month (and, in December, the year's tables)."""
        m = self.model
        hh = m.households
        reg = hh.groups.registered  # indices: the registered are a fraction of the households
        if hh.kernels is not None:  # the same integer counts in two compiled passes
            people, exited_people, jobs, workers = hh.kernels.register_counts(
                reg, hh.size, hh.status, EXITED, hh.jobs, hh.workers
            )
            social, ill = hh.kernels.social_and_ill_counts(hh.dibao_class, hh.wubao, hh.ill_months)
        else:
            size = hh.size[reg]
            exited_people = people_where(size, hh.status[reg] == EXITED)
            people = int(size.sum())
            jobs, workers = int(hh.jobs[reg].sum()), int(hh.workers[reg].sum())
            social = int(np.count_nonzero(hh.enrolled_social))
            ill = int(np.count_nonzero(hh.ill_months > 0))
        row = {
            "year": m.year,
            "month": m.month,
            "remaining_poor_people": people - exited_people,
            "cumulative_exited_people": exited_people,
            "employed_workers_poor": jobs,
            "workers_poor": workers,
            "social_security_households": social,
            "ill_households": ill,
            "villages_exited": sum(v.exited for v in m.villages),
        }
        if m.year != self._spend_year:
            self._spend_year, self._year_spend, self._year_spend_total = m.year, {}, 0.0
        year_spend, columns = self._year_spend, self._spend_columns
        for name, amount in m.spend_this_month.items():
            row[columns[name]] = amount
            year_spend[name] = year_spend.get(name, 0.0) + amount
            self._year_spend_total += amount
        self._append("monthly", row)
        if verdict is not None:
            self._record_year(verdict)

    def _fixed_indices(self) -> _FixedIndices:
        """The year tables' indices that change only with the register (kept between Decembers).

        Rebuilt whenever :attr:`Households.groups <model.engine.households.Households.groups>`
        is (the register, the groups or the villages changed).
        """
        hh = self.model.households
        groups = hh.groups
        kept = self._fixed
        if kept is None or kept.groups() is not groups:
            self._fixed = kept = None  # the last register's indices go before new ones are made
            kept = self._fixed = _FixedIndices.of(hh, groups, self._party_of_households())
        return kept

    def _record_year(self, verdict: dict[str, np.ndarray]) -> None:
        m = self.model
        hh = m.households
        a = m.scenario.assessment
        year = m.year
        reg = hh.registered
        fixed = self._fixed_indices()
        # indices rather than boolean gathers: the same values in the same order, and far
        # cheaper once the register is scattered over the households
        ri = fixed.registered
        size = hh.size  # people_where and the integer sums are exact in its own type
        income_pc = verdict["income_pc"]
        exited = reg & (hh.status == EXITED)
        out = np.flatnonzero(exited)
        line = a.exit_line(year)
        target = m.scenario.targets.target_for(year)
        target_scaled = None if target is None else round(target * m.population.scale)
        cumulative = people_where(size, exited)
        labour = fixed.labour
        reg_people = fixed.registered_people
        reg_income = income_pc[ri]
        by_income = stable_argsort(reg_income)  # for the median and percentiles
        gap = np.maximum(0.0, (line - reg_income) / line)
        components = hh.year_components
        labour_people = fixed.labour_people
        row = {
            "year": year,
            "exited_people": people_where(size, verdict["exits"]),
            "exited_households": int(np.count_nonzero(verdict["exits"])),
            "cumulative_exited_people": cumulative,
            "cumulative_exited_households": int(out.size),
            "target_cumulative_people": target_scaled,
            "target_met": None if target_scaled is None else bool(cumulative >= target_scaled),
            "remaining_poor_people": fixed.registered_total - cumulative,
            "villages_exited": sum(v.exited for v in m.villages),
            "villages_total": len(m.villages),
            "relapsed_people": people_where(size, verdict["relapses"]),
            "ever_relapsed_people": people_where(size, reg & (hh.status == RELAPSED)),
            "mean_per_capita_income_poor": float(
                (reg_income * reg_people).sum() / fixed.registered_total
            ),
            "median_per_capita_income_poor": weighted_median(reg_income, reg_people, by_income),
            "mean_per_capita_income_labour_capable": float(
                (income_pc[labour] * labour_people).sum() / max(fixed.labour_total, 1)
            ),
            "poverty_gap": float((gap * reg_people).sum() / fixed.registered_total),
            "provincial_rural_income": a.provincial_income(year),
            "exit_income_line": line,
            "village_exit_income_line": a.village_exit_line(year),
            **{
                f"{name}_per_capita_poor": float(components[k][ri].sum() / fixed.registered_total)
                for k, name in enumerate(INCOME_COMPONENTS)
            },
            "spend": float(self._year_spend_total),  # the months of this year, just recorded
        }
        for mechanism in m.mechanisms:  # columns only of the mechanisms switched on
            row.update(mechanism.annual_row(m))
        self._append("annual", row)
        recorded = self.recorded
        if "by_measure" in recorded:
            self._record_by_measure(year, ri, reg_people, exited[ri])
        if "income_percentiles" in recorded:
            self._record_income_percentiles(year, reg_income, reg_people, ri, by_income)
        if "by_county" in recorded:
            self._record_by_county(year, fixed, out)
        if "by_party" in recorded:
            self._record_by_party(year, fixed, income_pc, out)
        if "by_group" in recorded:
            self._record_by_group(year, income_pc, out)

    def _record_by_measure(
        self, year: int, ri: np.ndarray, reg_people: np.ndarray, exited_reg: np.ndarray
    ) -> None:
        """Enrolment, spend and exits of each measure (enrolment counts only the registered)."""
        m = self.model
        for measure in m.measures:
            enrolled = measure.enrolled_mask(m, ri)
            spend = float(self._year_spend.get(measure.name, 0.0))
            to_date = self._spend_to_date.get(measure.name, 0.0) + spend
            self._spend_to_date[measure.name] = to_date
            exited_enrolled = people_where(reg_people, enrolled & exited_reg)
            self._append(
                "by_measure",
                {
                    "year": year,
                    "measure": measure.name,
                    "enrolled_households": int(np.count_nonzero(enrolled)),
                    "enrolled_people": people_where(reg_people, enrolled),
                    "spend": spend,
                    "spend_to_date": to_date,
                    "exited_people_enrolled": exited_enrolled,
                    "exits_among_enrolled_per_million_yuan": exited_enrolled / (to_date / 1e6)
                    if to_date > 0
                    else float("nan"),
                },
            )

    def _record_by_county(self, year: int, fixed: _FixedIndices, out: np.ndarray) -> None:
        """Registered and exited people and villages of each county, with the mechanisms'."""
        m = self.model
        hh = m.households
        n_c = m.n_counties
        county = hh.county
        reg_c = np.bincount(county[fixed.registered], fixed.registered_people, n_c)
        exit_c = np.bincount(county[out], hh.size[out], n_c)
        v_county = np.array([v.county for v in m.villages], dtype=np.int64)
        v_exited = np.array([v.exited for v in m.villages], dtype=bool)
        vill_c = np.bincount(v_county, minlength=n_c)
        vill_exit_c = (
            np.bincount(v_county[v_exited], minlength=n_c) if v_exited.any() else 0 * vill_c
        )
        county_extra = [{} for _ in range(n_c)]
        for mechanism in m.mechanisms:
            for extra, row in zip(county_extra, mechanism.county_rows(m), strict=True):
                extra.update(row)
        for c, name in enumerate(m.population.county_names):
            self._append(
                "by_county",
                {
                    "year": year,
                    "county": name,
                    "registered_people": int(reg_c[c]),
                    "cumulative_exited_people": int(exit_c[c]),
                    "remaining_poor_people": int(reg_c[c] - exit_c[c]),
                    "villages": int(vill_c[c]),
                    "villages_exited": int(vill_exit_c[c]),
                    **county_extra[c],
                },
            )

    def _record_by_group(self, year: int, income_pc: np.ndarray, out: np.ndarray) -> None:
        """Each group's people, exits and incomes (the non-poor of poor villages included)."""
        hh = self.model.households
        components = hh.year_components
        exited_people = np.bincount(hh.group[out], hh.size[out], len(GROUP_NAMES))
        for g, name in enumerate(GROUP_NAMES):
            members = np.flatnonzero(hh.group == g)
            sizes = hh.size[members]
            people = int(sizes.sum(dtype=np.int64))
            if people == 0:
                continue
            self._append(
                "by_group",
                {
                    "year": year,
                    "group": name,
                    "households": int(members.size),
                    "people": people,
                    "cumulative_exited_people": int(exited_people[g]),
                    "mean_per_capita_income": float((income_pc[members] * sizes).sum() / people),
                    **{
                        f"{cname}_per_capita": float(components[k][members].sum() / people)
                        for k, cname in enumerate(INCOME_COMPONENTS)
                    },
                },
            )

    def _party_of_households(self) -> np.ndarray:
        """Each household's assisting party (-1 outside the poor villages); made once a run.

        Households never move and villages keep their party.
        """
        party = self._household_party
        if party is None:
            hh = self.model.households
            v_party = np.array([PARTIES.index(v.party) for v in self.model.villages], np.int64)
            in_village = hh.village >= 0
            party = np.full(hh.n, -1, dtype=np.int64)
            party[in_village] = v_party[hh.village[in_village]]
            self._household_party = party
        return party

    def _record_by_party(
        self, year: int, fixed: _FixedIndices, income_pc: np.ndarray, out: np.ndarray
    ) -> None:
        """The poor villages of each assisting party (§II.9) and their registered households.

        A household counts for the party assisting the village it lives in; scattered
        households (no poor village) count for none. Observations scoped to a subset of a run
        (``shaoguan:dongguan_villages``) are compared with these rows.
        """
        m = self.model
        hh = m.households
        n_p = len(PARTIES)
        v_party = np.array([PARTIES.index(v.party) for v in m.villages], dtype=np.int64)
        v_exited = np.array([v.exited for v in m.villages], dtype=bool)
        party = self._party_of_households()
        out = out[party[out] >= 0]
        reg, labour = fixed.party_registered, fixed.party_labour
        out_people = np.bincount(party[out], hh.size[out], n_p)
        lab_income = np.bincount(party[labour], income_pc[labour] * fixed.party_labour_sizes, n_p)
        reg_income = np.bincount(party[reg], income_pc[reg] * fixed.party_registered_sizes, n_p)
        people, lab_people = fixed.party_people, fixed.party_labour_people
        villages = np.bincount(v_party, minlength=n_p)
        villages_out = np.bincount(v_party[v_exited], minlength=n_p)
        for p, name in enumerate(PARTIES):
            self._append(
                "by_party",
                {
                    "year": year,
                    "party": name,
                    "villages": int(villages[p]),
                    "villages_exited": int(villages_out[p]),
                    "registered_people": int(people[p]),
                    "cumulative_exited_people": int(out_people[p]),
                    "mean_per_capita_income_poor": float(reg_income[p] / people[p])
                    if people[p] > 0
                    else float("nan"),
                    "mean_per_capita_income_labour_capable": float(lab_income[p] / lab_people[p])
                    if lab_people[p] > 0
                    else float("nan"),
                },
            )

    def _record_income_percentiles(
        self,
        year: int,
        reg_income: np.ndarray,
        reg_people: np.ndarray,
        registered: np.ndarray,
        order: np.ndarray,
    ) -> None:
        """People-weighted percentiles of per-capita income among the registered poor.

        Args:
            year: The year recorded.
            reg_income: Per-capita income of each registered household (index order).
            reg_people: Members of each registered household.
            registered: Indices of the registered households.
            order: Stable ascending order of ``reg_income``; each group's order is this one
                with the others left out, so the incomes are sorted once.
        """
        hh = self.model.households
        for population, in_group in (
            ("registered", None),
            ("labour_capable", hh.labour_capable[registered]),
            ("no_labour", hh.no_labour[registered]),
        ):
            group_order = order if in_group is None else order[in_group[order]]
            values = weighted_percentiles(reg_income, reg_people, order=group_order)
            for p, value in zip(INCOME_PERCENTILES, values, strict=True):
                self._append(
                    "income_percentiles",
                    {"year": year, "population": population, "percentile": p, "value": value},
                )

    def result(self) -> RunResult:
        """Build the DataFrames and the manifest.

        Raises:
            ValueError: When the recorder was asked for only some of the tables.
        """
        missing = [name for name in self.TABLES if name not in self.recorded]
        if missing:
            raise ValueError(f"a full result needs every table; {missing} were not recorded")
        m = self.model
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "scenario_name": m.scenario.name,
            "scenario": m.scenario.model_dump(mode="json"),
            "seed": m.seed,
            "population_scale": m.population.scale,
            "package_version": package_version(),
            "git_commit": git_commit(),
            "households_simulated": m.households.n,
            "registered_households": int(m.households.registered.sum()),
            "villages": len(m.villages),
            "months": m.month_index,
            "seconds_population": round(m.seconds_population, 4),
            "seconds_simulation": round(m.seconds_simulation, 4),
            "kernels": m.kernels,
            "seconds_kernels_load": round(m.seconds_kernels, 4),
            "invariant_checks_passed": m.invariants.months_checked,
            "seconds_invariants": round(m.invariants.seconds, 4),
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return RunResult(
            annual=self._frame("annual"),
            monthly=self._frame("monthly"),
            by_county=self._frame("by_county"),
            by_group=self._frame("by_group"),
            by_measure=self._frame("by_measure"),
            ledger=m.ledger.frame(),
            funding=m.ledger.summary(),
            manifest=manifest,
            income_percentiles=self._frame("income_percentiles"),
            by_party=self._frame("by_party"),
        )

    def _frame(self, table: str) -> pd.DataFrame:
        """A recorded table as a DataFrame with the catalogue's columns."""
        frame = pd.DataFrame(getattr(self, table), columns=self.columns[table])
        return frame.fillna({"villages_exited": 0}) if table == "monthly" else frame


class RecordedModel(PovertyModel):
    """The model with its :class:`Recorder`: what ``model.PovertyModel`` gives a user.

    Step through months with :meth:`step` (or :meth:`run_model`) and take the tidy tables of
    the months run so far with :meth:`result`. Arguments as
    :class:`~model.engine.simulation.PovertyModel`, and ``tables``: the tables to record
    besides ``annual`` and ``monthly`` (:class:`Recorder`; default all, which :meth:`result`
    needs).

    Example:
        >>> m = model.PovertyModel(load_scenario("scenarios/baseline.toml"), seed=1,
        ...                        population_scale=0.05)
        >>> m.run_model(); m.result().annual[["year", "cumulative_exited_people"]]
    """

    def __init__(
        self,
        scenario: Any,
        seed: int = 0,
        population_scale: float = 1.0,
        tables: Iterable[str] | None = None,
    ) -> None:
        super().__init__(scenario, seed=seed, population_scale=population_scale)
        self.recorder = Recorder(self, tables)

    def record(self, verdict: dict[str, np.ndarray] | None) -> None:
        """Step 8: record the month (and, in December, the year's tables)."""
        self.recorder.record_month(verdict)

    def result(self) -> RunResult:
        """The tidy results of the months run so far."""
        return self.recorder.result()


def run(
    scenario: Any, seed: int = 0, population_scale: float = 1.0, progress: bool = False
) -> RunResult:
    """Run one scenario once, month by month from January 2016, and return its results.

    Builds the synthetic population, runs every month of the scenario's horizon (the plan's
    2016-2018 and, by default, consolidation to 2020) and collects the tidy tables. Nothing is
    written to disk; call :meth:`RunResult.write` for a results folder.

    Args:
        scenario: A validated scenario (see :func:`model.load_scenario`), or a path to a
            scenario file.
        seed: Non-negative integer seed; the same seed gives identical results bit for bit.
        population_scale: Share of every count to simulate, in (0, 1]. Households, villages,
            programme capacities and targets are all scaled, so ``0.1`` runs several times
            faster and reports a tenth of the people.
        progress: Show a progress bar on the terminal.

    Returns:
        A :class:`~model.outputs.RunResult`: ``annual`` (one row per year: exits against the
        cumulative target, ``target_met``, villages exited, incomes, poverty gap, spend),
        ``monthly``, ``by_county``, ``by_group``, ``by_measure``, the money ``ledger`` and its
        ``funding`` totals; ``outcomes()`` gives the run's scalar outcomes.

    Raises:
        ValueError: If ``seed`` is negative or ``population_scale`` outside (0, 1].
        ScenarioError: If ``scenario`` is a path to an invalid scenario file.

    Example:
        >>> import model
        >>> scenario = model.load_scenario("scenarios/baseline.toml")
        >>> result = model.run(scenario, seed=1, population_scale=0.1)
        >>> result.annual[["year", "target_cumulative_people", "cumulative_exited_people",
        ...                "target_met"]]
        >>> result.outcomes()["cost_per_exit"]        # yuan spent per person out by 2018
    """
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    if not 0 < population_scale <= 1:
        raise ValueError(f"population_scale must be in (0, 1], found {population_scale}")
    model = RecordedModel(scenario, seed=seed, population_scale=population_scale)
    model.run_model(progress=progress)
    result = model.result()
    model.release()
    return result


def run_for_outcomes(
    scenario: Any,
    seed: int = 0,
    population_scale: float = 1.0,
    tables: tuple[str, ...] = (),
    load_kernels: bool = False,
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """One run for many-run work: ``run(...).outcomes()`` and only the tables named.

    The same numbers as :func:`run`, without recording or building the tables no one reads
    (the money ledger's above all), which a sweep or a calibration of thousands of small runs
    would pay for every run.

    Args:
        scenario: A validated scenario.
        seed: The run's seed.
        population_scale: Share of every count to simulate, in (0, 1].
        tables: Names of recorded tables to return as well (``annual``, ``by_party``, ...).
        load_kernels: Load the compiled kernels first (:func:`model.engine.kernels.load`, once
            per process), as the workers of jobs of many runs do; the results are the same.

    Returns:
        The scalar outcomes, and ``{name: table}`` for each of ``tables``.
    """
    if not 0 < population_scale <= 1:
        raise ValueError(f"population_scale must be in (0, 1], found {population_scale}")
    unknown = [name for name in tables if name not in Recorder.TABLES]
    if unknown:
        raise ValueError(f"tables {unknown}: expected among {list(Recorder.TABLES)}")
    if load_kernels:
        kernels.load()
    model = RecordedModel(scenario, seed=seed, population_scale=population_scale, tables=tables)
    model.run_model()
    plan_years = model.scenario.targets.cumulative_people
    frames = {
        name: model.recorder._frame(name) for name in dict.fromkeys((*tables, "annual", "monthly"))
    }
    model.release()
    outcomes = run_outcomes(frames["annual"], frames["monthly"], plan_years)
    return outcomes, {name: frames[name] for name in tables}
