"""Invariants checked every month of every run.

A model that breaks one of these has produced a number that cannot be trusted, so the run stops
with an :class:`InvariantError` naming the invariant, the month (``YYYY-MM``) and the counts;
the command line turns it into a one-line message, exit code 3, and writes nothing.

Every check is a function ``check(model) -> str | None`` that returns ``None`` when the
invariant holds and otherwise a sentence with the counts. Checks are vectorised over the
household arrays (masks and sums, never a loop over households); all of them together cost a
few percent of a month's simulation.

Three ways to add a check:

* a built-in one, for every run: decorate a function with :func:`invariant`;
* from a measure or the funding ledger: give the object a method
  ``invariant_checks(self) -> Mapping[str, Check]``. The checker asks every measure in
  ``model.measures`` and every object named in :data:`PROVIDER_ATTRIBUTES` (``model.ledger``)
  at the first check, and again whenever those objects change, so the order in which the model
  builds them does not matter (a check reads the model when it runs). The helpers
  :func:`capacity_check`, :func:`ledger_identity_check` and :func:`finite_check` build the usual
  ones;
* for one model only: ``model.engine.invariants.register(name, check)``.

Example:
    A measure with a fixed number of places::

        class Training(Measure):
            def invariant_checks(self):
                return {
                    "training_within_capacity": capacity_check(
                        lambda m: int(self.enrolled.sum()),
                        lambda m: self.params.places,
                        "training places",
                    )
                }
"""

from __future__ import annotations

import functools
import math
import operator
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from model.engine.assessment import EXITED, GROUP_NAMES, NO_LABOUR, NON_POOR, POOR, RELAPSED
from model.engine.households import people_where

if TYPE_CHECKING:
    from model.engine.households import Households
    from model.engine.simulation import PovertyModel

#: A check: ``None`` when the invariant holds, otherwise what is wrong, with counts.
Check = Callable[["PovertyModel"], "str | None"]

#: Attributes of the model whose objects may provide checks through ``invariant_checks()``.
PROVIDER_ATTRIBUTES: tuple[str, ...] = ("ledger",)

#: The built-in checks, in the order they run (see :func:`invariant`).
CHECKS: dict[str, Check] = {}

#: The built-in checks that the compiled screen's counts decide whenever they all hold (see
#: :meth:`InvariantChecker.check`): a month they all hold skips these calls.
SCREENED: set[Check] = set()

#: Counts of the compiled screen that are zero whenever the screened checks hold.
_ZERO_COUNTS = (
    "unknown_group", "unknown_dibao", "register_mismatch", "unknown_status", "exit_year_mismatch",
    "unregistered_exited", "negative_jobs", "jobs_over_workers", "jobs_without_labour",
    "empty_households",
)  # fmt: skip

#: Status codes a registered household may have: exactly one of poor, exited, relapsed
#: (consecutive codes, so a range test is a membership test).
STATUS_CODES = (POOR, EXITED, RELAPSED)
assert STATUS_CODES == tuple(range(min(STATUS_CODES), max(STATUS_CODES) + 1))

#: Rows of a month-of-year history array (``income_history``, ``medical_history``).
MONTHS_PER_YEAR = 12

#: The month's flows that step 7 of the schedule sums into this month's row of a history
#: (``income_history[month] = wage_m + business_m + property_m + transfer_m``).
SUMMED_INTO_ROW = {
    "income_history": ("wage_m", "business_m", "property_m", "transfer_m"),
    "medical_history": ("medical_oop_m",),
}
_SUMMED_FLOWS = frozenset(name for flows in SUMMED_INTO_ROW.values() for name in flows)

#: Largest number of dibao classes (§II.3: classes 1-3; 0 means not enrolled).
DIBAO_CLASSES = 3


