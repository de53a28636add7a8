"""Synthetic population calibrated to the plan (§I.2, §II.9) and to pre-2016 statistics.

Reconciling the plan's rounding: §II.9 lists 10,000 + 9,000 + 19,000 = 38,000 households and
34,000 + 30,000 + 31,000 = 95,000 people, while §I.2 gives the headline 38,500 households and
95,500 people. The generator keeps the headline totals exact and splits them over the three
groups in proportion to §II.9 by the largest-remainder method: 10,132 / 9,118 / 19,250 households
and 34,179 / 30,158 / 31,163 people (within 1.4% of every §II.9 figure, and consistent with the
plan's "34,000+" and "30,000+"). ``--population-scale F`` applies the same method to the scaled
totals ``round(38,500 F)`` and ``round(95,500 F)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import field_validator, model_validator

from model.engine.assessment import (
    CHECKLIST_ITEMS,
    LABOUR_SCATTERED,
    LABOUR_VILLAGE,
    NO_LABOUR,
    NON_POOR,
    labour_capable,
)
from model.engine.households import Households, initial_status
from model.engine.params import Section, assumption, param, plan, statistic

COUNTY_SOURCE = assumption(
    "weights roughly proportional to each unit's rural registered population around 2015; no "
    "pre-2016 county breakdown of the 278 villages is used; range +-30%"
)
PARTIES = ("province", "dongguan", "shaoguan")


class CountyParams(Section):
    """One of Shaoguan's ten county-level units."""

    name_zh: str = param(
        "", unit="text", source=statistic("administrative division of Shaoguan, 2015")
    )
    poor_village_weight: float = param(
        1.0, unit="relative weight", source=COUNTY_SOURCE, doc="Share of the poor villages.", ge=0
    )
    scattered_weight: float = param(
        1.0,
        unit="relative weight",
        source=COUNTY_SOURCE,
        doc="Share of poor households living outside poor villages.",
        ge=0,
    )
    three_kinds_area: bool = param(
        False,
        unit="switch",
        source=plan(
            "§II.10",
            "former Central Soviet, old revolutionary base, ethnic areas; which units qualify is "
            "an assumption",
        ),
    )


def _default_counties() -> dict[str, CountyParams]:
    rows = {
        # key: (Chinese name, poor-village weight, scattered weight, three kinds of area)
        "wujiang": ("武江区", 0.04, 0.05, False),
        "zhenjiang": ("浈江区", 0.04, 0.05, False),
        "qujiang": ("曲江区", 0.10, 0.10, False),
        "lechang": ("乐昌市", 0.17, 0.15, True),
        "nanxiong": ("南雄市", 0.15, 0.14, True),
        "renhua": ("仁化县", 0.09, 0.08, True),
        "shixing": ("始兴县", 0.09, 0.08, True),
        "wengyuan": ("翁源县", 0.14, 0.12, False),
        "xinfeng": ("新丰县", 0.10, 0.09, False),
        # §II.10: Ruyuan has no relatively poor village.
        "ruyuan": ("乳源瑶族自治县", 0.0, 0.08, True),
    }
    return {
        key: CountyParams(name_zh=zh, poor_village_weight=w, scattered_weight=s, three_kinds_area=t)
        for key, (zh, w, s, t) in rows.items()
    }


