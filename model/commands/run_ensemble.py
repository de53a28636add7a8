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


def refuse_ensemble_options(args: argparse.Namespace) -> None:
    """``--workers``, ``--scheduler`` and ``--resume`` only make sense with ``--replicates``."""
    given = [
        name
        for name, value in (
            ("--workers", args.workers),
            ("--scheduler", args.scheduler),
            ("--resume", args.resume or None),
        )
        if value is not None
    ]
    if given:
        raise BadInput(
            f"{', '.join(given)}: expected --replicates N with it (a single run uses one process)"
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


def main(args: argparse.Namespace) -> int:
    """Run the ensemble, write its folder, print the probabilities."""
    from model.experiments.ensemble import run_ensemble

    scenario = load_for_run(args.scenario, args)
    check_resume(args)
    out = (
        args.out if args.out is not None else default_out(scenario.name, args.seed, args.replicates)
    )
    result, code = run_with_executor(
        args,
        out,
        "run",
        lambda executor: run_ensemble(
            scenario,
            replicates=args.replicates,
            seed=args.seed,
            population_scale=args.population_scale,
            out=out,
            resume=args.resume,
            progress=show_progress(args),
            executor=executor,
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
    for line in cost_lines(result):
        print(line)
    plan = ", ".join(str(y) for y in sorted(scenario.targets.cumulative_people))
    print(
        f"P(met): share of replicates meeting the target, 95% Wilson interval; all = every target "
        f"of the plan ({plan}). Results in {out}"
    )
    return 0