class InvariantError(RuntimeError):
    """A model invariant failed: the run's numbers cannot be trusted.

    Attributes:
        invariant: Name of the failed invariant, e.g. ``"people_conserved"``.
        month: The month being simulated, ``YYYY-MM`` (or ``"start"`` for the initial state).
        detail: What is wrong, with counts.
    """

    def __init__(self, invariant: str, month: str, detail: str) -> None:
        super().__init__(f"invariant '{invariant}' violated in {month}: {detail}")
        self.invariant = invariant
        self.month = month
        self.detail = detail

    def __reduce__(self) -> tuple:
        # rebuilt from its three parts when it crosses a process boundary (ensemble workers)
        return (type(self), (self.invariant, self.month, self.detail))


def invariant(name: str, screened: bool = False) -> Callable[[Check], Check]:
    """Register a built-in check under ``name`` (run every month of every run).

    ``screened``: the check holds whenever the compiled screen's counts hold (:data:`SCREENED`).
    """

    def register(check: Check) -> Check:
        if name in CHECKS:
            raise ValueError(f"an invariant named {name!r} is already registered")
        CHECKS[name] = check
        if screened:
            SCREENED.add(check)
        return check

    return register


@dataclass(frozen=True)
class StartCounts:
    """Counts at the start of a run that no rule of the model may change."""

    households: int
    people: int
    registered_households: int
    registered_people: int

    @classmethod
    def of(cls, hh: Households) -> StartCounts:
        """Counts of a household table."""
        size = hh.size.astype(np.int64)
        reg = hh.registered
        return cls(
            households=hh.n,
            people=int(size.sum()),
            registered_households=int(np.count_nonzero(reg)),
            registered_people=people_where(size, reg),
        )


def month_label(model: PovertyModel) -> str:
    """The month being simulated as ``YYYY-MM``."""
    return f"{model.year}-{model.month:02d}"


class InvariantChecker:
    """Runs the invariants of one model; the model calls :meth:`check` once a month.

    The checker attaches itself to the model as ``model.engine.invariants`` (checks read the start
    counts from there), takes the start counts and checks the initial state at once (month
    ``"start"``).

    Args:
        model: The model; its households must exist.
        checks: The built-in checks to run; defaults to every check in :data:`CHECKS`.

    Attributes:
        start: Counts at the start (:class:`StartCounts`).
        months_checked: Times every check passed (the start counts as one).
        seconds: Time spent in the checks, for the manifest.

    Raises:
        InvariantError: If the initial state already breaks an invariant.
    """

    def __init__(self, model: PovertyModel, checks: Mapping[str, Check] | None = None) -> None:
        self.model = model
        model.invariants = self
        self.start = StartCounts.of(model.households)
        self._checks: dict[str, Check] = dict(CHECKS if checks is None else checks)
        self.months_checked = 0
        self.seconds = 0.0
        self._screen: dict[str, int] | None = None
        self._plan_now: _ArrayPlan | None = None
        self._screening = False
        #: the providers of the last check and the checks they gave (see :meth:`checks`)
        self._provided: tuple[tuple, list] | None = None
        #: the start counts and the screen's counts while every screened check holds with them
        #: (see :meth:`_screen_holds`; a mechanism may replace ``start`` as the register moves)
        self._expected: tuple[StartCounts, dict[str, int]] | None = None
        self._lengths = frozenset({self.start.households})
        self.check("start")

    def register(self, name: str, check: Check) -> None:
        """Add a check for this model only."""
        if name in self._checks:
            raise ValueError(f"an invariant named {name!r} is already registered")
        self._checks[name] = check

    def checks(self) -> Iterator[tuple[str, Check]]:
        """Every check that applies now: built-in, registered, then those of the providers.

        The providers' checks are asked for again whenever the providers are other objects
        than last time (a model may swap its ledger), else kept.
        """
        yield from self._checks.items()
        providers = tuple(self._providers())
        kept = self._provided
        if (
            kept is None
            or len(kept[0]) != len(providers)
            or not all(map(operator.is_, kept[0], providers))
        ):
            provided = []
            for provider in providers:
                ask = getattr(provider, "invariant_checks", None)
                if ask is not None:
                    provided.extend(ask().items())
            kept = self._provided = (providers, provided)
        yield from kept[1]

    def _screen_holds(self) -> bool:
        """Whether the compiled screen shows every :data:`SCREENED` check holding.

        Every household array keeps its length, and the counts are those of a model that breaks
        none of them (zero, or the start's totals). False without the compiled kernels, or when
        a count is off: then each check runs and says what is wrong.
        """
        screen = household_counts(self.model)
        if screen is None:
            return False
        start = self.start
        kept = self._expected
        if kept is None or kept[0] is not start:
            kept = self._expected = (
                start,
                {name: 0 for name in _ZERO_COUNTS}
                | {
                    "people": start.people,
                    "registered_people": start.registered_people,
                    "registered_households": start.registered_households,
                },
            )
        return (
            _array_plan(self.model).lengths == self._lengths and kept[1].items() <= screen.items()
        )

    def _providers(self) -> Iterator[Any]:
        yield from getattr(self.model, "measures", ())
        yield from getattr(self.model, "mechanisms", ())
        for attribute in PROVIDER_ATTRIBUTES:
            obj = getattr(self.model, attribute, None)
            if obj is not None:
                yield obj

    def check(self, month: str | None = None) -> None:
        """Run every check; raise :class:`InvariantError` on the first that fails.

        Args:
            month: Label of the month for the message; defaults to the model's ``YYYY-MM``.
        """
        t0 = time.perf_counter()
        self._screen = None  # the household counts, taken at the first check that reads them
        self._plan_now = None  # likewise the households' array plan
        self._screening = True
        try:
            skip = SCREENED if self._screen_holds() else ()
            for name, check in self.checks():
                if check in skip:
                    continue
                detail = check(self.model)
                if detail is not None:
                    raise InvariantError(name, month or month_label(self.model), detail)
        finally:
            self._screening = False
            self._screen = self._plan_now = None
        self.months_checked += 1
        self.seconds += time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# the built-in checks


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The dataclass's field names (``dataclasses.fields`` is slow to call every month)."""
    return tuple(f.name for f in fields(cls))


