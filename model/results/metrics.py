"""The catalogue of metrics: every column of a run's tables and every scalar outcome, declared once.

Each :class:`Metric` names a column of one table (``annual``, ``monthly``, ``by_county``,
``by_group``, ``by_measure``, ``income_percentiles``, ``by_party``) or a scalar outcome of
:meth:`~model.results.outputs.RunResult.outcomes` (table ``outcomes``), with its unit, what it
means and how it is computed. Names that repeat per measure, income component or year are
declared once as patterns (``spend_<measure>``, ``<component>_per_capita_poor``,
``cumulative_exited_people_<year>``) and expanded by :func:`table_columns` and
:func:`outcome_names`.

The recorder builds its tables with these columns in this order, ``outcomes()`` names its
outcomes from here, sweeps know their outcomes before any run, ``validate`` checks observed
metric names against the annual metrics, and reports and the dashboard take labels and units
from here. ``docs/outputs.md`` is generated from it (``shaoguan-abm outputs --markdown``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from model.engine.assessment import GROUP_NAMES
from model.engine.households import INCOME_COMPONENTS
from model.engine.interventions import MEASURES

#: Tables of a run, in the order the catalogue lists them; ``outcomes`` holds the scalars.
TABLES = (
    "annual",
    "monthly",
    "by_county",
    "by_group",
    "by_measure",
    "income_percentiles",
    "by_party",
    "outcomes",
)

#: What each table holds, one row of it.
TABLE_ROWS = {
    "annual": "one row per year (December assessment)",
    "monthly": "one row per month",
    "by_county": "one row per year and county-level unit",
    "by_group": "one row per year and household group (plan §II.9)",
    "by_measure": "one row per year and measure",
    "income_percentiles": "one row per year, population and percentile",
    "by_party": "one row per year and assisting party of the poor villages (plan §II.9)",
    "outcomes": "the scalar outcomes of a run (`RunResult.outcomes()`), one value each",
}

#: Placeholders of patterned names and what they stand for.
PLACEHOLDERS = {
    "<measure>": "a measure switched on in the scenario ("
    + ", ".join(m.name for m in MEASURES)
    + ")",
    "<component>": "an income component (" + ", ".join(INCOME_COMPONENTS) + ")",
    "<year>": "a year of the horizon (2016, 2017, ...)",
}

_PLACEHOLDER_REGEX = {
    "<measure>": "[a-z_]+",
    "<component>": "(?:" + "|".join(INCOME_COMPONENTS) + ")",
    "<year>": "[0-9]{4}",
}


@dataclass(frozen=True)
class Metric:
    """One column of a run's table, or one scalar outcome.

    Attributes:
        name: Column or outcome name; a pattern when it holds a placeholder (``<year>``...).
        table: The table it belongs to (see :data:`TABLES`).
        unit: Unit of the values (``people``, ``yuan``, ``yuan/person/year``, ``1/0``...).
        description: What it means, in one sentence.
        computed: How it is computed from the model's state (or from other metrics).
        label: Short English label for tables and figures.
        dtype: ``int``, ``float``, ``bool`` or ``str`` (``key`` columns identify a row).
        key: True for a column that identifies a row (``year``, ``county``...) rather than
            measuring it.
        mechanism: The feedback mechanism (:mod:`model.engine.mechanisms`) whose column this
            is: present only in runs with that mechanism on. None for every run's columns.
    """

    name: str
    table: str
    unit: str
    description: str
    computed: str
    label: str
    dtype: str = "float"
    key: bool = False
    mechanism: str | None = None

    @property
    def is_pattern(self) -> bool:
        """True when the name holds a placeholder."""
        return "<" in self.name

    @property
    def numeric(self) -> bool:
        """True for a number that measures something (not a key, not a yes/no)."""
        return not self.key and self.dtype in ("int", "float")

    def matches(self, name: str) -> bool:
        """Whether the concrete ``name`` is this metric (or an instance of its pattern)."""
        if not self.is_pattern:
            return name == self.name
        return re.fullmatch(_pattern_regex(self.name), name) is not None


def _pattern_regex(pattern: str) -> str:
    """A regular expression matching the names of a pattern, one group per placeholder."""
    parts = re.split(r"(<[a-z]+>)", pattern)
    return "".join(
        f"({_PLACEHOLDER_REGEX[p]})" if p in _PLACEHOLDER_REGEX else re.escape(p) for p in parts
    )


def _m(
    table: str,
    name: str,
    unit: str,
    label: str,
    description: str,
    computed: str,
    dtype: str = "float",
    key: bool = False,
    mechanism: str | None = None,
) -> Metric:
    return Metric(name, table, unit, description, computed, label, dtype, key, mechanism)


_REG = "registered poor households (every status)"

#: Every metric, in the column order of its table.
CATALOGUE: tuple[Metric, ...] = (
    # ---- annual
    _m("annual", "year", "year", "year", "Year of the December assessment.", "calendar",
       "int", key=True),
    _m("annual", "exited_people", "people", "people exiting in the year",
       "Registered poor people whose household exited poverty at this year's assessment.",
       "sum of household size over households judged out of poverty this December", "int"),
    _m("annual", "exited_households", "households", "households exiting in the year",
       "Registered poor households that exited poverty at this year's assessment.",
       "count of households judged out of poverty this December", "int"),
    _m("annual", "cumulative_exited_people", "people", "people out of poverty (cum.)",
       "Registered poor people out of poverty at the end of the year (exited, not relapsed).",
       "sum of household size over registered households with status exited", "int"),
    _m("annual", "cumulative_exited_households", "households",
       "households out of poverty (cum.)",
       "Registered poor households out of poverty at the end of the year.",
       "count of registered households with status exited", "int"),
    _m("annual", "target_cumulative_people", "people", "cumulative target",
       "The plan's cumulative exit target in force for the year, scaled to the population "
       "simulated (empty before the first target year).",
       "latest target at or before the year (targets.cumulative_people) x population scale, "
       "rounded", "int"),
    _m("annual", "target_met", "yes/no", "target met",
       "Whether the people out of poverty reach the year's cumulative target.",
       "cumulative_exited_people >= target_cumulative_people (empty without a target)", "bool"),
    _m("annual", "remaining_poor_people", "people", "people still poor",
       "Registered poor people not out of poverty at the end of the year.",
       f"people of {_REG} minus cumulative_exited_people", "int"),
    _m("annual", "villages_exited", "villages", "villages exited",
       "Poor villages that have exited poverty (income and service checklist).",
       "count of villages whose exit flag is set", "int"),
    _m("annual", "villages_total", "villages", "poor villages",
       "Poor villages simulated (278 at full scale).", "count of villages", "int"),
    _m("annual", "relapsed_people", "people", "people relapsing in the year",
       "People whose household fell back into poverty at this year's assessment.",
       "sum of household size over households judged relapsed this December", "int"),
    _m("annual", "ever_relapsed_people", "people", "people relapsed (cum.)",
       "Registered poor people whose household is in the relapsed status at the year's end.",
       "sum of household size over registered households with status relapsed", "int"),
    _m("annual", "mean_per_capita_income_poor", "yuan/person/year",
       "mean income, registered poor",
       "People-weighted mean per-capita disposable income of the registered poor (exited or "
       "not), over the 12 months to December.",
       f"sum(income per capita x size) / sum(size) over {_REG}"),
    _m("annual", "median_per_capita_income_poor", "yuan/person/year",
       "median income, registered poor",
       "People-weighted median per-capita disposable income of the registered poor.",
       f"weighted median of income per capita, weights household size, over {_REG}"),
    _m("annual", "mean_per_capita_income_labour_capable", "yuan/person/year",
       "mean income, labour-capable",
       "People-weighted mean per-capita disposable income of labour-capable households.",
       "sum(income per capita x size) / sum(size) over labour-capable households"),
    _m("annual", "poverty_gap", "share of the exit line", "poverty gap",
       "People-weighted mean shortfall of per-capita income below the exit line, as a share of "
       "the line (0 when no one is below it).",
       f"mean over people of {_REG} of max(0, (line - income per capita) / line)"),
    _m("annual", "provincial_rural_income", "yuan/person/year", "provincial rural income",
       "Guangdong's rural per-capita disposable income of the year (scenario table).",
       "assessment.provincial_income(year)"),
    _m("annual", "exit_income_line", "yuan/person/year", "household exit line",
       "Per-capita income a labour-capable household needs to exit (45% of provincial rural "
       "income).", "assessment.exit_line(year)"),
    _m("annual", "village_exit_income_line", "yuan/person/year", "village exit line",
       "Per-capita income a poor village needs to exit (60% of provincial rural income).",
       "assessment.village_exit_line(year)"),
    _m("annual", "<component>_per_capita_poor", "yuan/person/year",
       "<component> income, registered poor",
       "Mean per-capita income of the registered poor from one component (wage, net business, "
       "net property, net transfer), over the 12 months to December.",
       "sum over registered households of the component's 12-month income / people registered"),
    _m("annual", "spend", "yuan", "spend in the year",
       "Money spent by every measure in the year.",
       "sum of the monthly spend_<measure> columns of the year"),
    # ---- monthly
    _m("monthly", "year", "year", "year", "Calendar year.", "calendar", "int", key=True),
    _m("monthly", "month", "month", "month", "Calendar month (1-12).", "calendar", "int",
       key=True),
    _m("monthly", "remaining_poor_people", "people", "people still poor",
       "Registered poor people not out of poverty at the end of the month.",
       "sum of household size over registered households whose status is not exited", "int"),
    _m("monthly", "cumulative_exited_people", "people", "people out of poverty (cum.)",
       "Registered poor people out of poverty at the end of the month.",
       "sum of household size over registered households with status exited", "int"),
    _m("monthly", "employed_workers_poor", "workers", "employed workers (poor)",
       "Workers of registered poor households holding a job.",
       "sum of jobs over registered households", "int"),
    _m("monthly", "workers_poor", "workers", "workers (poor)",
       "Working-age members able to work in registered poor households.",
       "sum of workers over registered households", "int"),
    _m("monthly", "social_security_households", "households", "households on dibao/wubao",
       "Households enrolled in dibao or five-guarantee support.",
       "count of households enrolled in social security", "int"),
    _m("monthly", "ill_households", "households", "households with an ill member",
       "Households with a member in an episode of illness this month.",
       "count of households with months of illness left > 0", "int"),
    _m("monthly", "villages_exited", "villages", "villages exited",
       "Poor villages that have exited poverty.", "count of villages whose exit flag is set",
       "int"),
    _m("monthly", "spend_<measure>", "yuan", "<measure> spend",
       "Money one measure spent in the month (all sources).",
       "the measure's cost(model) of the month, as booked in the ledger"),
    # ---- by_county
    _m("by_county", "year", "year", "year", "Year of the December assessment.", "calendar",
       "int", key=True),
    _m("by_county", "county", "", "county", "County-level unit.", "population.counties",
       "str", key=True),
    _m("by_county", "registered_people", "people", "registered poor people",
       "Registered poor people of the county.",
       "bincount of household size over registered households by county", "int"),
    _m("by_county", "cumulative_exited_people", "people", "people out of poverty (cum.)",
       "Registered poor people of the county out of poverty at the end of the year.",
       "bincount of household size over exited registered households by county", "int"),
    _m("by_county", "remaining_poor_people", "people", "people still poor",
       "Registered poor people of the county not out of poverty at the end of the year.",
       "registered_people - cumulative_exited_people", "int"),
    _m("by_county", "villages", "villages", "poor villages",
       "Poor villages of the county.", "count of villages by county", "int"),
    _m("by_county", "villages_exited", "villages", "villages exited",
       "Poor villages of the county that have exited.",
       "count of exited villages by county", "int"),
    # ---- by_group
    _m("by_group", "year", "year", "year", "Year of the December assessment.", "calendar",
       "int", key=True),
    _m("by_group", "group", "", "household group",
       "Household group: " + ", ".join(GROUP_NAMES) + " (groups without people are left out).",
       "households.group", "str", key=True),
    _m("by_group", "households", "households", "households", "Households of the group.",
       "count of households of the group", "int"),
    _m("by_group", "people", "people", "people", "People of the group.",
       "sum of household size over the group", "int"),
    _m("by_group", "cumulative_exited_people", "people", "people out of poverty (cum.)",
       "People of the group whose registered household is out of poverty.",
       "sum of household size over registered exited households of the group", "int"),
    _m("by_group", "mean_per_capita_income", "yuan/person/year", "mean income",
       "People-weighted mean per-capita disposable income of the group, 12 months to December.",
       "sum(income per capita x size) / people of the group"),
    _m("by_group", "<component>_per_capita", "yuan/person/year", "<component> income",
       "Mean per-capita income of the group from one component, 12 months to December.",
       "sum over the group's households of the component's 12-month income / people"),
    # ---- by_measure
    _m("by_measure", "year", "year", "year", "Year of the December assessment.", "calendar",
       "int", key=True),
    _m("by_measure", "measure", "", "measure", "A measure switched on in the scenario.",
       "scenario measures, in their monthly order", "str", key=True),
    _m("by_measure", "enrolled_households", "households", "enrolled households",
       "Registered poor households enrolled in the measure in December.",
       "count of registered households in the measure's enrolled mask", "int"),
    _m("by_measure", "enrolled_people", "people", "enrolled people",
       "People of the registered poor households enrolled in the measure.",
       "sum of household size over the enrolled registered households", "int"),
    _m("by_measure", "spend", "yuan", "spend in the year",
       "Money the measure spent in the year.", "sum of monthly spend_<measure> over the year"),
    _m("by_measure", "spend_to_date", "yuan", "spend to date",
       "Money the measure spent from the first year to this one.",
       "running sum of spend over the years"),
    _m("by_measure", "exited_people_enrolled", "people", "enrolled people out of poverty",
       "People of enrolled registered households that are out of poverty.",
       "sum of household size over enrolled households with status exited", "int"),
    _m("by_measure", "exits_among_enrolled_per_million_yuan", "people per million yuan",
       "exits among enrolled per million yuan",
       "Enrolled people out of poverty per million yuan the measure spent to date (a household "
       "in several measures counts for each). Not what the measure buys: it credits the measure "
       "with every exit of the people it serves; see `shaoguan-abm attribute` for that.",
       "exited_people_enrolled / (spend_to_date / 1e6); empty when nothing was spent"),
    # ---- income_percentiles
    _m("income_percentiles", "year", "year", "year", "Year of the December assessment.",
       "calendar", "int", key=True),
    _m("income_percentiles", "population", "", "population",
       "registered, labour_capable or no_labour (registered households only).",
       "households.registered and the labour-capacity masks", "str", key=True),
    _m("income_percentiles", "percentile", "%", "percentile",
       "Percentile: 5, 10, 25, 50, 75, 90 or 95.", "INCOME_PERCENTILES", "int", key=True),
    _m("income_percentiles", "value", "yuan/person/year", "per-capita income",
       "People-weighted percentile of per-capita disposable income, 12 months to December.",
       "smallest income whose cumulative people reach the percentile (weighted_percentiles)"),
    # ---- by_party (observations scoped to a subset of a run: shaoguan:dongguan_villages)
    _m("by_party", "year", "year", "year", "Year of the December assessment.", "calendar",
       "int", key=True),
    _m("by_party", "party", "", "assisting party",
       "Assisting party of the poor villages: province, dongguan or shaoguan.",
       "population.PARTIES; a household counts for the party of the village it lives in",
       "str", key=True),
    _m("by_party", "villages", "villages", "villages", "Poor villages the party assists.",
       "count of villages of the party", "int"),
    _m("by_party", "villages_exited", "villages", "villages exited",
       "Villages of the party that have exited.", "count of exited villages of the party",
       "int"),
    _m("by_party", "registered_people", "people", "registered people",
       "People of the registered poor households living in the party's villages.",
       "sum of household size over registered households of the party's villages", "int"),
    _m("by_party", "cumulative_exited_people", "people", "people out of poverty (cum.)",
       "People of those households that are out of poverty.",
       "sum of household size over those households with status exited", "int"),
    _m("by_party", "mean_per_capita_income_poor", "yuan/person/year", "mean income, poor",
       "People-weighted mean per-capita disposable income of those households, 12 months to "
       "December (empty when the party has none).",
       "sum(income per capita x size) / registered_people"),
    _m("by_party", "mean_per_capita_income_labour_capable", "yuan/person/year",
       "mean income, labour-capable",
       "People-weighted mean per-capita income of the labour-capable registered households of "
       "the party's villages (empty when the party has none).",
       "sum(income per capita x size) / people over labour-capable households of the villages"),
    # ---- outcomes (scalars of RunResult.outcomes())
    _m("outcomes", "cumulative_exited_people_<year>", "people",
       "people out of poverty (cum.), <year>",
       "Registered poor people out of poverty at the end of the year.",
       "annual.cumulative_exited_people of the year"),
    _m("outcomes", "villages_exited_<year>", "villages", "villages exited, <year>",
       "Poor villages exited at the end of the year.", "annual.villages_exited of the year"),
    _m("outcomes", "poverty_gap_<year>", "share of the exit line", "poverty gap, <year>",
       "Poverty gap of the registered poor at the year's assessment.",
       "annual.poverty_gap of the year"),
    _m("outcomes", "target_met_<year>", "1/0", "target met, <year>",
       "1 when the year's cumulative target is met, else 0 (only years with a target in force).",
       "annual.target_met of the year, as 1/0"),
    _m("outcomes", "all_targets_met", "1/0", "all plan targets met",
       "1 when the target of every year of the scenario's target table is met, else 0.",
       "all target_met_<year> over the years of targets.cumulative_people"),
    _m("outcomes", "total_spend", "yuan", "total spend",
       "Money spent by every measure over the whole horizon.",
       "sum of every monthly spend_<measure> column"),
    _m("outcomes", "cost_per_exit", "yuan/person", "cost per exit",
       "Total spend over the people out of poverty at the end of the plan (its last target "
       "year).", "total_spend / cumulative_exited_people_<last target year>"),
    _m("outcomes", "cost_per_sustained_exit", "yuan/person", "cost per sustained exit",
       "Total spend over the people still out of poverty at the end of the horizon.",
       "total_spend / cumulative_exited_people of the last year"),
    # ---- columns of the feedback mechanisms, present only when the mechanism is on
    *(_m("annual", name, unit, label, description, computed, dtype, mechanism="verification")
      for name, unit, label, dtype, description, computed in (
        ("reported_exited_people", "people", "exits reported", "int",
         "People the counties report out of poverty this December, on seen income.",
         "verification: household sizes of the exits on seen income"),
        ("reported_exited_households", "households", "households reported out", "int",
         "Households the counties report out this December.", "verification"),
        ("wrong_exits_reported", "households", "wrong exits reported", "int",
         "Reported exits whose true income or guarantees do not meet the rule.",
         "verification: reported exits not out on true income"),
        ("exits_sampled", "households", "exits sampled", "int",
         "Reported exits in the verification sample.", "verification: sample share"),
        ("wrong_exits_found", "households", "wrong exits found", "int",
         "Wrong exits the verification sample finds (returned to the register).",
         "verification: sampled wrong exits x detection probability"),
        ("wrong_exits_found_people", "people", "people in wrong exits found", "int",
         "People of the wrong exits found.", "verification"),
        ("counties_exits_stopped", "counties", "counties stopped", "int",
         "Counties whose exits of the year are stopped (found wrong exits above tolerance).",
         "verification: found share > tolerance"),
        ("exits_withheld_people", "people", "exits withheld", "int",
         "Reported exits not counted: found wrong, or in a stopped county.", "verification"),
        ("income_verified_exited_people", "people", "exits verified in income", "int",
         "People out (cumulative) whose true income and guarantees meet the exit rule.",
         "verification: exited households out on true income"),
        ("wrong_exits_on_register_people", "people", "wrong exits on the register", "int",
         "People counted out whose true income or guarantees do not meet the rule.",
         "verification: exited and not out on true income"),
        ("income_verified_target_met", "yes/no", "target met in income", "bool",
         "Whether the income-verified exits reach the year's cumulative target.",
         "income_verified_exited_people >= target_cumulative_people"),
      )),
    *(_m("annual", name, "villages", label, description, "village re-check", "int",
         mechanism="village_recheck")
      for name, label, description in (
        ("villages_relapsed", "villages counted again",
         "Exited villages counted again this December (income, checklist or poor share)."),
        ("villages_ever_relapsed", "villages ever counted again",
         "Villages counted again in any year so far."),
      )),
    *(_m("annual", name, unit, label, description, "living register", dtype,
         mechanism="living_register")
      for name, unit, label, dtype, description in (
        ("registered_households", "households", "households on the register", "int",
         "Households on the register after this year's re-check."),
        ("registered_people", "people", "people on the register", "int",
         "People on the register after this year's re-check."),
        ("added_people", "people", "people added", "int",
         "People added to the register at this year's re-check."),
        ("removed_people", "people", "people removed", "int",
         "People removed from the register at this year's re-check."),
        ("register_share_exited", "share", "share of the register out", "float",
         "Share of the register's people counted out of poverty."),
      )),
    *(_m("by_county", name, unit, label, description, "verification", dtype,
         mechanism="verification")
      for name, unit, label, dtype, description in (
        ("reported_exited_people", "people", "exits reported", "int",
         "People the county reports out this December."),
        ("wrong_exits_found", "households", "wrong exits found", "int",
         "Wrong exits the county's verification sample finds."),
        ("exits_stopped", "yes/no", "exits stopped", "bool",
         "Whether the county's exits of the year are stopped."),
        ("income_verified_exited_people", "people", "exits verified in income", "int",
         "People out (cumulative) in the county whose true income meets the rule."),
      )),
    _m("by_county", "villages_relapsed", "villages", "villages counted again",
       "The county's exited villages counted again this December.", "village re-check",
       "int", mechanism="village_recheck"),
    *(_m("by_county", name, "people", label, description, "living register", "int",
         mechanism="living_register")
      for name, label, description in (
        ("added_people", "people added", "People added to the county's register this year."),
        ("removed_people", "people removed",
         "People removed from the county's register this year."),
      )),
    *(_m("annual", name, unit, label, description, "accountability", dtype,
         mechanism="accountability")
      for name, unit, label, dtype, description in (
        ("counties_behind", "counties", "counties behind target", "int",
         "Counties whose people out are fewer than their share of the next cumulative target."),
        ("counties_adapting", "counties", "counties adapting", "int",
         "Counties that raise their effort for the next year (behind, elasticity > 0)."),
        ("reallocated", "yuan", "special fund moved between uses", "float",
         "Unspent special-fund money the counties behind move this December to uses with "
         "unmet demand."),
        ("reallocated_to_date", "yuan", "special fund moved to date", "float",
         "Special-fund money moved between uses in every December so far."),
      )),
    *(_m("by_county", name, unit, label, description, "accountability", dtype,
         mechanism="accountability")
      for name, unit, label, dtype, description in (
        ("target_next_people", "people", "share of the next target", "int",
         "The county's share of next year's cumulative target (its share of the registered "
         "poor people when the run starts)."),
        ("behind_target", "yes/no", "behind target", "bool",
         "Whether the county's people out are fewer than its share of the next target."),
        ("shortfall", "share", "shortfall", "float",
         "Share of the county's next target still missing (0 when ahead)."),
        ("effort", "multiplier", "effort", "float",
         "The county's capacity multiplier for next year: min(ceiling, 1 + elasticity x "
         "shortfall)."),
        ("triage", "yes/no", "triage", "bool",
         "Whether the county enrols its candidates nearest the exit line first next year."),
        ("reallocated", "yuan", "special fund moved", "float",
         "Unspent special-fund money the county moves this December to uses with unmet "
         "demand."),
      )),
    _m("outcomes", "income_verified_target_met_<year>", "1/0", "target met in income, <year>",
       "1 when the year's income-verified exits meet its target, else 0 (years with a target).",
       "annual.income_verified_target_met of the year, as 1/0", mechanism="verification"),
)  # fmt: skip

#: The outcomes that hold one value per year (their name ends with ``_<year>``).
PER_YEAR_SUFFIX = "_<year>"


def metrics(table: str | None = None) -> list[Metric]:
    """The catalogue's metrics, of one table or of all (in column order).

    Raises:
        ValueError: ``table`` is not one of :data:`TABLES`.
    """
    if table is not None and table not in TABLES:
        raise ValueError(f"table: expected one of {', '.join(TABLES)}, found {table!r}")
    return [m for m in CATALOGUE if table is None or m.table == table]


def enabled_measures(scenario: Any | None = None) -> list[str]:
    """Names of the measures a scenario switches on, in their monthly order (all without one)."""
    return [
        cls.name
        for cls in MEASURES
        if scenario is None or getattr(getattr(scenario, cls.name, None), "enabled", True)
    ]


def expand(metric: Metric, measures: Sequence[str] = (), years: Sequence[int] = ()) -> list[str]:
    """The concrete names of a metric: itself, or its pattern over measures/components/years."""
    if "<measure>" in metric.name:
        return [metric.name.replace("<measure>", m) for m in measures]
    if "<component>" in metric.name:
        return [metric.name.replace("<component>", c) for c in INCOME_COMPONENTS]
    if "<year>" in metric.name:
        return [metric.name.replace("<year>", str(y)) for y in years]
    return [metric.name]


def table_columns(
    table: str, measures: Iterable[str] | None = None, mechanisms: Iterable[str] = ()
) -> list[str]:
    """Columns of a run's table, in order, with patterns expanded.

    Args:
        table: One of the recorded tables (not ``outcomes``: see :func:`outcome_names`).
        measures: Measures switched on (``spend_<measure>`` columns); all measures by default.
        mechanisms: Feedback mechanisms switched on, in the order their hooks run: their
            columns follow every run's columns, mechanism after mechanism.
    """
    if table == "outcomes":
        raise ValueError("table: outcomes have names by year; use outcome_names(scenario)")
    names = list(measures) if measures is not None else enabled_measures()
    listed = metrics(table)
    ordered = [m for m in listed if m.mechanism is None]
    for mechanism in mechanisms:
        ordered += [m for m in listed if m.mechanism == mechanism]
    return [c for m in ordered for c in expand(m, names)]


def per_year_outcomes() -> list[Metric]:
    """The outcomes named per year, in the order ``outcomes()`` gives them within a year."""
    return [m for m in metrics("outcomes") if m.name.endswith(PER_YEAR_SUFFIX)]


def scalar_outcomes() -> list[Metric]:
    """The outcomes with one value per run, in the order ``outcomes()`` gives them."""
    return [m for m in metrics("outcomes") if not m.is_pattern]


#: Per-year outcomes that exist only for years with a target in force.
TARGET_OUTCOMES = ("target_met", "income_verified_target_met")


def outcome_names_for(
    years: Iterable[int], target_years: Iterable[int], mechanisms: Iterable[str] = ()
) -> list[str]:
    """Outcome names of a run over ``years`` whose target table has ``target_years``.

    ``target_met_<year>`` exists from the first target year on (a target stays in force until
    the next one), the other per-year outcomes for every year; a mechanism's outcomes only
    when it is in ``mechanisms``.
    """
    first_target = min((int(y) for y in target_years), default=None)
    on = set(mechanisms)
    names = []
    for year in years:
        for m in per_year_outcomes():
            if m.mechanism is not None and m.mechanism not in on:
                continue
            column = m.name.removesuffix(PER_YEAR_SUFFIX)
            if column in TARGET_OUTCOMES and (first_target is None or year < first_target):
                continue
            names.append(f"{column}_{year}")
    return names + [m.name for m in scalar_outcomes()]


def enabled_mechanisms(scenario: Any) -> list[str]:
    """Names of the feedback mechanisms a scenario switches on, in the order their hooks run."""
    from model.engine.mechanisms import MECHANISMS

    return [cls.name for cls in MECHANISMS if getattr(scenario, cls.name).enabled]


def outcome_names(scenario: Any) -> list[str]:
    """Outcome names of the scenario's runs, known from the catalogue without running it."""
    return outcome_names_for(
        scenario.calendar.years,
        scenario.targets.cumulative_people,
        enabled_mechanisms(scenario),
    )


