"""A naive Mesa version of the engine's simplest path, to put the engine's speed in context.

Every household is a ``mesa.Agent`` with its state in Python attributes, stepped once a month
through ``AgentSet.do`` (Mesa 3.3.1), with the same rules as the engine's background dynamics
(``model.engine.dynamics``) and exit assessment, without the measures:

- income (``flow_base_incomes``): wages ``jobs x job_wage``, business income
  ``business_annual / 12 x farm_shock``, property and transfer income ``annual / 12``;
- jobs (``labour_market``): each job is lost with chance ``job_loss_rate`` (a household left
  without a job loses its wage); each job seeker (a worker without a job or a post, in a
  labour-capable household) finds a job with chance ``min(job_finding_rate x job_access, 1)``
  at ``new_job_wage(year) x (skill_wage_floor + skill_wage_span x skill)``, averaged with the
  wage of the jobs held;
- exit (``assess_households``, simplest path): in December a poor labour-capable registered
  household exits when its per-capita income of the last 12 months reaches the year's exit line.

Households start from the engine's own synthetic population (``build_population``), so both
versions simulate the same households. Random draws are one Bernoulli trial per job and per
seeker (the direct way), so the numbers differ from the engine's, not the work per household.

The engine does much more per household-month (nine measures, the ledger, the checks, the
record), so the ratio ``naive ns / engine ns`` understates what the struct-of-arrays design saves.

Usage::

    python benchmarks/naive_mesa.py --scale 1 --months 12   # prints ns per household-month
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mesa
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"


class NaiveHousehold(mesa.Agent):
    """One household as a Python object (the design the engine avoids)."""

    def __init__(self, model: NaiveModel, state: dict) -> None:
        super().__init__(model)
        self.__dict__.update(state)
        self.history = [0.0] * 12
        self.exited = False

    def step(self) -> None:
        """One month: job losses and job finding, income, December assessment."""
        m = self.model
        rng = m.rng_py
        p = m.dyn
        # jobs lost: one trial per job
        if self.jobs:
            lost = sum(1 for _ in range(self.jobs) if rng.random() < p.job_loss_rate)
            if lost:
                self.jobs -= lost
                if self.jobs == 0:
                    self.job_wage = 0.0
        # jobs found: one trial per job seeker
        if self.labour_capable:
            seekers = max(self.workers - self.jobs - self.occupied, 0)
            if seekers:
                rate = min(p.job_finding_rate * self.job_access, 1.0)
                found = sum(1 for _ in range(seekers) if rng.random() < rate)
                if found:
                    wage = m.new_wage * (p.skill_wage_floor + p.skill_wage_span * self.skill)
                    self.job_wage = (self.job_wage * self.jobs + wage * found) / (self.jobs + found)
                    self.jobs += found
        # income of the month
        income = (
            self.jobs * self.job_wage
            + self.business_annual / 12 * self.farm_shock
            + self.property_annual / 12
            + self.transfer_annual / 12
        )
        self.history[m.month - 1] = income
        # December: the exit rule for a poor, labour-capable registered household
        if m.month == 12 and self.registered and self.labour_capable and not self.exited:
            if sum(self.history) / self.size >= m.exit_line:
                self.exited = True


class NaiveModel(mesa.Model):
    """The households of the engine's population as Mesa agents, one month per step."""

    def __init__(self, scenario, population_scale: float, seed: int) -> None:  # noqa: ANN001
        super().__init__(rng=seed)
        from model.engine.population import build_population

        # the engine's population stream (PovertyModel): the same households as an engine run
        population_stream, _ = np.random.SeedSequence(seed).spawn(2)
        population = build_population(
            scenario, population_scale, np.random.default_rng(population_stream)
        )
        hh = population.households
        self.dyn = scenario.dynamics
        self.assessment = scenario.assessment
        self.rng_py = self.random  # Mesa's Python random.Random, one draw per trial
        self.year = scenario.calendar.start_year
        self.month = 0
        self.n = hh.n
        labour = hh.labour_capable.tolist()
        columns = {
            "jobs": hh.jobs.tolist(),
            "workers": hh.workers.tolist(),
            "occupied": hh.occupied.tolist(),
            "job_wage": hh.job_wage.tolist(),
            "job_access": hh.job_access.tolist(),
            "skill": hh.skill.tolist(),
            "business_annual": hh.business_annual.tolist(),
            "farm_shock": hh.farm_shock.tolist(),
            "property_annual": hh.property_annual.tolist(),
            "transfer_annual": hh.transfer_annual.tolist(),
            "size": hh.size.tolist(),
            "registered": hh.registered.tolist(),
        }
        for i in range(hh.n):
            state = {k: v[i] for k, v in columns.items()}
            state["labour_capable"] = labour[i]
            NaiveHousehold(self, state)
        self.households = self.agents_by_type[NaiveHousehold]

    def step(self) -> None:
        """One month for every household, through ``AgentSet.do``."""
        self.month = self.month % 12 + 1
        if self.month == 1 and self.steps > 1:
            self.year += 1
        from model.engine.dynamics import new_job_wage

        self.new_wage = new_job_wage(self.dyn, self.year)
        self.exit_line = self.assessment.exit_line(self.year)
        self.households.do("step")


def measure(population_scale: float, months: int, seed: int = 1) -> dict:
    """Build the naive model and time ``months`` months; CPU and wall ns per household-month."""
    import model

    scenario = model.load_scenario(BASELINE)
    naive = NaiveModel(scenario, population_scale, seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(months):
        naive.step()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    exited = sum(1 for a in naive.households if a.exited)
    hm = naive.n * months
    return {
        "households": naive.n,
        "months": months,
        "simulation_s": wall,
        "ns_per_household_month": 1e9 * wall / hm,
        "cpu_ns_per_household_month": 1e9 * cpu / hm,
        "exited_households": exited,
    }


def main() -> None:
    """Command line: time the naive version and print the figures (JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="population scale (W1: 1)")
    parser.add_argument("--months", type=int, default=12, help="months to simulate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    a = parser.parse_args()
    out = measure(a.scale, a.months, a.seed)
    if a.json:
        print("BENCH-RESULT " + json.dumps(out))
    else:
        print(
            f"naive Mesa: {out['households']:,} households x {out['months']} months: "
            f"{out['ns_per_household_month']:,.0f} ns per household-month "
            f"(CPU {out['cpu_ns_per_household_month']:,.0f})"
        )


if __name__ == "__main__":
    main()
