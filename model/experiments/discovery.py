"""Scenario discovery: in which region of the uncertainties does the plan succeed?

PRIM (the patient rule induction method of Friedman and Fisher, as used for scenario discovery by
Bryant and Lempert 2010; the implementation of ``ema_workbench.analysis.prim``) looks for boxes
(one interval per uncertainty, most left at their full range) in which the replicates that meet
a condition (the *cases of interest*: a year's target met, or an outcome above a threshold) are
concentrated. Each box is described by

- **coverage**: the share of all cases of interest that lie in the box;
- **density**: the share of the replicates in the box that are cases of interest;
- **mass**: the share of all replicates that lie in the box;
- a **quasi-p value** per restricted uncertainty (one-sided binomial test of Bryant and Lempert:
  how likely the density gain from that restriction alone is by chance).

It tells a planner which facts about the world the plan's success depends on.

Design: discovery reads an ensemble folder made with ``--parameters prior`` rather than running
its own sample (or being an option of ``sweep``). An ensemble with prior draws *is* the sample
PRIM needs (every uncertainty uniform over its range, levers at the scenario's values, each
replicate recording its drawn values next to its outcomes), its probabilities and the boxes then
describe the same runs, and the same folder can be searched for several outcomes and thresholds
without running the model again. ``sweep`` designs (Morris trajectories, Saltelli samples) are
built for sensitivity indices, are not uniform over the space and also vary levers, so PRIM on
them would mix what the government chooses with what nobody controls.

Which box: PRIM peels the box by ``peel_alpha`` of the remaining replicates at a time until
fewer than ``min_mass`` of them remain, then pastes back what raises the density; the box it
ends with is the one reported (``selected`` in the trajectory table). A box is kept only if its
density reaches ``min_density``; PRIM then searches the replicates outside it for the next box,
up to ``max_boxes``. Restrictions whose quasi-p values exceed ``max_qp`` (0.05) are then
dropped in one pass, since with many uncertainties PRIM also restricts some by chance; the
simpler box is reported if it is still denser than the whole ensemble. The whole peeling
trajectory is written too, so a reader can choose a larger, less dense box. With a few hundred
replicates and about a hundred uncertainties, small boxes can be chance: read the quasi-p
values, and prefer boxes that restrict few uncertainties.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Columns of :attr:`DiscoveryResult.boxes` (``discovery.csv``).
BOX_COLUMNS = [
    "box",
    "uncertainty",
    "lower",
    "upper",
    "prior_low",
    "prior_high",
    "qp_lower",
    "qp_upper",
    "coverage",
    "density",
    "mass",
    "cases_in_box",
    "replicates_in_box",
    "restricted",
]

#: Columns of :attr:`DiscoveryResult.trajectory` (``discovery_trajectory.csv``).
TRAJECTORY_COLUMNS = [
    "box",
    "step",
    "coverage",
    "density",
    "mass",
    "restricted",
    "replicates_in_box",
    "cases_in_box",
    "selected",
]

#: Defaults (the Workbench's ``peel_alpha``; see :func:`discover` for ``min_mass``).
DEFAULT_PEEL_ALPHA = 0.05
DEFAULT_MIN_MASS = 0.05
DEFAULT_MIN_DENSITY = 0.5
DEFAULT_MAX_BOXES = 3
DEFAULT_MAX_QP = 0.05


class DiscoveryError(ValueError):
    """Input that scenario discovery cannot use; the message is one line for the user."""


@dataclass
class DiscoveryResult:
    """The boxes PRIM found, their peeling trajectories and what was searched for.

    Attributes:
        boxes: One row per box and uncertainty it restricts (:data:`BOX_COLUMNS`): the box's
            limits, the uncertainty's prior range, the quasi-p values of the two limits, and
            the box's coverage, density and mass (repeated on each of its rows).
        trajectory: Every box on every peeling and pasting trajectory (:data:`TRAJECTORY_COLUMNS`);
            ``selected`` marks the box reported in ``boxes``.
        summary: The condition (``outcome``, ``rule``, ``threshold``), the number of replicates
            and cases of interest, PRIM's settings and the ensemble's parameter source.
    """

    boxes: pd.DataFrame
    trajectory: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def figure(self) -> Any:
        """The peeling trajectory and the limits of the first box (a matplotlib figure)."""
        from model.reporting.figures import discovery_figure

        return discovery_figure(
            self.trajectory,
            self.boxes,
            title=f"Where {self.summary.get('condition', 'the condition')} holds",
            subtitle=self.summary.get("source", ""),
        )

    def write(self, folder: str | Path) -> Path:
        """Write the discovery files into ``folder``, each renamed into place when complete.

        Files: ``discovery.csv``, ``discovery_trajectory.csv``, ``discovery.json`` and
        ``discovery.png``.

        Returns:
            The folder.
        """
        from model.experiments.execution import (
            atomic_savefig,
            atomic_to_csv,
            atomic_write_json,
        )

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_csv(self.boxes, out / "discovery.csv")
        atomic_to_csv(self.trajectory, out / "discovery_trajectory.csv")
        atomic_savefig(self.figure(), out / "discovery.png")
        atomic_write_json(self.summary, out / "discovery.json")
        return out


# ---------------------------------------------------------------------------------------------
# PRIM on a table


def prim_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    peel_alpha: float = DEFAULT_PEEL_ALPHA,
    min_mass: float = DEFAULT_MIN_MASS,
    min_density: float = DEFAULT_MIN_DENSITY,
    max_boxes: int = DEFAULT_MAX_BOXES,
    priors: dict[str, tuple[float, float]] | None = None,
    max_qp: float | None = DEFAULT_MAX_QP,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run PRIM on the points ``x`` with cases of interest ``y``.

    Args:
        x: One row per point, one numeric column per uncertainty (all searched as real
            numbers).
        y: Booleans, one per row of ``x``: whether the point is a case of interest. Both values
            must occur.
        peel_alpha: Share of the remaining points peeled at each step, in (0, 0.5).
        min_mass: Peeling stops when a box would hold fewer than this share of the points.
        min_density: A box is kept only if at least this share of its points are cases of
            interest when PRIM finds it, and if, once its chance restrictions are dropped, it is
            still denser than all the points together; the search stops at the first box that
            is not kept.
        max_boxes: Most boxes to find (each searched among the points outside the earlier ones).
        priors: ``{column: (low, high)}`` reported beside the limits; the observed range of a
            column without one.
        max_qp: Restrictions of the box PRIM ends with whose quasi-p values both exceed this are
            dropped (they are likely chance), and the box's statistics recomputed; the
            simplified box is added to the trajectory and reported. None keeps every
            restriction.

    Returns:
        ``(boxes, trajectory)`` as in :class:`DiscoveryResult`; ``boxes`` is empty when no box
        reaches ``min_density``.
    """
    y = np.asarray(y, dtype=bool)
    base_rate = float(y.mean())
    # whole-number columns are searched as real numbers: the Workbench's pasting of integer
    # columns fails under pandas 2 (it writes a half-way limit such as 15.5 into an int column)
    x = x.reset_index(drop=True).astype(float)
    priors = priors or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema_prim
        from ema_workbench.analysis import scenario_discovery_util as sdutil

        logging.getLogger("EMA").setLevel(logging.WARNING)
        prim = ema_prim.Prim(
            x,
            y.astype(int),
            threshold=min_density,
            peel_alpha=peel_alpha,
            paste_alpha=peel_alpha,
            mass_min=min_mass,
        )
        found = []
        for _ in range(max_boxes):
            if prim.determine_coi(prim.yi_remaining) == 0:
                break
            box = prim.find_box()
            if box is None or box.mean < min_density or box.res_dim == 0:
                break
            if max_qp is not None:
                _drop_chance_restrictions(prim, box, max_qp, sdutil)
            if box.density <= base_rate:  # simplified to a box no denser than all replicates
                break
            found.append(box)
    box_rows: list[dict[str, Any]] = []
    trajectory_rows: list[dict[str, Any]] = []
    for number, box in enumerate(found, start=1):
        t = box.peeling_trajectory
        chosen = box._cur_box if box._cur_box >= 0 else len(t) + box._cur_box
        for step in range(len(t)):
            trajectory_rows.append(
                {
                    "box": number,
                    "step": step,
                    "coverage": float(t.loc[step, "coverage"]),
                    "density": float(t.loc[step, "density"]),
                    "mass": float(t.loc[step, "mass"]),
                    "restricted": int(t.loc[step, "res_dim"]),
                    "replicates_in_box": int(t.loc[step, "n"]),
                    "cases_in_box": int(t.loc[step, "k"]),
                    "selected": step == chosen,
                }
            )
        limits = box.box_lims[chosen]
        restricted = list(sdutil._determine_restricted_dims(limits, prim.box_init))
        qp = box.qp[chosen]
        for name in restricted:
            low, high = priors.get(name, (float(x[name].min()), float(x[name].max())))
            qp_low, qp_high = (float(v) for v in qp.get(name, (math.nan, math.nan)))
            box_rows.append(
                {
                    "box": number,
                    "uncertainty": name,
                    "lower": float(limits.loc[0, name]),
                    "upper": float(limits.loc[1, name]),
                    "prior_low": float(low),
                    "prior_high": float(high),
                    # the Workbench marks a limit left at the edge of the data with -1
                    "qp_lower": qp_low if qp_low >= 0 else math.nan,
                    "qp_upper": qp_high if qp_high >= 0 else math.nan,
                    "coverage": float(t.loc[chosen, "coverage"]),
                    "density": float(t.loc[chosen, "density"]),
                    "mass": float(t.loc[chosen, "mass"]),
                    "cases_in_box": int(t.loc[chosen, "k"]),
                    "replicates_in_box": int(t.loc[chosen, "n"]),
                    "restricted": len(restricted),
                }
            )
    boxes = pd.DataFrame(box_rows, columns=BOX_COLUMNS)
    trajectory = pd.DataFrame(trajectory_rows, columns=TRAJECTORY_COLUMNS)
    return boxes, trajectory


