"""Household dynamics that happen without any new measure.

Wage and farm income growth, job finding and loss, illness with ordinary insurance, farm and
price shocks correlated within a county, and ageing. Each rate is an uncertainty with a default
and a range. Every function is vectorised over the household arrays and draws random numbers only
for the households that can be affected.
"""

from __future__ import annotations

import numpy as np

from model.engine import draws
from model.engine.assessment import NO_LABOUR
from model.engine.households import Households
from model.engine.params import Section, assumption, param, statistic


class DynamicsParams(Section):
    """Rates of the background dynamics (all nominal, all uncertain)."""

    wage_growth: float = param(
        0.08,
        unit="share per year",
        source=assumption("Guangdong rural wage income grew about 8-10% a year in 2013-2015"),
        range=(0.04, 0.12),
        ge=-0.5,
        le=1,
    )
    business_growth: float = param(
        0.04,
        unit="share per year",
        source=assumption("net business income of rural Guangdong grew slowly, 2013-2015"),
        range=(0.0, 0.08),
        ge=-0.5,
        le=1,
    )
    property_growth: float = param(
        0.05, unit="share per year", source=assumption(), range=(0.0, 0.1), ge=-0.5, le=1
    )
    transfer_growth: float = param(
        0.05,
        unit="share per year",
        source=assumption("pensions and remittances, excluding dibao"),
        range=(0.0, 0.1),
        ge=-0.5,
        le=1,
    )
    job_finding_rate: float = param(
        0.010,
        unit="probability per job-seeking worker per month",
        source=assumption(),
        range=(0.003, 0.03),
        ge=0,
        le=1,
    )
    job_loss_rate: float = param(
        0.008,
        unit="probability per job per month",
        source=assumption(),
        range=(0.003, 0.02),
        ge=0,
        le=1,
    )
    new_job_wage_2015: float = param(
        1_800.0,
        unit="yuan/month (2015)",
        source=assumption(
            "anchored on NBS 2015 Migrant Worker Monitoring Survey: local migrant workers earned "
            "2,781 yuan/month; poor workers are less skilled and part-year"
        ),
        range=(1_200.0, 2_800.0),
        gt=0,
    )
    skill_wage_floor: float = param(
        0.7,
        unit="multiple of the new-job wage (at skill 0)",
        source=assumption(
            "the least skilled earn about 70% of a typical new job's wage",
            range=(0.5, 0.9),
        ),
        doc="A new job's wage is the new-job wage times (floor + span x skill), skill in 0-1.",
        gt=0,
    )
    skill_wage_span: float = param(
        0.6,
        unit="multiple of the new-job wage per unit of skill",
        source=assumption(
            "the most skilled earn about 1.3 times a typical new job's wage",
            range=(0.3, 1.0),
        ),
        doc="Added to the floor at skill 1 (see `skill_wage_floor`).",
        ge=0,
    )
    illness_rate: float = param(
        0.0015,
        unit="serious illness episodes per person per month",
        source=assumption("rural inpatient admission about 15% a year; serious episodes fewer"),
        range=(0.0005, 0.004),
        ge=0,
        le=0.1,
    )
    chronic_multiplier: float = param(
        3.0, unit="ratio", source=assumption(), range=(1.5, 5.0), ge=1
    )
    illness_months: int = param(
        3, unit="months of work lost per episode", source=assumption(), range=(1, 6), ge=0, le=24
    )
    illness_cost: float = param(
        15_000.0,
        unit="yuan per episode (total medical cost)",
        source=assumption(
            "average inpatient cost at county hospitals, 2015, about 5,000-10,000 yuan per stay; "
            "a serious episode needs several",
        ),
        range=(5_000.0, 40_000.0),
        ge=0,
    )
    insurance_reimbursement: float = param(
        0.50,
        unit="share of cost paid by basic medical insurance",
        source=assumption(
            "new rural cooperative medical scheme: effective inpatient reimbursement about 50% "
            "in 2015"
        ),
        range=(0.40, 0.65),
        ge=0,
        le=1,
    )
    insurance_renewal: float = param(
        0.988,
        unit="probability a household renews insurance each January",
        source=statistic(
            "NHFPC statistical bulletin 2015",
            "new rural cooperative medical scheme participation 98.8% in 2015",
        ),
        ge=0,
        le=1,
    )
    age_out_rate: float = param(
        0.02,
        unit="probability per worker per year",
        source=assumption("workers leaving the labour force through age or disability"),
        range=(0.01, 0.04),
        ge=0,
        le=1,
    )
    youth_entry_rate: float = param(
        0.08,
        unit="probability per school-age child per year",
        source=assumption("about one in nine compulsory-school cohorts leaves each year"),
        range=(0.05, 0.11),
        ge=0,
        le=1,
    )
    school_dropout_rate: float = param(
        0.01,
        unit="probability per household with school-age children per year",
        source=assumption("compulsory-education retention about 98-99% in 2015"),
        range=(0.0, 0.03),
        ge=0,
        le=1,
    )
    farm_shock_sd_county: float = param(
        0.10,
        unit="sd of log farm income, county-level, per year",
        source=assumption("price and weather shocks shared within a county"),
        range=(0.0, 0.25),
        ge=0,
        le=2,
    )
    farm_shock_sd_household: float = param(
        0.15,
        unit="sd of log farm income, household-level, per year",
        source=assumption(),
        range=(0.0, 0.3),
        ge=0,
        le=2,
    )


