"""``shaoguan-abm run SCENARIO --replicates N``: an ensemble and its probabilities of success."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import pandas as pd

from model.commands.common import BadInput, load_for_run
from model.commands.execution_options import (
    check_resume,
    run_with_executor,
    show_progress,
)
from model.commands.parameter_options import (
    parameter_source,
    parameters_given,
    refusing_bad_draws,
)


def refuse_ensemble_options(args: argparse.Namespace) -> None:
    """Refuse the options that only make sense with ``--replicates``.

    They are ``--workers``, ``--scheduler``, ``--resume``, ``--parameters`` and
    ``--seeds-per-draw``.
    """
    given = [
        name
        for name, value in (
            ("--workers", args.workers),
            ("--scheduler", args.scheduler),
            ("--resume", args.resume or None),
        )
        if value is not None
    ] + parameters_given(args)
    if given:
        raise BadInput(
            f"{', '.join(given)}: expected --replicates N with it (a single run uses one "
            "process and the scenario's parameter values)"
        )


def default_out(scenario_name: str, seed: int, replicates: int) -> Path:
    """``results/<scenario>/<timestamp>-seed<N>-x<R>``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / scenario_name / f"{stamp}-seed{seed}-x{replicates}"


def probability_text(p: float, low: float, high: float) -> str:
    """``0.42 [0.35, 0.49]``."""
    return f"{p:.2f} [{low:.2f}, {high:.2f}]"


def ensemble_table(result) -> pd.DataFrame:  # noqa: ANN001 - EnsembleResult
    """The table ``run --replicates`` prints: per year the target, P(met), exits and villages."""
    q = result.quantiles.set_index(["metric", "year"])
    rows = []
    for _, r in result.probabilities.iterrows():
        row = {
            "year": r["year"],
            "target": "-"
            if pd.isna(r["target_cumulative_people"])
            else f"{int(r['target_cumulative_people']):,}",
            "P(met) [95% CI]": probability_text(r["probability_met"], r["ci_low"], r["ci_high"]),
        }
        key = ("cumulative_exited_people", r["year"])
        if key in q.index:
            e = q.loc[key]
            row["exited (median)"] = f"{e['q50']:,.0f}"
            row["exited 5-95%"] = f"{e['q05']:,.0f}-{e['q95']:,.0f}"
            v = q.loc[("villages_exited", r["year"])]
            row["villages (median)"] = f"{v['q50']:,.0f}"
        else:
            row.update({"exited (median)": "", "exited 5-95%": "", "villages (median)": ""})
        rows.append(row)
    return pd.DataFrame(rows)


def ensemble_answer(result, plan_years: list[int]) -> str:  # noqa: ANN001 - EnsembleResult
    """The line under the table: each target's share of replicates, and what varied."""
    from model.reporting.answer import met_from_probabilities, parameter_source, targets_answer

    met = met_from_probabilities(result.probabilities, plan_years)
    runs = int(result.manifest["replicates"])
    return targets_answer(met, runs, parameter_source(result.manifest))


def cost_lines(result) -> list[str]:  # noqa: ANN001 - EnsembleResult
    """Median and 5-95% range of the cost outcomes."""
    from model.results.metrics import label

    s = result.outcome_summary.set_index("outcome")
    lines = []
    for name, scale, unit, fmt in (
        ("total_spend", 1e6, "million yuan", ",.1f"),
        ("cost_per_exit", 1.0, "yuan", ",.0f"),
        ("cost_per_sustained_exit", 1.0, "yuan", ",.0f"),
    ):
        if name in s.index and s.loc[name, "replicates"] > 0:
            r = s.loc[name]
            lines.append(
                f"{label(name, 'outcomes')}: median {r['q50'] / scale:{fmt}} {unit} "
                f"(5-95%: {r['q05'] / scale:{fmt}}-{r['q95'] / scale:{fmt}})"
            )
    return lines


def percent(share: float) -> str:
    """``37%``, or ``-`` when the share is unknown (NaN)."""
    return "-" if share != share else f"{100 * share:.0f}%"  # noqa: PLR0124 - NaN test


def variance_lines(result) -> list[str]:  # noqa: ANN001 - EnsembleResult
    """The variance split of cumulative exits per plan year, as printed after the table."""
    split = result.variance_split
    if split.empty:
        return []
    first = split.iloc[0]
    estimator = first["estimator"]
    if estimator == "parameters fixed":
        how = "parameters fixed: all from the seeds"
    elif estimator == "nested anova":
        how = (
            f"nested design, {int(first['draws'])} parameter draws x "
            f"{int(first['seeds_per_draw'])} seeds: seed variance within draws, parameter "
            "variance between their means"
        )
    else:
        how = (
            "one seed per parameter draw: parameters and seeds not separable; use "
            "--seeds-per-draw 2 or more"
        )
    table = pd.DataFrame(
        {
            "year": [name.rsplit("_", 1)[1] for name in split["outcome"]],
            "sd (people)": [
                "-" if v != v else f"{v**0.5:,.0f}"  # noqa: PLR0124 - NaN test
                for v in split["variance_total"]
            ],
            "from parameters": split["share_parameters"].map(percent),
            "from seeds": split["share_seeds"].map(percent),
        }
    )
    return [
        f"variance of cumulative exits over replicates ({how}):",
        table.to_string(index=False),
    ]


def main(args: argparse.Namespace) -> int:
    """Run the ensemble, write its folder, print the probabilities."""
    from model.experiments.ensemble import run_ensemble

    scenario = load_for_run(args.scenario, args)
    check_resume(args)
    source = parameter_source(args, [scenario])
    out = (
        args.out if args.out is not None else default_out(scenario.name, args.seed, args.replicates)
    )
    result, code = run_with_executor(
        args,
        out,
        "run",
        refusing_bad_draws(
            lambda executor: run_ensemble(
                scenario,
                replicates=args.replicates,
                seed=args.seed,
                population_scale=args.population_scale,
                out=out,
                resume=args.resume,
                progress=show_progress(args),
                executor=executor,
                parameters=source,
                seeds_per_draw=args.seeds_per_draw,
            )
        ),
    )
    if code is not None:
        return code
    m = result.manifest
    print(
        f"scenario {scenario.name}: {args.replicates} replicates, seed {args.seed}, population "
        f"scale {args.population_scale:g}, on {m['executed_on']}: {m['runs_computed']} runs in "
        f"{m['seconds']:.1f} s" + (f" ({m['runs_resumed']} resumed)" if m["runs_resumed"] else "")
    )
    print(ensemble_table(result).to_string(index=False))
    print(ensemble_answer(result, sorted(scenario.targets.cumulative_people)))
    for line in cost_lines(result):
        print(line)
    for line in variance_lines(result):
        print(line)
    plan = ", ".join(str(y) for y in sorted(scenario.targets.cumulative_people))
    print(f"probabilities over {args.replicates} replicates: {m['parameters_description']}")
    shared = (
        f" over the effective number of replicates (the {args.seeds_per_draw} replicates of a "
        "parameter draw are correlated: n / (1 + (k - 1) x intraclass correlation))"
        if args.seeds_per_draw > 1
        else ""
    )
    print(
        f"P(met): share of replicates meeting the target, 95% Wilson interval{shared}; all = "
        f"every target of the plan ({plan}). Results in {out}"
    )
    return 0
