"""One-at-a-time sensitivity of the baseline: each ranged parameter at its low and high end.

This is the screening behind the "which assumptions matter most" table of
``docs/limitations.md``. It is not a global sensitivity analysis: every other parameter stays at
its default, so interactions are invisible. Every run uses the same seeds (common random
numbers), so a difference between the low and the high end is the parameter's effect plus the
noise left after averaging over the seeds.

Usage::

    .venv/bin/python docs/oat_sensitivity.py --scale 0.1 --seeds 3 --workers 2 --out oat.csv

Writes one row per (parameter, end) with the seed-averaged outcomes and prints the parameters
ranked by the swing (high minus low) of cumulative exits in 2018.
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

import pandas as pd

OUTCOMES = (
    "cumulative_exited_people_2016",
    "cumulative_exited_people_2017",
    "cumulative_exited_people_2018",
    "villages_exited_2018",
    "total_spend",
)


def one_run(task: tuple[str, str, str | None, float | None, int, float]) -> dict:
    """Run the scenario with one parameter at one value; returns its scalar outcomes."""
    from model.engine.scenario import apply_overrides, load_scenario
    from model.results.recording import run

    scenario_path, end, path, value, seed, scale = task
    scenario = load_scenario(scenario_path)
    if path is not None:
        scenario = apply_overrides(scenario, {path: value})
    out = run(scenario, seed=seed, population_scale=scale).outcomes()
    row = {"parameter": path or "(baseline)", "end": end, "value": value, "seed": seed}
    row.update({k: out.get(k, float("nan")) for k in OUTCOMES})
    return row


def main() -> None:
    """Parse arguments, run every (parameter, end, seed) and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="scenarios/baseline.toml")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--baseline-seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("oat.csv"))
    args = parser.parse_args()

    from model.engine.scenario import load_scenario, sweepable_parameters

    scenario = load_scenario(args.scenario)
    tasks: list[tuple] = [
        (args.scenario, "default", None, None, seed, args.scale)
        for seed in range(1, args.baseline_seeds + 1)
    ]
    for path, spec in sweepable_parameters(scenario).items():
        for end in ("low", "high"):
            value = spec[end]
            if isinstance(spec["default"], int) and not isinstance(spec["default"], bool):
                value = int(round(value))
            tasks += [
                (args.scenario, end, path, value, seed, args.scale)
                for seed in range(1, args.seeds + 1)
            ]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        rows = pool.map(one_run, tasks, chunksize=1)
    runs = pd.DataFrame(rows)
    runs.to_csv(args.out.with_suffix(".runs.csv"), index=False)
    table = runs.groupby(["parameter", "end"], as_index=False).agg(
        value=("value", "first"), **{k: (k, "mean") for k in OUTCOMES}
    )
    table.to_csv(args.out, index=False)
    wide = table[table["parameter"] != "(baseline)"].pivot(
        index="parameter", columns="end", values=list(OUTCOMES) + ["value"]
    )
    swing = pd.DataFrame(
        {
            "low": wide[("value", "low")],
            "high": wide[("value", "high")],
            **{
                f"{k}_low": wide[(k, "low")]
                for k in ("cumulative_exited_people_2018", "villages_exited_2018")
            },
            **{
                f"{k}_high": wide[(k, "high")]
                for k in ("cumulative_exited_people_2018", "villages_exited_2018")
            },
            "swing_2018": wide[("cumulative_exited_people_2018", "high")]
            - wide[("cumulative_exited_people_2018", "low")],
        }
    )
    swing = swing.reindex(swing["swing_2018"].abs().sort_values(ascending=False).index)
    base = runs[runs["parameter"] == "(baseline)"]
    print(f"baseline, {len(base)} seeds at scale {args.scale}:")
    print(base[list(OUTCOMES)].agg(["mean", "std"]).to_string())
    print(swing.head(25).to_string())


if __name__ == "__main__":
    main()
