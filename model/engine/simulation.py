"""The model: one ``step()`` is one month, in the order of DESIGN.md.

1. calendar; 2. money arrives; 3. villages act; 4. programmes enrol; 5. incomes flow;
6. shocks; 7. assessment (December); 8. record.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import mesa
import numpy as np

from model.engine import dynamics
from model.engine.assessment import EXITED, RELAPSED, assess_households
from model.engine.funding import Treasury
from model.engine.households import village_people
from model.engine.interventions import MEASURES, Measure, SharedOutputs, running
from model.engine.invariants import InvariantChecker
from model.engine.mechanisms import build_mechanisms
from model.engine.population import PARTIES, build_population
from model.engine.villages import Village

#: :attr:`PovertyModel.next_work_due` when no village has works in progress
NO_WORK_DUE = 2**62


class PovertyModel(mesa.Model):
    """Households (numpy arrays) and poor villages (Mesa agents) under one scenario.

    One :meth:`step` is one month: calendar, money arrives, villages act, programmes enrol,
    incomes flow, shocks, December assessment, record (see ``docs/ODD.md``). Use
    :func:`model.run` for a whole run; use ``model.PovertyModel`` (this class with a recorder,
    :class:`model.results.recording.RecordedModel`) to step through months or to inspect state
    (``households``, ``villages``, ``ledger``, ``measures``) as it evolves.

    Args:
        scenario: A validated scenario (see :func:`model.load_scenario`).
        seed: Non-negative integer; one seed determines the run bit for bit.
        population_scale: Share of every count to simulate, in (0, 1].

    Attributes:
        households: The household arrays (:class:`model.engine.households.Households`).
        villages: The poor villages (:class:`model.engine.villages.Village` agents).
        measures: The measures the scenario runs (:func:`model.engine.interventions.running`),
            in their monthly order.
        shared: What measures publish for each other
            (:class:`model.engine.interventions.SharedOutputs`).
        ledger: Every movement of money (:class:`model.engine.funding.Ledger`).
        year: Calendar year of the current (last run) month.
        month: Month of the year, 1-12.

    Example:
        >>> m = PovertyModel(load_scenario("scenarios/baseline.toml"), seed=1,
        ...                  population_scale=0.05)
        >>> m.run_model(); int(m.households.status.size) == m.households.n
        True
    """

    def __init__(self, scenario: Any, seed: int = 0, population_scale: float = 1.0) -> None:
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, found {seed!r}")
        root = np.random.SeedSequence(int(seed))
        population_stream, dynamics_stream = root.spawn(2)
        super().__init__(rng=np.random.default_rng(dynamics_stream))
        self.scenario = scenario
        self.seed = int(seed)
        t0 = time.perf_counter()
        self.population = build_population(
            scenario, population_scale, np.random.default_rng(population_stream)
        )
        self.seconds_population = time.perf_counter() - t0
        self.seconds_simulation = 0.0
        self.households = self.population.households
        #: "compiled" when the household passes run compiled (:mod:`model.engine.kernels`;
        #: loaded here rather than in the first month), else "numpy": the results are the same
        t0 = time.perf_counter()
        self.kernels = "numpy" if self.households.kernels is None else "compiled"
        self.seconds_kernels = time.perf_counter() - t0
        self.n_counties = len(self.population.county_names)
        vt = self.population.villages
        #: the earliest month index at which some village's works open (steps skip the
        #: villages' step before it: it would change nothing)
        self.next_work_due = NO_WORK_DUE
        self.villages: list[Village] = [
            Village(
                self,
                index=i,
                county=int(vt.county[i]),
                party=PARTIES[int(vt.party[i])],
                three_kinds_area=bool(vt.three_kinds_area[i]),
                services={k: bool(v[i]) for k, v in vt.services.items()},
            )
            for i in range(vt.n)
        ]
        #: what measures publish for each other (party capacity, last month's dibao payments)
        self.shared = SharedOutputs.defaults(self.households.n)
        self.illness_probability = dynamics.illness_probability(self.households, scenario.dynamics)
        self.treasury = Treasury(self, uses=[cls.name for cls in MEASURES])
        self.ledger = self.treasury.ledger
        self.measures: list[Measure] = []
        on = running(scenario)
        for cls in MEASURES:
            if cls in on:
                self.measures.append(cls(getattr(scenario, cls.name), self))
            else:
                cls.switch_off(self)
        #: counties' adaptation to missed targets, set by the accountability mechanism when on
        #: (read by :meth:`Measure.quota` and :meth:`Measure.enrolment_queue`)
        self.adaptation: Any = None
        #: the enabled feedback mechanisms (:mod:`model.engine.mechanisms`)
        self.mechanisms = build_mechanisms(self)
        self.month_index = 0  # months completed
        self.year = scenario.calendar.start_year
        self.month = 1
        self.total_months = scenario.calendar.months
        self.spend_this_month: dict[str, float] = {}
        self.invariants = InvariantChecker(self)  # checks the initial state, then every month

    # -- schedule ------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one month."""
        if self.month_index >= self.total_months:
            self.running = False
            return
        t0 = time.perf_counter()
        hh = self.households
        # 1. calendar
        self.year = self.scenario.calendar.start_year + self.month_index // 12
        self.month = self.month_index % 12 + 1
        if self.month == 1:
            dynamics.start_of_year(hh, self.scenario.dynamics, self.rng, self.n_counties)
            hh.year_components[:] = 0.0
        # 2. money arrives
        self.treasury.receive_month(self, self.scenario.funding.village_allocation)
        # 3. villages act
        if self.villages and self.month_index >= self.next_work_due:
            self.agents_by_type[Village].do("step")
            self.next_work_due = min(
                (due for v in self.villages for due in v.works.values()), default=NO_WORK_DUE
            )
        for mechanism in self.mechanisms:  # the register's re-check, in its month
            mechanism.after_villages_act(self)
        # 4. programmes enrol
        for measure in self.measures:
            measure.month_spend = 0.0
            measure.enrol(self)
        # 5. incomes flow
        dynamics.flow_base_incomes(hh)
        for measure in self.measures:
            measure.apply(self)
        # 6. shocks, and the measures' response to them
        dynamics.illness(hh, self.scenario.dynamics, self.rng, self.illness_probability)
        dynamics.labour_market(hh, self.scenario.dynamics, self.rng, self.year)
        for measure in self.measures:
            measure.respond(self)
        self.spend_this_month = {m.name: m.cost(self) for m in self.measures}
        # 7. assessment
        hh.close_month(self.month - 1)
        verdict = None
        if self.month == 12:
            verdict = self._assess_december()
        # 8. check the invariants (a month that breaks one is never recorded), record
        self.invariants.check()
        self.record(verdict)
        for mechanism in self.mechanisms:
            mechanism.end_of_month(self)
        self.month_index += 1
        if self.month_index >= self.total_months:
            self.running = False
            self.ledger.close(self.year, self.month)
        self.seconds_simulation += time.perf_counter() - t0

    def _assess_december(self) -> dict[str, np.ndarray]:
        hh = self.households
        a = self.scenario.assessment
        income_pc = hh.rolling_income_per_capita(deduct_medical=a.deduct_medical_oop)
        line = a.exit_line(self.year)
        guarantees = hh.guarantees if a.require_guarantees else np.ones(hh.n, dtype=bool)
        verdict = assess_households(
            group=hh.group,
            status=hh.status,
            registered=hh.registered,
            income_per_capita=income_pc,
            enrolled_social=hh.enrolled_social,
            guarantees=guarantees,
            exit_line=line,
            relapse_line=a.relapse_share * line,
        )
        for mechanism in self.mechanisms:
            verdict = mechanism.after_household_verdict(self, verdict, income_pc, line, guarantees)
        hh.status[verdict.exits] = EXITED
        hh.exit_year[verdict.exits] = self.year
        hh.status[verdict.relapses] = RELAPSED
        if self.villages:
            g = hh.groups
            weights = income_pc[g.in_village] * hh.size[g.in_village]
            income = np.bincount(g.in_village_key, weights, len(self.villages))
            village_pc = income / np.maximum(self.village_people, 1)
            v_line = a.village_exit_line(self.year)
            for village in self.villages:
                village.assess(
                    float(village_pc[village.index]), v_line, a.village_checklist, self.year
                )
            for mechanism in self.mechanisms:
                mechanism.after_village_assessment(self, village_pc, v_line)
        for mechanism in self.mechanisms:
            mechanism.after_assessment(self)
        return {"exits": verdict.exits, "relapses": verdict.relapses, "income_pc": income_pc}

    @functools.cached_property
    def village_people(self) -> np.ndarray:
        """People living in each poor village (float64; sizes and villages are fixed for a run)."""
        return village_people(self.households, len(self.villages))

    def run_model(self, progress: bool = False) -> None:
        """Run every month of the horizon (optionally with a progress bar)."""
        if progress:
            from tqdm import tqdm

            with tqdm(total=self.total_months, unit="month", desc=self.scenario.name) as bar:
                while self.running:
                    self.step()
                    bar.update(1)
        else:
            while self.running:
                self.step()

    def record(self, verdict: dict[str, np.ndarray] | None) -> None:
        """Step 8, record the month: the engine keeps no tables of its own.

        :class:`model.results.recording.RecordedModel` (``model.PovertyModel``) records here.
        """

    def release(self) -> None:
        """Free the run's state (household arrays, measures, villages, ledger) at once.

        A Mesa model is a reference cycle (each agent points at its model), so without this the
        arrays of a finished run (about 70 MB at full scale) wait for Python's cycle collector,
        and a worker running many replicates or sweep points grows by that much per run. Take
        :meth:`result` first: the model cannot be stepped or read afterwards.
        """
        self.remove_all_agents()
        vars(self).clear()