def new_job_wage(p: DynamicsParams, year: int) -> float:
    """Monthly wage of a newly found job in ``year`` (nominal yuan)."""
    return p.new_job_wage_2015 * (1 + p.wage_growth) ** (year - 2015)


def skill_wage_factor(p: DynamicsParams, skill: np.ndarray) -> np.ndarray:
    """Multiple of the new-job wage a worker of each ``skill`` (0-1) earns in a new job."""
    return p.skill_wage_floor + p.skill_wage_span * skill


def start_of_year(
    hh: Households, p: DynamicsParams, rng: np.random.Generator, n_counties: int
) -> None:
    """January update: income growth, the year's farm shocks, ageing, insurance renewal."""
    hh.job_wage *= 1 + p.wage_growth
    hh.business_annual *= 1 + p.business_growth
    hh.property_annual *= 1 + p.property_growth
    hh.transfer_annual *= 1 + p.transfer_growth
    county_z = rng.standard_normal(n_counties)[hh.county]
    house_z = rng.standard_normal(hh.n)
    var = p.farm_shock_sd_county**2 + p.farm_shock_sd_household**2
    shock = p.farm_shock_sd_county * county_z + p.farm_shock_sd_household * house_z - var / 2
    np.exp(shock, out=hh.farm_shock)  # in place: the same array all run (the checks' plan)
    # ageing: some workers leave the labour force, some children join it (not in households
    # without labour capacity)
    leave = binomial_draws(rng, hh.workers, p.age_out_rate).astype(np.int8)
    hh.workers -= leave
    hh.elderly += leave
    can_join = np.where(hh.group != NO_LABOUR, hh.school_children, 0)
    join = binomial_draws(rng, can_join, p.youth_entry_rate).astype(np.int8)
    hh.school_children -= join
    hh.workers += join
    np.minimum(hh.jobs, hh.workers, out=hh.jobs)
    with_children = np.flatnonzero(hh.school_children > 0)
    dropout = with_children[bernoulli_indices(rng, p.school_dropout_rate, with_children.size)]
    hh.children_in_school[dropout] = False
    lapse = bernoulli_indices(rng, 1 - p.insurance_renewal, hh.n)
    hh.insured[lapse] = False


def flow_base_incomes(hh: Households) -> None:
    """Write this month's wage, business, property and non-social transfer income."""
    compiled = hh.kernels
    if compiled is not None:
        compiled.base_flows(
            hh.jobs,
            hh.job_wage,
            hh.business_annual,
            hh.farm_shock,
            hh.property_annual,
            hh.transfer_annual,
            hh.ill_months,
            hh.workers,
            hh.wage_m,
            hh.business_m,
            hh.property_m,
            hh.transfer_m,
        )  # the ill workers' losses below included
        return
    np.multiply(hh.jobs, hh.job_wage, out=hh.wage_m)
    np.divide(hh.business_annual, 12, out=hh.business_m)
    hh.business_m *= hh.farm_shock
    np.divide(hh.property_annual, 12, out=hh.property_m)
    np.divide(hh.transfer_annual, 12, out=hh.transfer_m)
    # an ill worker (few households a month) loses a job's wage if employed, and a sick worker's
    # share of the farm work is lost too
    sick = np.flatnonzero(hh.ill_months > 0)
    sick = sick[hh.workers[sick] > 0]
    if sick.size:
        jobs = hh.jobs[sick]
        hh.wage_m[sick] = (jobs - (jobs > 0)) * hh.job_wage[sick]
        farm_lost = 1.0 / np.maximum(hh.workers[sick], 1)
        shock = hh.farm_shock[sick] * (1 - farm_lost)
        hh.business_m[sick] = hh.business_annual[sick] / 12 * shock