class PopulationParams(Section):
    """Counts from the plan and the distributions that fill in the households."""

    registered_households: int = param(38_500, unit="households", source=plan("§I.2"), ge=1)
    registered_people: int = param(95_500, unit="people", source=plan("§I.2"), ge=1)
    labour_village_households: int = param(10_000, unit="households", source=plan("§II.9"), ge=0)
    labour_village_people: int = param(34_000, unit="people", source=plan("§II.9"), ge=0)
    labour_scattered_households: int = param(9_000, unit="households", source=plan("§II.9"), ge=0)
    labour_scattered_people: int = param(30_000, unit="people", source=plan("§II.9"), ge=0)
    no_labour_households: int = param(19_000, unit="households", source=plan("§II.9"), ge=0)
    no_labour_people: int = param(31_000, unit="people", source=plan("§II.9"), ge=0)
    poor_villages: int = param(278, unit="villages", source=plan("§I.2"), ge=1)
    villages_by_party: dict[str, int] = param(
        default_factory=lambda: {"province": 40, "dongguan": 209, "shaoguan": 29},
        unit="villages",
        source=plan("§II.9, §II.12"),
        doc="Poor villages by assisting party (provincial/central units, Dongguan, Shaoguan).",
    )
    no_labour_in_poor_villages_share: float = param(
        0.5,
        unit="share of households without labour capacity",
        source=assumption("the plan does not say where they live"),
        range=(0.3, 0.7),
        ge=0,
        le=1,
    )
    village_people_mean: float = param(
        1_800.0,
        unit="registered people per administrative village",
        source=assumption("Guangdong administrative villages, about 1,000-3,000 people"),
        range=(1_200.0, 2_600.0),
        gt=0,
    )
    village_people_sd_log: float = param(
        0.35, unit="sd of log village size", source=assumption(), range=(0.2, 0.5), ge=0, le=2
    )
    non_poor_household_size: float = param(
        3.5,
        unit="people per household",
        source=assumption("Guangdong rural households averaged about 3.5 people in 2015"),
        ge=1,
        le=8,
    )
    poor_income_mean_share: float = param(
        0.70,
        unit="share of the 2015 poverty line",
        source=assumption(),
        doc="Mean baseline per-capita income of registered households relative to the line.",
        range=(0.55, 0.85),
        gt=0,
        lt=1,
    )
    poor_income_concentration: float = param(
        8.0,
        unit="beta concentration (alpha + beta)",
        source=assumption(),
        range=(4.0, 16.0),
        gt=0,
    )
    non_poor_income_2015: float = param(
        7_600.0,
        unit="yuan/person/year",
        source=assumption("poor villages' other residents, below Shaoguan's 2015 rural mean"),
        range=(6_500.0, 8_800.0),
        gt=0,
    )
    village_income_sd_log: float = param(
        0.15, unit="sd of log village mean income", source=assumption(), range=(0.05, 0.3), ge=0
    )
    household_income_sd_log: float = param(
        0.45, unit="sd of log household income", source=assumption(), range=(0.2, 0.7), ge=0
    )
    employed_share_poor: float = param(
        0.30,
        unit="share of workers in registered households",
        source=assumption("casual or part-year wage work at baseline"),
        range=(0.15, 0.45),
        ge=0,
        le=1,
    )
    employed_share_non_poor: float = param(
        0.60, unit="share of workers", source=assumption(), range=(0.4, 0.8), ge=0, le=1
    )
    wage_share_poor: float = param(
        0.35,
        unit="share of income of an employed registered household",
        source=assumption("Guangdong rural wage share about 40% in 2015"),
        range=(0.2, 0.5),
        ge=0,
        le=1,
    )
    wage_share_non_poor: float = param(
        0.55, unit="share of income of an employed household", source=assumption(), ge=0, le=1
    )
    property_share: float = param(
        0.03,
        unit="share of non-wage income",
        source=assumption("rural property income about 2-3% in 2015 surveys"),
        ge=0,
        le=1,
    )
    transfer_share_labour: float = param(
        0.25, unit="share of non-wage income", source=assumption(), ge=0, le=1
    )
    transfer_share_no_labour: float = param(
        0.70, unit="share of non-wage income", source=assumption(), ge=0, le=1
    )
    transfer_share_non_poor: float = param(
        0.20, unit="share of non-wage income", source=assumption(), ge=0, le=1
    )
    unsafe_housing_share: float = param(
        0.2035,
        unit="share of registered households",
        source=plan("§II.7", "4,541 + 3,293 renovations / 38,500 households"),
        range=(0.15, 0.25),
        ge=0,
        le=1,
    )
    out_of_school_share: float = param(
        0.02,
        unit="share of registered households with school-age children",
        source=assumption("compulsory-education retention about 98% in 2015"),
        range=(0.0, 0.05),
        ge=0,
        le=1,
    )
    uninsured_share: float = param(
        0.012,
        unit="share of households",
        source=statistic(
            "National Health and Family Planning Commission statistical bulletin 2015",
            "new rural cooperative medical scheme participation 98.8% in 2015",
        ),
        ge=0,
        le=1,
    )
    disabled_share_no_labour: float = param(
        0.35, unit="share of households", source=assumption(), range=(0.2, 0.5), ge=0, le=1
    )
    chronic_share_labour: float = param(
        0.15, unit="share of households", source=assumption(), range=(0.05, 0.3), ge=0, le=1
    )
    chronic_share_no_labour: float = param(
        0.40, unit="share of households", source=assumption(), range=(0.2, 0.6), ge=0, le=1
    )
    extra_member_worker_share: float = param(
        0.5,
        unit="probability per member beyond the first of a labour-capable household",
        source=assumption("about half of the other members work", range=(0.3, 0.7)),
        doc="Each member beyond the first of a labour-capable household works with this "
        "chance (households without labour capacity have no workers).",
        ge=0,
        le=1,
    )
    school_child_share_labour: float = param(
        0.55,
        unit="probability per non-working member of a labour-capable household",
        source=assumption(
            "most non-working members of working-age households are children",
            range=(0.4, 0.7),
        ),
        doc="A non-working member is a school-age child with this chance, else elderly.",
        ge=0,
        le=1,
    )
    school_child_share_no_labour: float = param(
        0.25,
        unit="probability per member of a household without labour capacity",
        source=assumption(
            "households without labour capacity are mostly elderly",
            range=(0.1, 0.4),
        ),
        doc="A member is a school-age child with this chance, else elderly.",
        ge=0,
        le=1,
    )
    skill_shape_a_registered: float = param(
        2.0,
        unit="Beta shape alpha",
        source=assumption(
            "registered workers' skill Beta(2, 5): mean 0.29, most below the middle",
            range=(1.5, 3.0),
        ),
        doc="First shape of the Beta distribution of a registered household's skill (0-1).",
        gt=0,
    )
    skill_shape_b_registered: float = param(
        5.0,
        unit="Beta shape beta",
        source=assumption("see skill_shape_a_registered", range=(3.0, 7.0)),
        doc="Second shape of the Beta distribution of a registered household's skill.",
        gt=0,
    )
    skill_shape_a_non_poor: float = param(
        3.0,
        unit="Beta shape alpha",
        source=assumption(
            "non-poor village workers' skill Beta(3, 3): mean 0.5, symmetric",
            range=(2.0, 4.0),
        ),
        doc="First shape of the Beta distribution of a non-poor household's skill (0-1).",
        gt=0,
    )
    skill_shape_b_non_poor: float = param(
        3.0,
        unit="Beta shape beta",
        source=assumption("see skill_shape_a_non_poor", range=(2.0, 4.0)),
        doc="Second shape of the Beta distribution of a non-poor household's skill.",
        gt=0,
    )
    baseline_services: dict[str, float] = param(
        default_factory=lambda: {
            "road": 0.75,
            "water": 0.70,
            "clinic": 0.60,
            "info_station": 0.30,
            "bus": 0.70,
        },
        unit="share of poor villages with the service at the end of 2015",
        source=assumption(),
    )
    counties: dict[str, CountyParams] = param(
        default_factory=_default_counties,
        unit="table of county-level units",
        source=COUNTY_SOURCE,
    )

    @field_validator("baseline_services")
    @classmethod
    def _all_services(cls, shares: dict[str, float]) -> dict[str, float]:
        # a table that names some items keeps the defaults of the others
        return {**cls.model_fields["baseline_services"].default_factory(), **shares}

    @model_validator(mode="after")
    def _consistent(self) -> PopulationParams:
        if sum(self.villages_by_party.values()) != self.poor_villages:
            raise ValueError(
                f"villages_by_party must sum to poor_villages = {self.poor_villages}, "
                f"found {sum(self.villages_by_party.values())}"
            )
        unknown = sorted(set(self.villages_by_party) - set(PARTIES))
        if unknown:
            raise ValueError(
                f"villages_by_party keys must be among {list(PARTIES)}, found {unknown}"
            )
        if any(v < 0 for v in self.villages_by_party.values()):
            raise ValueError("villages_by_party counts must be >= 0")
        if self.registered_people < self.registered_households:
            raise ValueError("registered_people must be >= registered_households")
        for item, share in self.baseline_services.items():
            if item not in CHECKLIST_ITEMS:
                raise ValueError(f"baseline_services: unknown item {item!r}")
            if not 0 <= share <= 1:
                raise ValueError(f"baseline_services.{item} must be in [0, 1], found {share}")
        if not self.counties:
            raise ValueError("counties must list at least one county-level unit")
        if sum(c.poor_village_weight for c in self.counties.values()) <= 0:
            raise ValueError("counties: some poor_village_weight must be > 0")
        if sum(c.scattered_weight for c in self.counties.values()) <= 0:
            raise ValueError("counties: some scattered_weight must be > 0")
        for name, households, people in self.group_counts():
            if households > 0 and people < households:
                raise ValueError(f"{name}: people ({people}) must be >= households ({households})")
        return self

    def group_counts(self) -> list[tuple[str, int, int]]:
        """The §II.9 rows as (name, households, people)."""
        return [
            ("labour_village", self.labour_village_households, self.labour_village_people),
            ("labour_scattered", self.labour_scattered_households, self.labour_scattered_people),
            ("no_labour", self.no_labour_households, self.no_labour_people),
        ]