@functools.cache
def _field_getter(cls: type) -> Callable[[Any], tuple]:
    """One call returning the tuple of the dataclass's field values, in field order."""
    names = _field_names(cls)
    getter = operator.attrgetter(*names)
    return getter if len(names) > 1 else lambda obj: (getter(obj),)


@dataclass(frozen=True)
class _ArrayPlan:
    """The household arrays the monthly checks walk, sorted out once for a set of arrays.

    Valid while every field of the households holds the same object (a rule that replaces an
    array makes the checks build a new plan; the model's rules change them in place).

    Attributes:
        values: Every field's value, in field order (the objects the plan was built from).
        arrays: ``(name, array)`` of every field that is an array, in field order.
        screened: What the ordinary month's screen of :func:`finite_money` sums, in field
            order: ``(array, True)`` for a month-of-year history (its month's row is summed),
            ``(array, False)`` for a one-dimensional array summed whole.
        complex_arrays: Whether some array is complex (then the full check counts them).
        lengths: The set of the arrays' last dimensions (no rule resizes an array in place).
    """

    values: tuple
    arrays: tuple[tuple[str, np.ndarray], ...]
    screened: tuple[tuple[np.ndarray, bool], ...]
    complex_arrays: bool
    lengths: frozenset[int]
    #: month-of-year row -> the one-dimensional arrays the screen reads that month (made once)
    _rows: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict, compare=False)

    def screened_in(self, row: int) -> tuple[np.ndarray, ...]:
        """What the screen of :func:`finite_money` reads for month-of-year ``row`` (0-11)."""
        found = self._rows.get(row)
        if found is None:
            found = tuple(a[row] if history else a for a, history in self.screened)
            self._rows[row] = found
        return found

    @classmethod
    def of(cls, values: tuple, names: tuple[str, ...]) -> _ArrayPlan:
        arrays = tuple(
            (name, a) for name, a in zip(names, values, strict=True) if isinstance(a, np.ndarray)
        )
        floating = [(name, a) for name, a in arrays if a.dtype.kind in "fc" and a.size]
        screened = tuple(
            (a, a.ndim == 2)
            for name, a in floating
            if (a.ndim == 1 and name not in _SUMMED_FLOWS)
            or (a.ndim == 2 and a.shape[0] == MONTHS_PER_YEAR)
        )
        return cls(
            values=values,
            arrays=arrays,
            screened=screened,
            complex_arrays=any(a.dtype.kind == "c" for _, a in floating),
            lengths=frozenset(a.shape[-1] for _, a in arrays),
        )


