"""Exit verification: what counties report, what a sample check finds, and what is true.

The plan's exit rule (§I.3) judges true income; a county judges the income it *sees*. Each
December, with the mechanism on:

1. the true verdict is computed as without the mechanism (:func:`assess_households` on the
   12-month realised income and the true guarantees);
2. the county's verdict uses seen income: realised income times a log-normal measurement error
   of mean one (``income_error_sd``); for a share ``paper_exit_share`` of labour-capable
   households the county counts *expected* income instead when it is higher (the "paper exit"
   the 2017 national audit found: this December's income counted for a whole year), and an
   unmet guarantee is reported met with probability ``guarantee_oversight``. The households
   that pass on what the county sees are its **reported exits**;
3. a verification sample draws each reported exit with probability ``sample_share``; a sampled
   exit that does not qualify on true income and guarantees (a **wrong exit**) is found with
   probability ``detection_probability`` and returned to the register (it stays poor);
4. a county whose wrong exits found exceed ``tolerance`` of its sampled exits has all its
   exits of the year stopped (the 2017 rule: no county declared out above 2% wrong exits);
5. the exits that stand are applied; relapses are judged on seen income as well (the county
   keeps the register).

The **income-verified** exits are the registered households counted out whose true income is at
or above the year's line and whose guarantees all hold (households without labour capacity:
enrolled in dibao or five-guarantee support, and the guarantees). Every random draw is taken
from the model's generator, and only when the mechanism is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from model.engine.assessment import (
    EXITED,
    POOR,
    HouseholdVerdict,
    assess_households,
    labour_capable,
)
from model.engine.households import people_where
from model.engine.mechanisms.base import REPORTED_FACTS as README
from model.engine.mechanisms.base import Mechanism
from model.engine.params import Section, assumption, param, plan, statistic

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel


class VerificationParams(Section):
    """Exit verification: measurement error, paper exits and the sample check (§III.5)."""

    enabled: bool = param(
        False,
        unit="switch",
        source=plan("§III.5", "annual assessment of exits, supervision groups"),
        doc="Whether counties judge exits on seen income and a sample check verifies them.",
    )
    income_error_sd: float = param(
        0.10,
        unit="standard deviation of log seen income",
        source=assumption(
            "register income surveys by village cadres; no published error; kept "
            "small because of 283 counties checked in 2018, 86.6% had no wrong exit found "
            f"({README})"
        ),
        doc="Size of the error with which assessment sees a household's income (0 = exact).",
        range=(0.0, 0.4),
        ge=0,
        le=2,
    )
    paper_exit_share: float = param(
        0.03,
        unit="share of labour-capable households assessed",
        source=assumption(
            "the 2017 national audit of 158 counties found 17,000 people declared "
            f"out too early in 19 of them ({README})"
        ),
        doc="Share of labour-capable households whose assessment counts expected income "
        "(this December's income for a whole year) when it is above realised income.",
        range=(0.0, 0.3),
        ge=0,
        le=1,
    )
    guarantee_oversight: float = param(
        0.02,
        unit="probability",
        source=assumption(
            "the 2017 audit found exits with schooling, medical or housing "
            f"guarantees unmet ({README})"
        ),
        doc="Probability that an unmet guarantee is reported as met.",
        range=(0.0, 0.2),
        ge=0,
        le=1,
    )
    sample_share: float = param(
        0.25,
        unit="share of reported exits",
        source=statistic(
            "Guangdong's 2018 check: at least 10 exiting households per village and 1% "
            f"of registered households ({README})",
            "10 x 278 villages over about 12,800 exiting "
            "households a year is 0.22, with the 1% of the register about 0.25",
        ),
        doc="Share of the year's reported exits drawn into the verification sample.",
        range=(0.01, 1.0),
        kind="lever",
        ge=0,
        le=1,
    )
    detection_probability: float = param(
        0.8,
        unit="probability",
        source=assumption("third-party surveys re-measure income and visit the household"),
        doc="Probability that the check finds a sampled wrong exit.",
        range=(0.5, 1.0),
        ge=0,
        le=1,
    )
    tolerance: float = param(
        0.02,
        unit="share of a county's sampled exits",
        source=statistic(
            f"the 2017 national rule: at most 2% wrong exits in third-party checks ({README})"
        ),
        doc="A county whose wrong exits found exceed this share of its sample has its exits "
        "of the year stopped.",
        range=(0.0, 0.05),
        kind="lever",
        ge=0,
        le=1,
    )


def seen_income(
    income_pc: np.ndarray,
    expected_pc: np.ndarray,
    error_sd: float,
    paper: np.ndarray,
    rng: np.random.Generator,
    assessed: np.ndarray | None = None,
) -> np.ndarray:
    """Income per capita as assessment sees it.

    Args:
        income_pc: Realised 12-month income per capita (yuan).
        expected_pc: Expected income per capita (this December's income times 12); with
            ``assessed``, only its entries there are read.
        error_sd: Standard deviation of the log error; 0 returns ``income_pc`` where no
            household is a paper exit.
        paper: Households whose assessment counts expected income when it is higher.
        rng: The model's generator (one normal draw per household, assessed or not).
        assessed: Indices of the households whose seen income is read (the registered);
            the others keep ``income_pc``. Their seen incomes are the same either way.

    Returns:
        ``max(realised, expected if paper) x exp(sd z - sd^2 / 2)``, an error of mean one.
    """
    z = rng.standard_normal(income_pc.shape[0])
    if assessed is None:
        factor = np.exp(error_sd * z - error_sd**2 / 2)
        base = np.where(paper, np.maximum(income_pc, expected_pc), income_pc)
        return base * factor
    factor = np.exp(error_sd * z[assessed] - error_sd**2 / 2)
    realised = income_pc[assessed]
    base = np.where(paper[assessed], np.maximum(realised, expected_pc[assessed]), realised)
    seen = income_pc.copy()
    seen[assessed] = base * factor
    return seen


def verification_sample(
    reported: np.ndarray,
    wrong: np.ndarray,
    county: np.ndarray,
    n_counties: int,
    sample_share: float,
    detection: float,
    tolerance: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the verification sample, find wrong exits in it, stop the counties above tolerance.

    Args:
        reported: Reported exits of the year (mask).
        wrong: Reported exits that do not qualify on true income and guarantees (mask).
        county: County code of every household.
        n_counties: Number of counties.
        sample_share: Probability that a reported exit is sampled.
        detection: Probability that a sampled wrong exit is found.
        tolerance: Largest share of a county's sample found wrong that still lets it exit.
        rng: The model's generator (two uniform draws per household).

    Returns:
        Masks of sampled and of found households, and a boolean per county: exits stopped.
    """
    n = reported.shape[0]
    sampled = reported & (rng.random(n) < sample_share)
    found = sampled & wrong & (rng.random(n) < detection)
    sampled_c = np.bincount(county[sampled], minlength=n_counties)
    found_c = np.bincount(county[found], minlength=n_counties)
    stopped = (sampled_c > 0) & (found_c > tolerance * sampled_c)
    return sampled, found, stopped


class ExitVerification(Mechanism):
    """Reported exits on seen income, a verification sample, and income-verified exits."""

    name = "verification"
    Params = VerificationParams

    def __init__(self, params: VerificationParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n = model.households.n
        #: registered households that qualify on true income and guarantees (last December)
        self.truly_out = np.zeros(n, dtype=bool)
        self.stats: dict[str, int] = {}
        self.county: dict[str, np.ndarray] = {}

    def after_household_verdict(
        self,
        model: PovertyModel,
        verdict: HouseholdVerdict,
        income_pc: np.ndarray,
        line: float,
        guarantees: np.ndarray,
    ) -> HouseholdVerdict:
        """The county's verdict on seen income, after the verification sample."""
        p = self.params
        hh = model.households
        a = model.scenario.assessment
        rng = model.rng
        n = hh.n
        labour = labour_capable(hh.group)
        paper = labour & (rng.random(n) < p.paper_exit_share)
        # only the registered are judged (assess_households masks the rest), so the error
        # and expected income are computed for them alone, from the same draws
        reg = hh.groups.registered
        expected_pc = np.zeros(n)
        expected_pc[reg] = 12.0 * hh.income_history[11, reg] / hh.size[reg]
        seen = seen_income(income_pc, expected_pc, p.income_error_sd, paper, rng, assessed=reg)
        seen_guarantees = guarantees | (rng.random(n) < p.guarantee_oversight)
        enrolled = hh.enrolled_social
        relapse_line = a.relapse_share * line
        reported = assess_households(
            group=hh.group,
            status=hh.status,
            registered=hh.registered,
            income_per_capita=seen,
            enrolled_social=enrolled,
            guarantees=seen_guarantees,
            exit_line=line,
            relapse_line=relapse_line,
        )
        # who qualifies on the truth, whatever the status (the same rule, every household poor)
        self.truly_out = assess_households(
            group=hh.group,
            status=np.full(n, POOR, dtype=hh.status.dtype),
            registered=hh.registered,
            income_per_capita=income_pc,
            enrolled_social=enrolled,
            guarantees=guarantees,
            exit_line=line,
            relapse_line=relapse_line,
        ).exits
        wrong = reported.exits & ~self.truly_out
        sampled, found, stopped = verification_sample(
            reported.exits,
            wrong,
            hh.county,
            model.n_counties,
            p.sample_share,
            p.detection_probability,
            p.tolerance,
            rng,
        )
        stands = reported.exits & ~found & ~stopped[hh.county]
        size = hh.size
        self.stats = {
            "reported_exited_people": people_where(size, reported.exits),
            "reported_exited_households": int(np.count_nonzero(reported.exits)),
            "wrong_exits_reported": int(np.count_nonzero(wrong)),
            "exits_sampled": int(np.count_nonzero(sampled)),
            "wrong_exits_found": int(np.count_nonzero(found)),
            "wrong_exits_found_people": people_where(size, found),
            "counties_exits_stopped": int(np.count_nonzero(stopped)),
            "exits_withheld_people": people_where(size, reported.exits & ~stands),
        }
        n_c = model.n_counties
        out = np.flatnonzero(reported.exits)
        self.county = {
            "reported_exited_people": np.bincount(hh.county[out], size[out], n_c).astype(np.int64),
            "wrong_exits_found": np.bincount(hh.county[found], minlength=n_c),
            "exits_stopped": stopped,
        }
        return HouseholdVerdict(exits=stands, relapses=reported.relapses)

    def _verified(self, model: PovertyModel) -> np.ndarray:
        hh = model.households
        return hh.registered & (hh.status == EXITED) & self.truly_out

    def annual_row(self, model: PovertyModel) -> dict[str, Any]:
        """Reported, found and income-verified exits of the year, against the target."""
        hh = model.households
        verified = self._verified(model)
        exited = hh.registered & (hh.status == EXITED)
        cumulative = people_where(hh.size, verified)
        target = model.scenario.targets.target_for(model.year)
        target_scaled = None if target is None else round(target * model.population.scale)
        return {
            **self.stats,
            "income_verified_exited_people": cumulative,
            "wrong_exits_on_register_people": people_where(hh.size, exited & ~verified),
            "income_verified_target_met": None
            if target_scaled is None
            else bool(cumulative >= target_scaled),
        }

    def county_rows(self, model: PovertyModel) -> list[dict[str, Any]]:
        """Each county's reported exits, wrong exits found, and whether its exits stopped."""
        hh = model.households
        verified = self._verified(model)
        size = hh.size.astype(np.int64)
        verified_c = np.bincount(hh.county[verified], size[verified], model.n_counties)
        c = self.county
        return [
            {
                "reported_exited_people": int(reported),
                "wrong_exits_found": int(found),
                "exits_stopped": bool(stopped),
                "income_verified_exited_people": int(verified),
            }
            for reported, found, stopped, verified in zip(
                c["reported_exited_people"].tolist(), c["wrong_exits_found"].tolist(),
                c["exits_stopped"].tolist(), verified_c.tolist(), strict=True,
            )
        ]  # fmt: skip

    def invariant_checks(self) -> Mapping[str, Any]:
        """The sample never finds more wrong exits than exist, nor withholds more than reported."""
        return {"verification_counts": self._counts_consistent}

    def _counts_consistent(self, model: PovertyModel) -> str | None:
        s = self.stats
        if not s:
            return None
        if not (
            s["wrong_exits_found"] <= s["wrong_exits_reported"] <= s["reported_exited_households"]
            and s["wrong_exits_found"] <= s["exits_sampled"] <= s["reported_exited_households"]
            and s["exits_withheld_people"] <= s["reported_exited_people"]
        ):
            return f"verification counts out of order: {s}"
        return None