def _drop_chance_restrictions(prim: Any, box: Any, max_qp: float, sdutil: Any) -> None:
    """Drop the restrictions of ``box`` whose quasi-p values both exceed ``max_qp``.

    The restrictions (Bryant and Lempert 2010) are dropped at once and the simpler box is
    appended to the box's trajectory. One pass: the quasi-p values of the simpler box are
    recomputed and reported, not used to drop more (each restriction's test is against the box
    with every other restriction, so repeating would peel away a real but shared effect).
    """
    qp = box.qp[box._cur_box]
    chance = [
        name
        for name, values in qp.items()
        if all(v < 0 or v > max_qp for v in values)  # -1: that side is not restricted
    ]
    if not chance or len(chance) == len(qp):
        return
    limits = box.box_lims[box._cur_box].copy()
    for name in chance:
        limits[name] = prim.box_init[name]
    remaining = prim.yi_remaining
    inside = sdutil._in_box(prim.x.loc[remaining, :], limits)
    box.update(limits, remaining[inside])


# ---------------------------------------------------------------------------------------------
# an ensemble folder


def _read_ensemble_inputs(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and ``outcomes.parquet`` of an ensemble folder, or a one-line refusal."""
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        found = "a file" if folder.exists() else "no such folder"
        raise DiscoveryError(
            f"RESULTS_DIR {folder}: expected an ensemble folder "
            f"(shaoguan-abm run SCENARIO --replicates N --parameters prior), found {found}"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("kind") != "ensemble":
        found = (
            "no readable manifest.json"
            if not isinstance(manifest, dict)
            else f"a results folder of kind {manifest.get('kind')!r}"
        )
        raise DiscoveryError(
            f"RESULTS_DIR {folder}: expected an ensemble folder "
            f"(shaoguan-abm run SCENARIO --replicates N --parameters prior), found {found}"
        )
    if manifest.get("parameters", "fixed") == "fixed":
        raise DiscoveryError(
            f"RESULTS_DIR {folder}: expected an ensemble with parameters drawn "
            f"(--parameters prior), found fixed parameters: only the seeds vary, so there is "
            f"nothing to discover"
        )
    try:
        outcomes = pd.read_parquet(folder / "outcomes.parquet")
    except Exception:  # noqa: BLE001 - pyarrow raises many kinds; the message says it
        raise DiscoveryError(
            f"RESULTS_DIR {folder}: expected outcomes.parquet, found it missing or unreadable"
        ) from None
    drawn = [p for p in manifest.get("drawn_parameters", []) if p in outcomes.columns]
    if not drawn:
        raise DiscoveryError(
            f"RESULTS_DIR {folder}: expected one column per drawn parameter in outcomes.parquet, "
            f"found none"
        )
    return manifest, outcomes


def _priors(manifest: dict[str, Any], drawn: list[str]) -> dict[str, tuple[float, float]]:
    """Prior ranges of the drawn parameters, from the scenario the manifest records."""
    try:
        from model.engine.scenario import validate_scenario
        from model.experiments.parameters import uncertainty_table

        table = uncertainty_table(validate_scenario(manifest["scenario"]))
    except Exception:  # noqa: BLE001 - an older scenario: the observed ranges then
        return {}
    return {p: (float(table[p]["low"]), float(table[p]["high"])) for p in drawn if p in table}


def _condition(
    outcomes: pd.DataFrame,
    drawn: list[str],
    outcome: str | None,
    threshold: float | None,
    target_met: int | None,
    below: bool,
    plan_years: list[int],
) -> tuple[str, np.ndarray, str, float | None]:
    """The outcome column, the cases of interest, a readable condition and the threshold."""
    if outcome is not None and target_met is not None:
        raise DiscoveryError(
            f"--outcome {outcome} and --target-met {target_met}: expected one of them, found both"
        )
    if outcome is None:
        year = target_met if target_met is not None else (max(plan_years) if plan_years else None)
        if year is None or f"target_met_{year}" not in outcomes.columns:
            years = ", ".join(
                c.removeprefix("target_met_")
                for c in outcomes.columns
                if c.startswith("target_met_")
            )
            raise DiscoveryError(
                f"--target-met {year}: expected a year with a target ({years}), found {year}"
            )
        if threshold is not None:
            raise DiscoveryError(
                f"--threshold {threshold:g}: expected it with --outcome NAME, found it with "
                f"--target-met {year}"
            )
        outcome = f"target_met_{year}"
    names = [c for c in outcomes.columns if c not in {"replicate", "seed", "draw", *drawn}]
    if outcome not in names:
        raise DiscoveryError(
            f"--outcome {outcome}: expected an outcome of the ensemble ({', '.join(names[:6])}, "
            f"... {len(names)} in all: see outcomes.parquet), found {outcome}"
        )
    values = outcomes[outcome]
    # yes/no outcomes (target_met_YEAR, all_targets_met, income_verified_target_met_YEAR) may
    # be stored as 0/1 numbers
    if values.dtype == bool or "target_met" in outcome or "targets_met" in outcome:
        if threshold is not None:
            raise DiscoveryError(
                f"--threshold {threshold:g}: expected no threshold for the yes/no outcome "
                f"{outcome}, found one"
            )
        y = values.fillna(0).to_numpy(dtype=float) > 0.5
        condition = f"{outcome} is {'false' if below else 'true'}"
        y = ~y if below else y
        return outcome, y, condition, None
    if threshold is None:
        raise DiscoveryError(
            f"--outcome {outcome}: expected --threshold X for this numeric outcome, found none"
        )
    numbers = values.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        y = numbers <= threshold if below else numbers >= threshold
    condition = f"{outcome} {'<=' if below else '>='} {threshold:g}"
    return outcome, y, condition, float(threshold)


def discover(
    results_dir: str | Path,
    outcome: str | None = None,
    threshold: float | None = None,
    target_met: int | None = None,
    below: bool = False,
    peel_alpha: float = DEFAULT_PEEL_ALPHA,
    min_mass: float = DEFAULT_MIN_MASS,
    min_density: float = DEFAULT_MIN_DENSITY,
    max_boxes: int = DEFAULT_MAX_BOXES,
    write: bool = True,
) -> DiscoveryResult:
    """Find with PRIM the boxes of the uncertainties in which a condition holds.

    Reads an ensemble folder made with ``--parameters prior`` (``manifest.json`` and
    ``outcomes.parquet``: one row per replicate with its outcomes and drawn values) and, unless
    ``write`` is false, writes ``discovery.csv`` (each box's limits per restricted uncertainty,
    coverage, density, mass), ``discovery_trajectory.csv``, ``discovery.json`` and
    ``discovery.png`` into it. Nothing is written when the input is refused.

    The condition is one of: the target of year ``target_met`` met (default: the last plan
    year's); ``outcome >= threshold`` (``<=`` with ``below``) for a numeric outcome; a yes/no
    ``outcome`` true (false with ``below``). A replicate whose outcome is missing (NaN) does
    not meet it.

    Args:
        results_dir: The ensemble folder.
        outcome: A column of ``outcomes.parquet`` (e.g. ``cumulative_exited_people_2018``,
            ``all_targets_met``, ``cost_per_exit``).
        threshold: The outcome's threshold (numeric outcomes only).
        target_met: The year whose target must be met (not with ``outcome``).
        below: Cases of interest are at or below the threshold (or the yes/no outcome false).
        peel_alpha: Share of the replicates peeled at each step, in (0, 0.5).
        min_mass: Smallest share of the replicates a box may hold, in (0, 1). The default is the
            Workbench's; raise it with few replicates (a box of 5% of 200 replicates holds 10).
        min_density: Smallest share of cases of interest a reported box must hold, in (0, 1].
        max_boxes: Most boxes to find.
        write: Write the files into ``results_dir``.

    Returns:
        The :class:`DiscoveryResult`.

    Raises:
        DiscoveryError: Not an ensemble folder, fixed parameters (nothing to discover), an
            unknown outcome or year, a threshold that no replicate or every replicate meets,
            or PRIM settings out of range.
    """
    folder = Path(results_dir)
    if not 0 < peel_alpha < 0.5:
        raise DiscoveryError(f"--peel-alpha: expected a number in (0, 0.5), found {peel_alpha:g}")
    if not 0 < min_mass < 1:
        raise DiscoveryError(f"--min-mass: expected a number in (0, 1), found {min_mass:g}")
    if not 0 < min_density <= 1:
        raise DiscoveryError(f"min_density: expected a number in (0, 1], found {min_density:g}")
    manifest, outcomes = _read_ensemble_inputs(folder)
    drawn = [p for p in manifest.get("drawn_parameters", []) if p in outcomes.columns]
    plan_years = sorted(
        int(y) for y in manifest.get("scenario", {}).get("targets", {}).get("cumulative_people", {})
    )
    outcome, y, condition, threshold = _condition(
        outcomes, drawn, outcome, threshold, target_met, below, plan_years
    )
    n, k = len(y), int(y.sum())
    if k == 0 or k == n:
        which = "no replicate meets" if k == 0 else f"every one of the {n} replicates meets"
        raise DiscoveryError(
            f"{condition}: expected a condition some but not all replicates meet, found {which} "
            f"it, so no box separates them (try another threshold or year)"
        )
    x = outcomes[drawn].copy()
    x = x.loc[:, x.nunique() > 1]  # a parameter with a single value cannot bound a box
    boxes, trajectory = prim_boxes(
        x, y, peel_alpha, min_mass, min_density, max_boxes, _priors(manifest, list(x.columns))
    )
    parameters = str(manifest.get("parameters"))
    source = (
        f"{n} replicates of {manifest.get('scenario_name', '')} with "
        f"{'prior' if parameters == 'prior' else parameters} parameter draws "
        f"(population scale {manifest.get('population_scale', 1):g}); {k} meet the condition"
    )
    summary = {
        "kind": "discovery",
        "ensemble": str(folder),
        "scenario_name": manifest.get("scenario_name"),
        "parameters": parameters,
        "outcome": outcome,
        "threshold": threshold,
        "below": bool(below),
        "condition": condition,
        "replicates": n,
        "cases_of_interest": k,
        "share_meeting": k / n,
        "uncertainties_searched": int(x.shape[1]),
        "peel_alpha": peel_alpha,
        "paste_alpha": peel_alpha,
        "min_mass": min_mass,
        "min_density": min_density,
        "max_boxes": max_boxes,
        "boxes_found": int(boxes["box"].nunique()) if len(boxes) else 0,
        "method": "PRIM (ema_workbench.analysis.prim, lenient1 objective), quasi-p values of "
        "Bryant and Lempert (2010)",
        "source": source,
    }
    result = DiscoveryResult(boxes=boxes, trajectory=trajectory, summary=summary)
    if write:
        result.write(folder)
    return result
