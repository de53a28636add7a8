"""Household state as a struct of arrays: one numpy array per attribute.

Every rule of the model is a vectorised function over these arrays; there is no Python object
per household. Money flows are yuan per household per month (``float64``), stocks and counts use
the smallest integer type that holds them.

Most measures concern only the registered poor (about a fifth of the simulated households at
Shaoguan's scale), so :attr:`Households.groups` keeps the indices of the groups that never change
during a run (registered, labour-capable, without labour capacity, living in a poor village);
rules work on those indices instead of scanning every household.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import ModuleType

import numpy as np

from model.engine.assessment import EXITED, NO_LABOUR, POOR, labour_capable
from model.engine.kernels import compiled_for

#: The four income components of China's household surveys, as named in the outputs.
INCOME_COMPONENTS = ("wage", "business", "property", "transfer")


def people_where(size: np.ndarray, mask: np.ndarray) -> int:
    """``size[mask].sum()`` for a boolean ``mask``, exactly, as a Python int.

    A product and one pass instead of a boolean gather: the gather costs about ten times as much
    when the households it keeps are scattered over the arrays, as the register is once the
    living register has added households of the poor villages to it.
    """
    return int(np.multiply(size, mask).sum(dtype=np.int64))


def village_people(hh: Households, n_villages: int) -> np.ndarray:
    """People living in each poor village (float64, by village index)."""
    g = hh.groups
    return np.bincount(g.in_village_key, hh.size[g.in_village], n_villages)


@dataclass(frozen=True)
class GroupIndex:
    """Indices (ascending) of the household groups that stay fixed during a run.

    Built from ``group``, ``registered`` and ``village``.

    Attributes:
        registered: Registered poor households.
        labour: Registered households with labour capacity (§II.9 rows 1 and 2).
        no_labour: Households without labour capacity (§II.9 row 3).
        registered_in_village: Registered households living in a poor village.
        is_no_labour: Boolean mask of ``no_labour`` over all households.
        by_village: Every household living in a poor village, ordered by village.
        by_village_key: The village of each entry of ``by_village`` (ascending).
        in_village: Every household living in a poor village (ascending).
        in_village_key: The village of each entry of ``in_village``.
    """

    registered: np.ndarray
    labour: np.ndarray
    no_labour: np.ndarray
    registered_in_village: np.ndarray
    is_no_labour: np.ndarray
    by_village: np.ndarray
    by_village_key: np.ndarray
    in_village: np.ndarray
    in_village_key: np.ndarray

    @classmethod
    def of(cls, hh: Households) -> GroupIndex:
        """Build the indices of ``hh``'s groups."""
        no_labour = hh.group == NO_LABOUR
        labour = labour_capable(hh.group)
        in_village = np.flatnonzero(hh.village >= 0)
        by_village = in_village[np.argsort(hh.village[in_village], kind="stable")]
        index = cls(
            registered=np.flatnonzero(hh.registered),
            labour=np.flatnonzero(hh.registered & labour),
            no_labour=np.flatnonzero(no_labour),
            registered_in_village=np.flatnonzero(hh.registered & (hh.village >= 0)),
            is_no_labour=no_labour,
            by_village=by_village,
            by_village_key=hh.village[by_village],
            in_village=in_village,
            in_village_key=hh.village[in_village],
        )
        for array in vars(index).values():
            array.flags.writeable = False  # shared by every rule: never changed in place
        return index

    def village_members(self, village: int) -> np.ndarray:
        """Households (ascending) living in poor village ``village``."""
        lo, hi = np.searchsorted(self.by_village_key, [village, village + 1])
        return self.by_village[lo:hi]