def _array_plan(model: PovertyModel) -> _ArrayPlan:
    """The :class:`_ArrayPlan` of the model's households, kept by its checker between months.

    Checked against the households' arrays once per :meth:`InvariantChecker.check` (nothing
    replaces an array between its checks) and afresh for a check called on its own.
    """
    checker = getattr(model, "invariants", None)
    if getattr(checker, "_screening", False) and checker._plan_now is not None:
        return checker._plan_now
    hh = model.households
    values = _field_getter(type(hh))(hh)
    plan = getattr(checker, "_array_plan", None)
    if plan is None or not all(map(operator.is_, values, plan.values)):
        plan = _ArrayPlan.of(values, _field_names(type(hh)))
        if checker is not None:
            checker._array_plan = plan
    if getattr(checker, "_screening", False):
        checker._plan_now = plan
    return plan


def household_counts(model: PovertyModel) -> dict[str, int] | None:
    """The household checks' counts from one compiled pass, or None where numpy checks.

    Exact integer counts (``SCREEN_FIELDS``: registered households, their people, those not
    exited...), which the mechanisms' checks read as well.

    With the compiled kernels (:mod:`model.engine.kernels`) the checks below first read these
    counts: zero (and the start's totals) means the invariant holds; otherwise the check's numpy
    code runs and says what is wrong. Taken once per :meth:`InvariantChecker.check` (nothing
    changes the households between its checks) and afresh for a check called on its own.
    """
    hh = model.households
    kernels = hh.kernels
    if kernels is None:
        return None
    checker = getattr(model, "invariants", None)
    screening = getattr(checker, "_screening", False)
    if screening and checker._screen is not None:
        return checker._screen
    counts = kernels.household_screen(
        hh.group, hh.dibao_class, hh.registered, hh.status, hh.exit_year, hh.size, hh.jobs,
        hh.workers, _SCREEN_CODES,
    )  # fmt: skip
    screen = dict(zip(kernels.SCREEN_FIELDS, counts.tolist(), strict=True))
    if screening:
        checker._screen = screen
    return screen


#: The codes :func:`household_screen <model.engine.compiled_kernels.household_screen>` reads.
_SCREEN_CODES = np.array(
    [len(GROUP_NAMES), DIBAO_CLASSES, NON_POOR, POOR, NO_LABOUR, min(STATUS_CODES),
     max(STATUS_CODES), EXITED],
    dtype=np.int64,
)  # fmt: skip


def _holds(model: PovertyModel, *zero: str, **equal: int) -> bool:
    """Whether the compiled screen shows the counts ``zero`` at 0 and ``equal`` as given."""
    screen = household_counts(model)
    return (
        screen is not None
        and not any(screen[name] for name in zero)
        and all(screen[name] == value for name, value in equal.items())
    )