def success_positions(rng: np.random.Generator, trials: int, p: float) -> np.ndarray:
    """Positions (ascending) of the successes among ``trials`` independent trials of chance ``p``.

    The gaps between successes are geometric, so about ``trials * p`` numbers are drawn rather
    than one per trial.
    """
    if trials <= 0 or p <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(trials)
    expected = trials * p
    gaps = int(expected + 6 * np.sqrt(expected) + 10)
    positions = np.cumsum(rng.geometric(p, size=gaps)) - 1
    while positions[-1] < trials:  # rare: more successes than gaps drawn
        more = positions[-1] + np.cumsum(rng.geometric(p, size=gaps))
        positions = np.concatenate([positions, more])
    return positions[: np.searchsorted(positions, trials)]


def bernoulli_indices(
    rng: np.random.Generator, p: np.ndarray | float, n: int | None = None
) -> np.ndarray:
    """Which of ``n`` households (or of ``len(p)``) a chance ``p`` (or ``p[i]``) befalls.

    The same distribution as ``np.flatnonzero(rng.random(n) < p)``, drawing numbers only for
    the households it befalls (see :func:`binomial_draws`).

    Args:
        rng: The random stream.
        p: One probability for all, or one per household.
        n: Number of households when ``p`` is one probability.

    Returns:
        Ascending indices of the households it befalls.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        return success_positions(rng, int(n or 0), float(p))
    p_max = min(float(p.max()), 1.0) if p.size else 0.0
    candidates = success_positions(rng, p.size, p_max)
    if candidates.size == 0:
        return candidates
    return candidates[rng.random(candidates.size) < p[candidates] / p_max]


def binomial_draws(rng: np.random.Generator, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """Binomial draws with ``n[i]`` trials of probability ``p`` (or ``p[i]``) for each household.

    The same distribution as ``rng.binomial(n, p)``, drawing random numbers for the successes
    only, which suits many households with a few trials each and a small ``p`` (jobs lost or
    found in a month, workers ageing out in a year): the trials of all households are laid end
    to end and the positions of the successes of probability ``p_max`` (the largest ``p``)
    among them drawn (:func:`success_positions`); where ``p`` differs by household, each such
    success is kept with probability ``p[i] / p_max`` (thinning). Every trial is an independent
    Bernoulli(``p[i]``), and about ``n.sum() * p_max`` numbers are drawn instead of ``n.sum()``.

    Args:
        rng: The random stream.
        n: Trials per household (non-negative integers).
        p: Probability of success of each trial, one for all or one per household.

    Returns:
        Successes per household (``int64``).
    """
    which, successes = binomial_successes(rng, n, p)
    draws = np.zeros(np.size(n), dtype=np.int64)
    draws[which] = successes
    return draws


def binomial_successes(
    rng: np.random.Generator, n: np.ndarray, p: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`binomial_draws` as the households with a success and their successes.

    Returns:
        Ascending indices into ``n`` of the households with at least one success, and the
        number of successes of each.
    """
    n = np.asarray(n)
    p = np.asarray(p, dtype=np.float64)
    ends = np.cumsum(n, dtype=np.int64)  # household i owns trials ends[i] - n[i] ... ends[i] - 1
    total = int(ends[-1]) if n.size else 0
    p_max = min(float(p.max()), 1.0) if p.size else 0.0
    positions = success_positions(rng, total, p_max)
    owner = np.searchsorted(ends, positions, side="right")
    if p.ndim and owner.size:
        owner = owner[rng.random(owner.size) < p[owner] / p_max]
    return np.unique(owner, return_counts=True)


def labour_market(hh: Households, p: DynamicsParams, rng: np.random.Generator, year: int) -> None:
    """Job losses and job finding for this month (households without labour never work)."""
    if hh.kernels is not None:
        _labour_market_compiled(hh, p, rng, year)
        return
    losers, lost = _job_losses(hh, p, rng)
    if losers.size:
        hh.jobs[losers] -= lost.astype(np.int8)
        emptied = losers[hh.jobs[losers] == 0]
        hh.job_wage[emptied] = 0.0
    idx, found = _job_finds(hh, p, rng)
    if idx.size:
        _add_jobs(hh, p, year, idx, found)


def _add_jobs(
    hh: Households, p: DynamicsParams, year: int, idx: np.ndarray, found: np.ndarray
) -> None:
    """Households ``idx`` find ``found`` jobs: their wage becomes the mean of old and new jobs'."""
    wage = new_job_wage(p, year) * skill_wage_factor(p, hh.skill[idx])
    old = hh.jobs[idx].astype(np.float64)
    hh.job_wage[idx] = (hh.job_wage[idx] * old + wage * found) / (old + found)
    hh.jobs[idx] += found.astype(np.int8)