@dataclass
class Households:
    """Every simulated household (registered poor and the other households of poor villages).

    Attributes are parallel arrays of length ``n``; see the field comments for units.
    """

    # identity and composition
    county: np.ndarray  # int8, index into the scenario's county list
    village: np.ndarray  # int16, index of the poor village, -1 for scattered households
    group: np.ndarray  # int8, LABOUR_VILLAGE / LABOUR_SCATTERED / NO_LABOUR / NON_POOR
    registered: np.ndarray  # bool, on the poverty register at baseline
    size: np.ndarray  # int16, people
    workers: np.ndarray  # int8, labour-capable adults
    school_children: np.ndarray  # int8, children of compulsory-school age
    elderly: np.ndarray  # int8, members aged 60 and over
    disabled: np.ndarray  # bool, a member with a disability
    chronic: np.ndarray  # bool, a member with a chronic illness
    skill: np.ndarray  # float32, 0-1 index of the workers' skills
    # the three guarantees
    housing_safe: np.ndarray  # bool
    children_in_school: np.ndarray  # bool, every school-age child enrolled
    insured: np.ndarray  # bool, basic medical insurance
    # work and income (yuan, nominal)
    jobs: np.ndarray  # int8, workers holding a wage job
    job_wage: np.ndarray  # float64, yuan/month per job (household average)
    business_annual: np.ndarray  # float64, net business income, yuan/year before shocks
    property_annual: np.ndarray  # float64, net property income, yuan/year
    transfer_annual: np.ndarray  # float64, transfers other than dibao/five-guarantee, yuan/year
    farm_shock: np.ndarray  # float64, this year's multiplier on business income
    ill_months: np.ndarray  # int8, months of work still lost to illness
    # social security
    dibao_class: np.ndarray  # int8, 0 = not enrolled, 1-3 = dibao class (§II.3)
    wubao: np.ndarray  # bool, five-guarantee support
    social_excluded: np.ndarray  # bool, missed by targeting (exclusion error)
    # exit bookkeeping
    status: np.ndarray  # int8, POOR / EXITED / RELAPSED
    exit_year: np.ndarray  # int16, year of the latest exit, 0 if never
    # work posts held through a measure (public service posts, forest rangers), not wage jobs
    occupied: np.ndarray = field(default=None)  # type: ignore[assignment]  # int8
    # multiplier on job finding from roads, buses and services near the household
    job_access: np.ndarray = field(default=None)  # type: ignore[assignment]  # float32
    # this month's flows (yuan/household/month), rewritten every month
    wage_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    business_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    property_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    transfer_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    medical_oop_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    # the last 12 months of disposable income (row = month of year), yuan/household/month
    income_history: np.ndarray = field(default=None)  # type: ignore[assignment]
    medical_history: np.ndarray = field(default=None)  # type: ignore[assignment]
    # calendar-year sums per component, reset each January, yuan/household
    year_components: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self.n
        if self.occupied is None:
            self.occupied = np.zeros(n, dtype=np.int8)
        if self.job_access is None:
            self.job_access = np.ones(n, dtype=np.float32)
        for name in ("wage_m", "business_m", "property_m", "transfer_m", "medical_oop_m"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(n))
        if self.income_history is None:
            self.income_history = np.zeros((12, n))
        if self.medical_history is None:
            self.medical_history = np.zeros((12, n))
        if self.year_components is None:
            self.year_components = np.zeros((len(INCOME_COMPONENTS), n))
        self._groups: GroupIndex | None = None
        self._groups_built_from: tuple[np.ndarray, ...] = ()
        self._kernels: ModuleType | None | bool = False  # not chosen yet

    @property
    def kernels(self) -> ModuleType | None:
        """The compiled kernels for this many households, or ``None`` for numpy.

        Chosen on first use (:func:`model.engine.kernels.compiled_for`), then kept; the model
        asks when it is built, so that loading them is part of building it.
        """
        if self._kernels is False:
            self._kernels = compiled_for(self.n)
        return self._kernels  # type: ignore[return-value]

    @property
    def n(self) -> int:
        """Number of households."""
        return int(self.size.shape[0])

    @property
    def groups(self) -> GroupIndex:
        """Indices of the groups fixed for a run (registered, labour-capable, ...).

        Built on first use and rebuilt whenever ``group``, ``registered`` or ``village`` is
        replaced by another array. No rule changes these arrays in place during a run; code
        that does must call :meth:`forget_groups`.
        """
        built = self._groups_built_from
        if (
            self._groups is not None
            and len(built) == 3
            and built[0] is self.group
            and built[1] is self.registered
            and built[2] is self.village
        ):
            return self._groups
        self._groups = GroupIndex.of(self)
        self._groups_built_from = (self.group, self.registered, self.village)
        return self._groups

    def forget_groups(self) -> None:
        """Drop the cached :attr:`groups` (after changing a group array in place)."""
        self._groups = None

    @property
    def labour_capable(self) -> np.ndarray:
        """Registered households with labour capacity (§II.9 rows 1 and 2)."""
        return labour_capable(self.group)

    @property
    def no_labour(self) -> np.ndarray:
        """Registered households without labour capacity (§II.9 row 3)."""
        return self.group == NO_LABOUR

    @property
    def enrolled_social(self) -> np.ndarray:
        """Enrolled in dibao or five-guarantee support."""
        return (self.dibao_class > 0) | self.wubao

    @property
    def guarantees(self) -> np.ndarray:
        """The three guarantees: children in school, medical insurance, safe housing."""
        return self.children_in_school & self.insured & self.housing_safe

    @property
    def poor(self) -> np.ndarray:
        """Registered households not (currently) out of poverty."""
        return self.registered & (self.status != EXITED)

    @property
    def job_seekers(self) -> np.ndarray:
        """Workers without a wage job or a post, per household (0 without labour capacity)."""
        free = self.workers.astype(np.int16)
        free -= self.jobs
        free -= self.occupied
        np.maximum(free, 0, out=free)
        free[self.groups.no_labour] = 0
        return free

    def posts_still_held(self, post: np.ndarray) -> int:
        """Free the posts (a mask over households) of holders without a worker left for them.

        A holder with fewer workers than its jobs and posts (workers age out, jobs are found)
        loses the post and its place in ``occupied``. Returns the number of posts still held.
        """
        if self.kernels is not None:
            return self.kernels.posts_lost(post, self.workers, self.jobs, self.occupied)
        holders = np.flatnonzero(post)
        gone = holders[self.workers[holders] < self.jobs[holders] + self.occupied[holders]]
        post[gone] = False
        self.occupied[gone] -= 1
        return holders.size - gone.size

    def job_seekers_of(self, idx: np.ndarray) -> np.ndarray:
        """:attr:`job_seekers` of the households ``idx`` only."""
        free = self.workers[idx].astype(np.int16)
        free -= self.jobs[idx]
        free -= self.occupied[idx]
        np.maximum(free, 0, out=free)
        free[self.groups.is_no_labour[idx]] = 0
        return free

    def with_job_seekers(self, idx: np.ndarray) -> np.ndarray:
        """The households of ``idx`` (in its order) with at least one job seeker."""
        if self.kernels is not None:
            return self.kernels.with_job_seekers(
                idx, self.workers, self.jobs, self.occupied, self.groups.is_no_labour
            )
        return idx[self.job_seekers_of(idx) > 0]

    def monthly_income(
        self, idx: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """This month's disposable income per household (sum of the four components).

        Args:
            idx: Households to compute it for (default: all).
            out: Array to write the result into (only without ``idx``).
        """
        if idx is not None:
            wage, business = self.wage_m[idx], self.business_m[idx]
            return wage + business + self.property_m[idx] + self.transfer_m[idx]
        total = np.add(self.wage_m, self.business_m, out=out)
        total += self.property_m
        total += self.transfer_m
        return total

    def close_month(self, row: int) -> None:
        """Step 7's bookkeeping for month-of-year ``row`` (0-11).

        The month's income and medical cost go into ``row`` of their histories, and the four
        income components are added to the year's.
        """
        compiled = self.kernels
        if compiled is not None:
            compiled.month_flows(
                self.wage_m,
                self.business_m,
                self.property_m,
                self.transfer_m,
                self.medical_oop_m,
                self.income_history[row],
                self.medical_history[row],
                self.year_components,
            )
            return
        self.monthly_income(out=self.income_history[row])
        self.medical_history[row] = self.medical_oop_m
        flows = (self.wage_m, self.business_m, self.property_m, self.transfer_m)
        for k, component in enumerate(flows):
            self.year_components[k] += component

    def income_last_12_months(self, idx: np.ndarray) -> np.ndarray:
        """Disposable income of the last 12 months of the households ``idx`` (yuan/household).

        Adds the months in row order, exactly as ``income_history.sum(axis=0)`` does.
        """
        total = self.income_history[0, idx]
        for row in self.income_history[1:]:
            total += row[idx]
        return total

    def rolling_income_per_capita(self, deduct_medical: bool = False) -> np.ndarray:
        """Disposable income of the last 12 months per person (yuan/person/year)."""
        total = self.income_history.sum(axis=0)
        if deduct_medical:
            total = total - self.medical_history.sum(axis=0)
        return total / self.size

    def copy(self) -> Households:
        """A deep copy (every array copied)."""
        return Households(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def initial_status(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Status and exit-year arrays for ``n`` households at baseline (all poor, never exited)."""
    return np.full(n, POOR, dtype=np.int8), np.zeros(n, dtype=np.int16)
