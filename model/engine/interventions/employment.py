"""Employment (§II.2): training, placement services, public service posts, rewards to firms.

- Training places a year (lever) go to registered labour-capable households with a job seeker;
  a place costs ``training_cost``; after ``training_months`` a share completes and gains skill,
  which raises the wage of later jobs and multiplies the seeker's job-finding chance.
- Placement services (with rewards to firms that hire registered poor labour) add a monthly
  job-finding chance for registered seekers; each placement costs the service fee plus the reward.
  New jobs are local or migrant (Pearl River Delta) work, migrant work paying a premium.
- Public service posts (road upkeep, forest patrol, sanitation...) reserved for registered poor
  labour, lowest incomes first, paying a monthly wage.
Money: the special fund's ``employment`` earmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine import draws
from model.engine.assessment import labour_capable
from model.engine.dynamics import new_job_wage, skill_wage_factor
from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param, statistic, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class EmploymentParams(MeasureParams):
    """Levers and uncertainties of the employment measures."""

    training_places: YearTable = param(
        default_factory=lambda: {2016: 6_000.0, 2017: 6_000.0, 2018: 6_000.0},
        unit="places per year (full population)",
        source=assumption(
            f"one skill for every poor household's labour in three years, the goal of {PLAN}, "
            "§II.6; about 19,250 labour-capable households, §II.9",
            range=(3_000.0, 9_000.0),
        ),
        kind="lever",
    )
    training_cost: float = param(
        3_000.0,
        unit="yuan per place",
        source=assumption("Guangdong vocational-training subsidies, 2015: 1,500-4,000 yuan"),
        range=(1_500.0, 5_000.0),
        ge=0,
    )
    training_months: int = param(3, unit="months", source=assumption(), range=(1, 6), ge=1, le=24)
    completion_rate: float = param(
        0.8,
        unit="share of trainees completing",
        source=assumption(),
        range=(0.6, 0.95),
        ge=0,
        le=1,
    )
    skill_gain: float = param(
        0.2,
        unit="skill index points (0-1 scale)",
        source=assumption(),
        range=(0.05, 0.35),
        ge=0,
        le=1,
    )
    trained_finding_multiplier: float = param(
        1.5,
        unit="ratio applied to the job-finding chance of trained seekers",
        source=assumption(),
        range=(1.0, 2.5),
        ge=0,
    )
    placement_rate: float = param(
        0.012,
        unit="extra job-finding probability per registered seeker per month",
        source=assumption(f"{PLAN}, §II.2: registration, guidance, placement, job fairs"),
        range=(0.0, 0.03),
        ge=0,
        le=1,
    )
    placement_cost: float = param(
        800.0,
        unit="yuan per placement (service fee)",
        source=assumption(),
        range=(300.0, 2_000.0),
        ge=0,
    )
    firm_reward: float = param(
        1_000.0,
        unit="yuan per registered poor worker hired",
        source=assumption(f"{PLAN}, §II.2: rewards to firms employing poor labour stably"),
        kind="lever",
        range=(0.0, 3_000.0),
        ge=0,
    )
    firm_reward_multiplier: float = param(
        1.2,
        unit="ratio applied to placements while firms are rewarded",
        source=assumption(),
        range=(1.0, 1.5),
        ge=0,
    )
    migrant_share: float = param(
        0.5,
        unit="share of placements that are migrant work",
        source=assumption("Shaoguan's labour mostly works in the Pearl River Delta"),
        range=(0.3, 0.7),
        ge=0,
        le=1,
    )
    migrant_wage_premium: float = param(
        1.2,
        unit="ratio of migrant to local wages",
        source=statistic(
            "NBS 2015 Migrant Worker Monitoring Survey",
            "3,359 yuan/month for migrants working outside their township vs 2,781 for local "
            "work, ratio 1.21",
        ),
        range=(1.0, 1.4),
        ge=0,
    )
    public_posts: YearTable = param(
        default_factory=lambda: {2016: 2_000.0, 2017: 3_000.0, 2018: 3_000.0},
        unit="posts filled (stock, full population)",
        source=assumption(
            f"{PLAN}, §II.2 reserves public service posts; no number given",
            range=(1_000.0, 5_000.0),
        ),
        kind="lever",
    )
    public_post_wage: float = param(
        1_210.0,
        unit="yuan per month",
        source=statistic("Guangdong minimum wage class IV from May 2015", "1,210 yuan/month"),
        kind="lever",
        range=(800.0, 1_600.0),
        ge=0,
    )


class Employment(Measure):
    """Training, placement, public posts and firm rewards."""

    name = "employment"
    Params = EmploymentParams
    funds = ("special",)
    household_fields = ("skill", "jobs", "job_wage", "occupied")
    incomes = ("wage",)
    reads = ("party_factor",)

    def __init__(self, params: EmploymentParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n = model.households.n
        self.training_ends = np.full(n, -1, dtype=np.int32)  # month index, -1 = never trained
        self.trained = np.zeros(n, dtype=bool)
        self.post = np.zeros(n, dtype=bool)
        self.post_paid_share = np.ones(n)
        self.placed = np.zeros(n, dtype=np.int16)

    def _eligible(self, model: PovertyModel) -> np.ndarray:
        """Registered labour-capable households with a job seeker (ascending indices)."""
        hh = model.households
        return hh.with_job_seekers(hh.groups.labour)

    def enrol(self, model: PovertyModel) -> None:
        """Start training places and fill public posts within capacity and budget."""
        hh = model.households
        p: EmploymentParams = self.params
        # training completes
        stream = draws.numpy_stream(hh, model.rng)
        if stream is not None and hh.skill.dtype == np.float32:  # the same draws, compiled
            hh.kernels.skill_courses_done(
                stream, self.training_ends, model.month_index, model.shared.party_factor,
                p.completion_rate, self.trained, hh.skill, p.skill_gain,
            )  # fmt: skip
        else:
            done = np.flatnonzero(self.training_ends == model.month_index)
            if done.size:
                chance = p.completion_rate * model.shared.party_factor[done]
                ok = done[model.rng.random(done.size) < chance]
                self.trained[ok] = True
                hh.skill[ok] = np.minimum(hh.skill[ok] + p.skill_gain, 1.0)
        # new trainees
        quota = self.quota(model, p.training_places)
        if quota:
            eligible = self._eligible(model)
            pool = self.not_started(model, eligible, self.training_ends)
            queue = self.enrolment_queue(model, pool, quota)
            taken = self.take_within_budget(model, queue, hh.county[queue], p.training_cost)
            self.training_ends[taken] = model.month_index + p.training_months
            self.count_started(model, taken.size)
        # public posts: lost when the worker is gone, then filled up to the year's stock
        held = hh.posts_still_held(self.post)
        target = int(year_value(p.public_posts, model.year) * model.population.scale)
        missing = target - held
        if missing > 0:
            eligible = self._eligible(model)
            cand = eligible[~self.post[eligible]]
            if cand.size:
                income = hh.income_last_12_months(cand) / hh.size[cand]
                chosen = cand[np.argsort(income, kind="stable")[:missing]]
                self.post[chosen] = True
                hh.occupied[chosen] += 1
        elif missing < 0:
            holders = self.queue(model, self.post, -missing)
            self.post[holders] = False
            hh.occupied[holders] -= 1

    def apply(self, model: PovertyModel) -> None:
        """Pay the public posts' wages (as far as the budget allows)."""
        hh = model.households
        holders = np.flatnonzero(self.post)
        if holders.size:
            wage = np.full(holders.size, self.params.public_post_wage)
            share = self.charge(model, hh.county[holders], wage)
            hh.wage_m[holders] += wage * share

    def respond(self, model: PovertyModel) -> None:
        """Placement services and firm rewards: extra jobs for registered seekers."""
        hh = model.households
        p: EmploymentParams = self.params
        seekers = self._eligible(model)
        if seekers.size == 0:
            return
        stream = draws.numpy_stream(hh, model.rng)
        if stream is not None and hh.skill.dtype == np.float32:  # the same draws, compiled
            self._respond_compiled(model, seekers, stream)
            return
        rate = p.placement_rate * model.shared.party_factor[seekers] * hh.job_access[seekers]
        if p.firm_reward > 0:
            rate = rate * p.firm_reward_multiplier
        rate = np.where(self.trained[seekers], rate * p.trained_finding_multiplier, rate)
        found = seekers[model.rng.random(seekers.size) < np.minimum(rate, 1.0)]
        if found.size == 0:
            return
        found = draws.permutation(model, found)
        found = self.take_within_budget(
            model, found, hh.county[found], p.placement_cost + p.firm_reward
        )
        migrant = model.rng.random(found.size) < p.migrant_share
        dyn = model.scenario.dynamics
        wage = new_job_wage(dyn, model.year) * skill_wage_factor(dyn, hh.skill[found])
        wage = np.where(migrant, wage * p.migrant_wage_premium, wage)
        jobs = hh.jobs[found].astype(np.float64)
        hh.job_wage[found] = (hh.job_wage[found] * jobs + wage) / (jobs + 1)
        hh.jobs[found] += 1
        self.placed[found] += 1

    def _respond_compiled(
        self, model: PovertyModel, seekers: np.ndarray, stream: tuple[int, int, int]
    ) -> None:
        """:meth:`respond` with the finds and the new jobs in two compiled calls."""
        hh = model.households
        p: EmploymentParams = self.params
        kernels = hh.kernels
        found = kernels.placement_finds(
            stream, seekers, model.shared.party_factor, hh.job_access, self.trained,
            p.placement_rate, p.firm_reward_multiplier if p.firm_reward > 0 else 1.0,
            p.trained_finding_multiplier,
        )  # fmt: skip
        if found.size == 0:
            return
        found = draws.permutation(model, found)
        found = self.take_within_budget(
            model, found, hh.county[found], p.placement_cost + p.firm_reward
        )
        dyn = model.scenario.dynamics
        kernels.placement_jobs(
            stream, found, hh.jobs, hh.job_wage, hh.skill, self.placed,
            new_job_wage(dyn, model.year), dyn.skill_wage_floor, dyn.skill_wage_span,
            p.migrant_share, p.migrant_wage_premium,
        )  # fmt: skip

    def invariant_checks(self) -> dict:
        """Public posts never exceed the year's number; posts only for labour-capable poor."""
        from model.engine.invariants import capacity_check

        def posts_for_labour(model: PovertyModel) -> str | None:
            hh = model.households
            holders = np.flatnonzero(self.post)  # few: the holders only, not every household
            labour = labour_capable(hh.group[holders])
            wrong = int(np.count_nonzero(~(hh.registered[holders] & labour)))
            return (
                f"{wrong} public posts held outside labour-capable poor households"
                if wrong
                else None
            )

        return {
            "public_posts_within_capacity": capacity_check(
                lambda m: int(np.count_nonzero(self.post)),
                lambda m: int(year_value(self.params.public_posts, m.year) * m.population.scale),
                "public posts",
            ),
            "public_posts_for_labour": posts_for_labour,
        }

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Trained, placed or on a public post."""
        of = picker(among)
        return (of(self.training_ends) >= 0) | of(self.post) | (of(self.placed) > 0)