@invariant("households_conserved", screened=True)
def households_conserved(model: PovertyModel) -> str | None:
    """Every household array keeps one entry per household, and the register keeps its size."""
    hh = model.households
    start = model.invariants.start
    plan = _array_plan(model)
    wrong = {} if plan.lengths == {start.households} else {
        name: a.shape[-1] for name, a in plan.arrays if a.shape[-1] != start.households
    }  # fmt: skip
    if wrong:
        return f"expected {start.households:,} households in every array, found " + ", ".join(
            f"{n:,} in {name}" for name, n in wrong.items()
        )
    if _holds(model, registered_households=start.registered_households):
        return None
    registered = int(np.count_nonzero(hh.registered))
    if registered != start.registered_households:
        return (
            f"expected {start.registered_households:,} registered households, found {registered:,}"
        )
    return None


@invariant("people_conserved", screened=True)
def people_conserved(model: PovertyModel) -> str | None:
    """No person appears or disappears, and every household has at least one member."""
    hh = model.households
    start = model.invariants.start
    if _holds(
        model,
        "empty_households",
        people=start.people,
        registered_people=start.registered_people,
    ):
        return None
    size = hh.size
    if size.size and size.min() < 1:
        return f"{int(np.count_nonzero(size < 1)):,} households have fewer than one member"
    people = int(np.sum(size, dtype=np.int64))
    registered_people = people_where(size, hh.registered)
    if people != start.people or registered_people != start.registered_people:
        return (
            f"expected {start.people:,} people ({start.registered_people:,} registered), found "
            f"{people:,} ({registered_people:,} registered)"
        )
    return None


@invariant("valid_codes", screened=True)
def valid_codes(model: PovertyModel) -> str | None:
    """Group and dibao codes are known, and the register is exactly the poor groups."""
    if _holds(model, "unknown_group", "unknown_dibao", "register_mismatch"):
        return None
    hh = model.households
    if _outside(hh.group, 0, len(GROUP_NAMES) - 1):
        bad = int(np.count_nonzero((hh.group < 0) | (hh.group >= len(GROUP_NAMES))))
        return f"{bad:,} households have an unknown group code"
    if _outside(hh.dibao_class, 0, DIBAO_CLASSES):
        bad = int(np.count_nonzero((hh.dibao_class < 0) | (hh.dibao_class > DIBAO_CLASSES)))
        return f"{bad:,} households have a dibao class outside 0-{DIBAO_CLASSES}"
    mismatch = int(np.count_nonzero(hh.registered != (hh.group != NON_POOR)))
    if mismatch:
        return f"{mismatch:,} households are registered poor iff not in a poor group"
    return None


@invariant("one_state_each", screened=True)
def one_state_each(model: PovertyModel) -> str | None:
    """Every registered household is poor, exited or relapsed, and its exit year agrees."""
    if _holds(model, "unknown_status", "exit_year_mismatch"):
        return None
    hh = model.households
    reg = hh.registered
    status = hh.status
    if _outside(status, min(STATUS_CODES), max(STATUS_CODES)):
        unknown = reg & ((status < min(STATUS_CODES)) | (status > max(STATUS_CODES)))
        n_unknown = int(np.count_nonzero(unknown))
        if n_unknown:
            return (
                f"{n_unknown:,} registered households are in no known state (poor, exited or "
                f"relapsed); codes found: {sorted(set(np.unique(status[unknown]).tolist()))}"
            )
    # poor (never exited) exactly when no exit year is recorded
    never_exited = status == POOR
    if np.any(reg & (never_exited == (hh.exit_year != 0))):
        bad_poor = int(np.count_nonzero(reg & never_exited & (hh.exit_year != 0)))
        bad_out = int(np.count_nonzero(reg & ~never_exited & (hh.exit_year == 0)))
        return (
            f"{bad_poor:,} never-exited households carry an exit year and {bad_out:,} exited "
            f"or relapsed households carry none"
        )
    return None


@invariant("unregistered_never_exit", screened=True)
def unregistered_never_exit(model: PovertyModel) -> str | None:
    """Households not on the register never exit (they were never poor in the register)."""
    if _holds(model, "unregistered_exited"):
        return None
    hh = model.households
    other = ~hh.registered
    bad = int(np.count_nonzero(other & ((hh.status != POOR) | (hh.exit_year != 0))))
    if bad:
        return f"{bad:,} households not on the register have exited or relapsed"
    return None