def _no_draws() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _finding_chance(p: DynamicsParams, job_access: np.ndarray | np.float32) -> np.ndarray:
    """A seeker's monthly chance of finding a job (float32, as ``job_access``), at most 1."""
    return np.minimum(p.job_finding_rate * job_access, 1.0)


def _job_losses(
    hh: Households, p: DynamicsParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Households losing jobs this month, and how many each loses."""
    holders = np.flatnonzero(hh.jobs > 0)
    if not holders.size:
        return _no_draws()
    which, lost = binomial_successes(rng, hh.jobs[holders], p.job_loss_rate)
    return holders[which], lost


def _job_finds(
    hh: Households, p: DynamicsParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Households finding jobs this month, and how many each finds."""
    free = hh.job_seekers
    seekers = np.flatnonzero(free > 0)
    if not seekers.size:
        return _no_draws()
    chance = _finding_chance(p, hh.job_access[seekers])
    which, found = binomial_successes(rng, free[seekers], chance)
    return seekers[which], found


def _labour_market_compiled(
    hh: Households, p: DynamicsParams, rng: np.random.Generator, year: int
) -> None:
    """:func:`labour_market` by walks over the households: the same draws and results.

    Households without a job own no trials, so the trials' positions fall on the same
    households whether or not they are left out first (the losses). The chance of the likeliest
    seeker is the rate at the largest ``job_access`` (the float32 product rounds
    monotonically); each success is then kept with its household's own chance over that one,
    as :func:`binomial_successes` does (the finds).
    """
    kernels = hh.kernels
    stream = draws.numpy_stream(hh, rng)
    if stream is not None and hh.skill.dtype == np.float32:  # every step in one compiled call
        kernels.labour_market(
            stream, hh.jobs, hh.job_wage, hh.workers, hh.occupied, hh.groups.is_no_labour,
            hh.job_access, hh.skill, float(p.job_loss_rate), float(p.job_finding_rate),
            new_job_wage(p, year), p.skill_wage_floor, p.skill_wage_span,
        )  # fmt: skip
        return
    total = int(hh.jobs.sum(dtype=np.int64))
    if total:
        positions = success_positions(rng, total, min(float(p.job_loss_rate), 1.0))
        kernels.lose_jobs(hh.jobs, hh.job_wage, positions)
    free = hh.job_seekers
    total, access_max = kernels.seeker_trials(free, hh.job_access)
    if not total:
        return
    p_max = min(float(_finding_chance(p, np.float32(access_max))), 1.0)
    owner = kernels.trial_owners(free, success_positions(rng, int(total), p_max))
    if owner.size:
        chance = _finding_chance(p, hh.job_access[owner]).astype(np.float64)
        owner = owner[rng.random(owner.size) < chance / p_max]
    if not owner.size:
        return
    if hh.skill.dtype == np.float32:  # the kernel computes the new wages in float32, as numpy
        kernels.take_jobs(
            owner, hh.jobs, hh.job_wage, hh.skill, new_job_wage(p, year),
            p.skill_wage_floor, p.skill_wage_span,
        )  # fmt: skip
    else:
        _add_jobs(hh, p, year, *kernels.runs(owner))


def illness_probability(hh: Households, p: DynamicsParams) -> np.ndarray:
    """Monthly probability of a serious-illness episode per household (size and chronic fixed)."""
    rate = p.illness_rate * hh.size * np.where(hh.chronic, p.chronic_multiplier, 1.0)
    return -np.expm1(-rate)


def illness(
    hh: Households,
    p: DynamicsParams,
    rng: np.random.Generator,
    probability: np.ndarray | None = None,
) -> np.ndarray:
    """New serious-illness episodes this month; returns the indices of the ill households.

    Sets the months of lost work and this month's out-of-pocket cost after ordinary insurance
    (a health measure may pay part of what is left). ``probability`` is
    :func:`illness_probability`, computed once per run by the caller.
    """
    if probability is None:
        probability = illness_probability(hh, p)
    stream = draws.numpy_stream(hh, rng)
    if stream is not None:  # the same draws and results in one compiled call
        return hh.kernels.illness(
            stream, hh.ill_months, hh.medical_oop_m, probability, hh.insured,
            p.illness_months, p.insurance_reimbursement, p.illness_cost,
        )  # fmt: skip
    np.subtract(hh.ill_months, 1, out=hh.ill_months, where=hh.ill_months > 0)
    hh.medical_oop_m[:] = 0.0
    ill = bernoulli_indices(rng, probability)
    if ill.size:
        hh.ill_months[ill] = p.illness_months
        covered = np.where(hh.insured[ill], p.insurance_reimbursement, 0.0)
        hh.medical_oop_m[ill] = p.illness_cost * (1 - covered)
    return ill