def apportion(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` by the largest-remainder method.

    >>> apportion(38_500, [10_000, 9_000, 19_000]).tolist()
    [10132, 9118, 19250]
    """
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    remainder = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:remainder]] += 1
    return base


def scaled_group_counts(pop: PopulationParams, scale: float) -> list[tuple[str, int, int]]:
    """Households and people per §II.9 group, headline totals exact at ``scale``."""
    total_h = round(pop.registered_households * scale)
    total_p = round(pop.registered_people * scale)
    rows = pop.group_counts()
    hh = apportion(total_h, [r[1] for r in rows])
    pp = apportion(total_p, [r[2] for r in rows])
    return [(rows[i][0], int(hh[i]), int(max(pp[i], hh[i]))) for i in range(len(rows))]


class PopulationError(ValueError):
    """A population scale (or setting) under which a group or a county has no household."""


def population_gaps(pop: PopulationParams, scale: float) -> list[str]:
    """The §II.9 groups and the counties that get no household at ``scale`` (empty if none).

    Deterministic: a group's households are apportioned exactly; a county's registered
    households are drawn at random in proportion to its weight, so a county is counted here
    when even its apportioned share of the registered households rounds to zero.
    """
    groups = scaled_group_counts(pop, scale)
    gaps = [f"group {name}" for name, households, _ in groups if households == 0]
    weights = [c.scattered_weight for c in pop.counties.values()]
    shares = apportion(sum(h for _, h, _ in groups), weights)
    gaps += [
        f"county {name}"
        for name, w, n in zip(pop.counties, weights, shares, strict=True)
        if w > 0 and n == 0
    ]
    return gaps


def smallest_scale(pop: PopulationParams) -> float:
    """The smallest scale (to 3 significant digits) with no gap in any group or county."""
    low, high = 0.0, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if not population_gaps(pop, mid) else (mid, high)
    rounded = float(f"{high:.3g}")
    return rounded if not population_gaps(pop, rounded) else high


def check_population_scale(pop: PopulationParams, scale: float) -> None:
    """Refuse a scale under which a §II.9 group or a county would have no household.

    Raises:
        PopulationError: Naming the empty groups and counties and the smallest usable scale.
    """
    gaps = population_gaps(pop, scale)
    if gaps:
        shown = ", ".join(gaps[:4]) + (", ..." if len(gaps) > 4 else "")
        raise PopulationError(
            f"--population-scale {scale:g}: expected a scale at which every group and county "
            f"has households, found none in {shown}; use at least {smallest_scale(pop):g}"
        )


@dataclass
class VillageTable:
    """Baseline attributes of the poor villages, one array entry per village."""

    county: np.ndarray
    party: np.ndarray  # index into PARTIES
    three_kinds_area: np.ndarray
    services: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        """Number of villages."""
        return int(self.county.shape[0])


@dataclass
class Population:
    """The households and villages a run starts from."""

    households: Households
    villages: VillageTable
    county_names: list[str]
    scale: float


def _sizes(rng: np.random.Generator, households: int, people: int) -> np.ndarray:
    """Household sizes adding up exactly to ``people`` (1 + extra people spread at random)."""
    extra = np.bincount(rng.integers(0, households, size=people - households), minlength=households)
    return (1 + extra).astype(np.int16)


def _beta_share(rng: np.random.Generator, mean: float, concentration: float, n: int) -> np.ndarray:
    return rng.beta(mean * concentration, (1 - mean) * concentration, size=n)


def build_population(scenario, scale: float, rng: np.random.Generator) -> Population:  # noqa: ANN001
    """Generate the synthetic population of a scenario.

    Args:
        scenario: A validated :class:`model.engine.scenario.Scenario`.
        scale: Population scale in (0, 1]; every count is scaled, proportions kept.
        rng: The random stream reserved for the population.

    Returns:
        The households (registered poor plus the other households of the poor villages) and
        the poor villages, at the end of 2015.

    Raises:
        ValueError: If ``scale`` is outside (0, 1].
        PopulationError: If a §II.9 group or a county would have no household at ``scale``.

    Example:
        >>> import numpy as np
        >>> from model.engine.scenario import Scenario
        >>> pop = build_population(Scenario(), 1.0, np.random.default_rng(1))
        >>> int(pop.households.registered.sum()), int(pop.households.size[
        ...     pop.households.registered].sum()), pop.villages.n
        (38500, 95500, 278)
    """
    if not 0 < scale <= 1:
        raise ValueError(f"population scale must be in (0, 1], found {scale}")
    pop: PopulationParams = scenario.population
    check_population_scale(pop, scale)
    assess = scenario.assessment
    social = scenario.social_security
    county_names = list(pop.counties)
    counties = list(pop.counties.values())

    # villages: count, assisting party, county, services
    n_vill = max(1, round(pop.poor_villages * scale))
    party_counts = apportion(n_vill, [pop.villages_by_party.get(p, 0) for p in PARTIES])
    party = rng.permutation(np.repeat(np.arange(len(PARTIES)), party_counts)).astype(np.int8)
    vill_county_counts = apportion(n_vill, [c.poor_village_weight for c in counties])
    vill_county = rng.permutation(np.repeat(np.arange(len(counties)), vill_county_counts)).astype(
        np.int8
    )
    kinds = np.array([c.three_kinds_area for c in counties], dtype=bool)
    services = {
        item: rng.random(n_vill) < pop.baseline_services.get(item, 0.0) for item in CHECKLIST_ITEMS
    }
    villages = VillageTable(
        county=vill_county, party=party, three_kinds_area=kinds[vill_county], services=services
    )

    # registered households by §II.9 group
    (_, h_lv, p_lv), (_, h_ls, p_ls), (_, h_nl, p_nl) = scaled_group_counts(pop, scale)
    size_lv = _sizes(rng, h_lv, p_lv)
    size_ls = _sizes(rng, h_ls, p_ls)
    size_nl = _sizes(rng, h_nl, p_nl)
    n_reg = h_lv + h_ls + h_nl
    group = np.concatenate(
        [
            np.full(h_lv, LABOUR_VILLAGE),
            np.full(h_ls, LABOUR_SCATTERED),
            np.full(h_nl, NO_LABOUR),
        ]
    ).astype(np.int8)
    size_reg = np.concatenate([size_lv, size_ls, size_nl])

    # where the registered live: every village gets at least one labour-capable poor household
    village_reg = np.full(n_reg, -1, dtype=np.int16)
    first = min(h_lv, n_vill)
    village_reg[:first] = np.arange(first)
    village_reg[first:h_lv] = rng.integers(0, n_vill, size=h_lv - first)
    nl_idx = np.arange(h_lv + h_ls, n_reg)
    in_village = rng.random(h_nl) < pop.no_labour_in_poor_villages_share
    village_reg[nl_idx[in_village]] = rng.integers(0, n_vill, size=int(in_village.sum()))
    scattered_w = np.array([c.scattered_weight for c in counties], dtype=float)
    county_reg = rng.choice(len(counties), size=n_reg, p=scattered_w / scattered_w.sum())
    lives_in_village = village_reg >= 0
    county_reg[lives_in_village] = vill_county[village_reg[lives_in_village]]
    drawn = np.bincount(county_reg, None, len(counties))
    empty = [
        name for name, w, n in zip(county_names, scattered_w, drawn, strict=True) if w > 0 and not n
    ]
    if empty:
        raise PopulationError(
            f"--population-scale {scale:g}: expected a scale at which every county has "
            f"households, found none drawn in county {', '.join(empty)}; use a larger scale"
        )

    # the other households of the poor villages: enough people to keep the poor share >= 5%
    poor_people_v = np.bincount(village_reg[lives_in_village], size_reg[lives_in_village], n_vill)
    village_people = pop.village_people_mean * np.exp(
        pop.village_people_sd_log * rng.standard_normal(n_vill) - pop.village_people_sd_log**2 / 2
    )
    max_share = 1 - assess.village_poor_share_min
    cap = np.floor(poor_people_v * max_share / max(1 - max_share, 1e-9))
    non_poor_people = np.minimum(np.maximum(np.round(village_people - poor_people_v), 0), cap)
    non_poor_people = non_poor_people.astype(np.int64)
    np_households_v = np.where(
        non_poor_people > 0,
        np.maximum(1, np.round(non_poor_people / pop.non_poor_household_size)),
        0,
    ).astype(np.int64)
    n_np = int(np_households_v.sum())
    village_np = np.repeat(np.arange(n_vill), np_households_v).astype(np.int16)
    starts = np.concatenate([[0], np.cumsum(np_households_v)[:-1]])
    extra_v = non_poor_people - np_households_v
    extra_owner_v = np.repeat(np.arange(n_vill), extra_v)
    extra_house = starts[extra_owner_v] + np.floor(
        rng.random(extra_owner_v.size) * np_households_v[extra_owner_v]
    ).astype(np.int64)
    size_np = (1 + np.bincount(extra_house, minlength=n_np)).astype(np.int16)

    n = n_reg + n_np
    group = np.concatenate([group, np.full(n_np, NON_POOR, dtype=np.int8)])
    size = np.concatenate([size_reg, size_np])
    village = np.concatenate([village_reg, village_np])
    county = np.concatenate([county_reg, vill_county[village_np]]).astype(np.int8)
    registered = group != NON_POOR
    labour = labour_capable(group)
    no_labour = group == NO_LABOUR

    # composition
    workers = np.where(
        no_labour, 0, 1 + rng.binomial(size - 1, pop.extra_member_worker_share)
    ).astype(np.int8)
    rest = size - workers
    school_share = np.where(
        no_labour, pop.school_child_share_no_labour, pop.school_child_share_labour
    )
    school_children = rng.binomial(rest, school_share).astype(np.int8)
    elderly = (rest - school_children).astype(np.int8)
    disabled = no_labour & (rng.random(n) < pop.disabled_share_no_labour)
    chronic = rng.random(n) < np.where(
        no_labour, pop.chronic_share_no_labour, pop.chronic_share_labour
    )
    skill = np.where(
        registered,
        rng.beta(pop.skill_shape_a_registered, pop.skill_shape_b_registered, size=n),
        rng.beta(pop.skill_shape_a_non_poor, pop.skill_shape_b_non_poor, size=n),
    ).astype(np.float32)

    # the three guarantees at baseline
    housing_safe = ~(registered & (rng.random(n) < pop.unsafe_housing_share))
    children_in_school = ~(
        registered & (school_children > 0) & (rng.random(n) < pop.out_of_school_share)
    )
    insured = rng.random(n) >= pop.uninsured_share

    # social security at baseline (households without labour capacity only)
    wubao = no_labour & (size == 1) & (elderly >= 1) & (rng.random(n) < social.baseline_coverage)
    dibao = no_labour & ~wubao & (rng.random(n) < social.baseline_coverage)
    dibao_class = dibao.astype(np.int8)
    social_excluded = no_labour & (rng.random(n) < social.exclusion_error)
    wubao &= ~social_excluded
    dibao_class[social_excluded] = 0
    enrolled = wubao | (dibao_class > 0)

    # baseline (2015) per-capita income
    line = assess.poverty_line(2015)
    per_capita = line * np.clip(
        _beta_share(rng, pop.poor_income_mean_share, pop.poor_income_concentration, n),
        0.05,
        0.995,
    )
    social_2015 = np.where(wubao, social.wubao_standard_2015, social.dibao_standard_2015)
    enrolled_pc = social_2015 + (line - social_2015) * rng.random(n) * 0.99
    per_capita = np.where(enrolled, np.minimum(enrolled_pc, line * 0.995), per_capita)
    village_mean = pop.non_poor_income_2015 * np.exp(
        pop.village_income_sd_log * rng.standard_normal(n_vill) - pop.village_income_sd_log**2 / 2
    )
    np_pc = village_mean[np.maximum(village, 0)] * np.exp(
        pop.household_income_sd_log * rng.standard_normal(n) - pop.household_income_sd_log**2 / 2
    )
    per_capita = np.where(registered, per_capita, np.maximum(np_pc, line * 1.02))
    total = per_capita * size

    # keep every poor village below the 8,000-yuan line (2014 prices): scale the others down
    vline = assess.village_income_line_2014 * assess.price_index(2015)
    v_mask = village >= 0
    v_people = np.bincount(village[v_mask], size[v_mask], n_vill)
    v_income = np.bincount(village[v_mask], total[v_mask], n_vill)
    v_poor_income = np.bincount(village[v_mask], (total * registered)[v_mask], n_vill)
    v_np_income = v_income - v_poor_income
    target = 0.97 * vline * v_people
    too_rich = v_income >= 0.99 * vline * v_people
    factor = np.ones(n_vill)
    ok = too_rich & (v_np_income > 0)
    factor[ok] = np.maximum((target[ok] - v_poor_income[ok]) / v_np_income[ok], 0.0)
    non_poor_mask = ~registered
    total[non_poor_mask] *= factor[village[non_poor_mask]]
    total[non_poor_mask] = np.maximum(total[non_poor_mask], line * 1.02 * size[non_poor_mask])

    # decompose into the four components
    jobs = rng.binomial(
        workers, np.where(registered, pop.employed_share_poor, pop.employed_share_non_poor)
    ).astype(np.int8)
    wage_share = np.where(registered, pop.wage_share_poor, pop.wage_share_non_poor)
    social_paid = np.where(enrolled, social_2015 * size, 0.0)
    own = np.maximum(total - social_paid, 0.0)
    wage_total = np.where(jobs > 0, own * wage_share, 0.0)
    non_wage = own - wage_total
    transfer_share = np.select(
        [labour, no_labour],
        [pop.transfer_share_labour, pop.transfer_share_no_labour],
        pop.transfer_share_non_poor,
    )
    property_annual = non_wage * pop.property_share
    transfer_annual = non_wage * transfer_share
    business_annual = non_wage - property_annual - transfer_annual
    job_wage = np.where(jobs > 0, wage_total / 12 / np.maximum(jobs, 1), 0.0)

    status, exit_year = initial_status(n)
    hh = Households(
        county=county,
        village=village.astype(np.int16),
        group=group,
        registered=registered,
        size=size,
        workers=workers,
        school_children=school_children,
        elderly=elderly,
        disabled=disabled,
        chronic=chronic,
        skill=skill,
        housing_safe=housing_safe,
        children_in_school=children_in_school,
        insured=insured,
        jobs=jobs,
        job_wage=job_wage,
        business_annual=business_annual,
        property_annual=property_annual,
        transfer_annual=transfer_annual,
        farm_shock=np.ones(n),
        ill_months=np.zeros(n, dtype=np.int8),
        dibao_class=dibao_class,
        wubao=wubao,
        social_excluded=social_excluded,
        status=status,
        exit_year=exit_year,
    )
    hh.income_history[:] = (total / 12)[None, :]
    return Population(households=hh, villages=villages, county_names=county_names, scale=scale)