def _outside(values: np.ndarray, low: int, high: int) -> bool:
    """Whether any value lies outside ``[low, high]`` (two reductions, no temporary array)."""
    return bool(values.size) and (values.min() < low or values.max() > high)


def _not_finite(values: np.ndarray, finite: Callable[[np.ndarray], bool] | None = None) -> int:
    """Number of NaN or infinite entries; a quick screen passes the usual all-finite case.

    The screen is ``finite`` (the compiled :func:`all_finite
    <model.engine.compiled_kernels.all_finite>`) for a contiguous real array when given, else a
    sum. Call inside ``np.errstate(over="ignore", invalid="ignore")``: the screening sum may
    overflow or meet infinities of both signs.
    """
    if values.size == 0:
        return 0
    if finite is not None and values.dtype.kind == "f" and values.flags.c_contiguous:
        if finite(values.reshape(-1)):
            return 0
    elif math.isfinite(float(np.sum(values))):
        return 0
    return int(values.size - np.count_nonzero(np.isfinite(values)))


def _describe_not_finite(
    arrays: Mapping[str, Any], finite: Callable[[np.ndarray], bool] | None = None
) -> str | None:
    bad: dict[str, int] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for name, values in arrays.items():
            a = np.asarray(values)
            if a.dtype.kind in "fc":
                n = _not_finite(a, finite)
                if n:
                    bad[name] = n
    if bad:
        return "NaN or infinite values in " + ", ".join(
            f"{name} ({n:,})" for name, n in bad.items()
        )
    return None


@invariant("finite_money")
def finite_money(model: PovertyModel) -> str | None:
    """No NaN or infinity in any floating-point household array or in this month's spend.

    Every month: every one-dimensional array (wages, annual incomes, farm shocks...) and this
    month's row of each month-of-year history. The month's flows that step 7 sums into a
    history row (:data:`SUMMED_INTO_ROW`) are checked through that row, since a NaN or an
    infinity survives a sum. In December, before the year is recorded, and at the start:
    every array in full. A non-finite value can therefore not reach any recorded result.
    """
    hh = model.households
    month = getattr(model, "month", 12)
    full = model.invariants.months_checked == 0 or month == MONTHS_PER_YEAR
    if not full and _all_finite_this_month(model, month):
        return None
    summed = _SUMMED_FLOWS
    arrays: dict[str, Any] = {}
    for name, a in _array_plan(model).arrays:
        if a.dtype.kind not in "fc":
            continue
        if full or (a.ndim == 1 and name not in summed):
            arrays[name] = a
        elif a.ndim == 2 and a.shape[0] == MONTHS_PER_YEAR:
            arrays[f"{name}[month {month}]"] = a[month - 1]
    for measure, amount in getattr(model, "spend_this_month", {}).items():
        arrays[f"spend_this_month[{measure}]"] = np.float64(amount)
    kernels = hh.kernels
    finite = None if kernels is None else kernels.all_finite
    detail = _describe_not_finite(arrays, finite)
    if detail is not None and not full:  # name the flows behind a non-finite row
        flows = {n: getattr(hh, n) for n in sorted(summed) if hasattr(hh, n)}
        detail = _describe_not_finite({**arrays, **flows}, finite)
    return detail


