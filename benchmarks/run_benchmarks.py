"""`make bench`: time the reference workloads and write benchmarks/results.json."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import model  # noqa: E402


def workload(name: str, scenario_path: Path, scale: float, seed: int = 1) -> dict:
    scenario = model.load_scenario(scenario_path)
    t0 = time.perf_counter()
    m = model.PovertyModel(scenario, seed=seed, population_scale=scale)
    m.run_model()
    wall = time.perf_counter() - t0
    hh_months = m.households.n * m.month_index
    return {
        "workload": name,
        "households": m.households.n,
        "months": m.month_index,
        "population_s": round(m.seconds_population, 3),
        "simulation_s": round(m.seconds_simulation, 3),
        "wall_s": round(wall, 3),
        "ns_per_household_month": round(1e9 * m.seconds_simulation / hh_months, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    rows = [
        workload("W1 scale 0.1", ROOT / "scenarios" / "baseline.toml", 0.1),
        workload("W1", ROOT / "scenarios" / "baseline.toml", 1.0),
    ]
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