def find(name: str, table: str | None = None) -> Metric | None:
    """The metric a concrete column or outcome name is (patterns matched), or None."""
    for m in metrics(table):
        if m.matches(name):
            return m
    return None


def _fill(text: str, name: str, metric: Metric) -> str:
    """Put the placeholder values of ``name`` into ``text`` (a label of a patterned metric)."""
    match = re.fullmatch(_pattern_regex(metric.name), name) if metric.is_pattern else None
    if match is None:
        return text
    for holder, value in zip(re.findall(r"<[a-z]+>", metric.name), match.groups(), strict=True):
        text = text.replace(holder, value.replace("_", " "))
    return text


def label(name: str, table: str | None = None) -> str:
    """Short label of a column or outcome (its name with spaces when it is not catalogued)."""
    m = find(name, table)
    return name.replace("_", " ") if m is None else _fill(m.label, name, m)


def unit(name: str, table: str | None = None) -> str:
    """Unit of a column or outcome (empty when it is not catalogued)."""
    m = find(name, table)
    return "" if m is None else m.unit


def describe(name: str, table: str | None = None) -> str:
    """What a column or outcome means, from the catalogue (empty when it is not catalogued)."""
    m = find(name, table)
    return "" if m is None else m.description


def validation_metrics() -> list[str]:
    """Metric names an observed-data file may use: the numeric columns of the annual table."""
    return [c for m in metrics("annual") if m.numeric for c in expand(m)]


def markdown() -> str:
    """The catalogue as a Markdown reference (what ``docs/outputs.md`` holds)."""
    lines = [
        "# Outputs reference",
        "",
        "<!-- Generated by `shaoguan-abm outputs --markdown` (make docs) from "
        "model/results/metrics.py; do not edit by hand. -->",
        "",
        "Every column of a run's tables and every scalar outcome of `RunResult.outcomes()`, "
        "with its unit, meaning and how it is computed. Money is nominal yuan; counts are for "
        "the population simulated (a run at population scale 0.1 reports a tenth of the "
        "people).",
        "",
        "Names with a placeholder stand for one column or outcome each:",
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in PLACEHOLDERS.items()]
    lines.append("")
    for table in TABLES:
        title = "Scalar outcomes" if table == "outcomes" else f"Table `{table}`"
        lines += [f"## {title}", "", TABLE_ROWS[table][0].upper() + TABLE_ROWS[table][1:] + ".", ""]
        lines += ["| name | unit | meaning | computed as |", "| --- | --- | --- | --- |"]
        for m in metrics(table):
            cells = [f"`{m.name}`", m.unit or "-", m.description, m.computed]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