def _all_finite_this_month(model: PovertyModel, month: int) -> bool:
    """Screen of :func:`finite_money` for an ordinary month: one sum over the arrays it checks.

    The same arrays and rows as the full check, summed into one number: NaN or an infinity in
    any of them makes the total non-finite. True means every value is finite; False means the
    full check must count them (it also clears a total that only overflowed).
    """
    plan = _array_plan(model)
    if plan.complex_arrays:  # left to the full check
        return False
    row = month - 1
    kernels = model.households.kernels
    if kernels is not None:  # a compiled pass per array, reading each value once
        finite = kernels.all_finite
        return all(map(finite, plan.screened_in(row))) and math.isfinite(
            sum(getattr(model, "spend_this_month", {}).values())
        )
    add = np.add.reduce
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for a, history in plan.screened:
            total += add(a[row] if history else a, axis=None)
        for amount in getattr(model, "spend_this_month", {}).values():
            total += amount
    return math.isfinite(total)


@invariant("jobs_within_workers", screened=True)
def jobs_within_workers(model: PovertyModel) -> str | None:
    """Between zero and as many wage jobs as the household has workers."""
    if _holds(model, "negative_jobs", "jobs_over_workers"):
        return None
    hh = model.households
    negative = int(np.count_nonzero((hh.jobs < 0) | (hh.workers < 0)))
    if negative:
        return f"{negative:,} households have a negative number of jobs or workers"
    over = int(np.count_nonzero(hh.jobs > hh.workers))
    if over:
        extra = int((hh.jobs.astype(np.int64) - hh.workers).clip(min=0).sum())
        return f"{over:,} households hold {extra:,} more jobs than they have workers"
    return None


@invariant("no_job_without_labour", screened=True)
def no_job_without_labour(model: PovertyModel) -> str | None:
    """A household without labour capacity (§II.9 row 3) never holds a wage job."""
    if _holds(model, "jobs_without_labour"):
        return None
    hh = model.households
    bad = (hh.group == NO_LABOUR) & (hh.jobs > 0)
    n = int(np.count_nonzero(bad))
    if n:
        return f"{n:,} households without labour capacity hold {int(hh.jobs[bad].sum()):,} jobs"
    return None


# ---------------------------------------------------------------------------------------------
# helpers for checks that measures and the ledger provide


def capacity_check(
    enrolled: Callable[[PovertyModel], float],
    capacity: Callable[[PovertyModel], float],
    what: str,
) -> Check:
    """A check that enrolment never exceeds capacity.

    Args:
        enrolled: Number enrolled now (households, people, places...).
        capacity: The capacity now, in the same unit (may change by year).
        what: What is counted, for the message, e.g. ``"training places"``.
    """

    def check(model: PovertyModel) -> str | None:
        n, cap = enrolled(model), capacity(model)
        if n > cap:
            return f"{n:,} {what} enrolled, capacity {cap:,}"
        return None

    return check


def ledger_identity_check(
    balances: Callable[[PovertyModel], Mapping[str, Mapping[str, float]]],
    tolerance: float = 0.5,
) -> Check:
    """A check that, per source, received = spent + unspent + leaked, to the yuan.

    Args:
        balances: ``{source: {"received": ..., "spent": ..., "unspent": ..., "leaked": ...}}``
            in yuan.
        tolerance: Largest absolute difference accepted, yuan (rounding of float sums).
    """

    def check(model: PovertyModel) -> str | None:
        wrong = []
        for source, b in balances(model).items():
            values = [b.get(k, 0.0) for k in ("received", "spent", "unspent", "leaked")]
            if not all(math.isfinite(v) for v in values):
                wrong.append(f"{source}: non-finite amounts {values}")
                continue
            received, spent, unspent, leaked = values
            gap = received - spent - unspent - leaked
            if abs(gap) > tolerance:
                wrong.append(
                    f"{source}: received {received:,.0f} != spent {spent:,.0f} + unspent "
                    f"{unspent:,.0f} + leaked {leaked:,.0f} (difference {gap:,.2f} yuan)"
                )
        return "; ".join(wrong) if wrong else None

    return check


def finite_check(arrays: Callable[[PovertyModel], Mapping[str, Any]]) -> Check:
    """A check that no array (or number) a measure keeps holds NaN or infinity."""

    def check(model: PovertyModel) -> str | None:
        return _describe_not_finite(arrays(model))

    return check
