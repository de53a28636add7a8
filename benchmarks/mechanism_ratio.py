"""The feedback mechanisms' cost in CPU time, as ratios taken within rounds of one process.

Between fresh processes a full-scale month scatters by 10-40% on a shared machine, more than
the ratio being measured. Here the baseline, the four mechanisms with the register unchanged
(``living_register.entry_detection = 0`` and ``removal_detection = 0``), with the register
closed (``entry_detection = 0``) and all four at their defaults (``feedback.toml``) run in turn
in one process, round after round; each round gives each variant's CPU time per month (months
2 to the last, after one month outside the count) over the baseline's of the same round, and
the script prints the median and quartiles of those ratios.

Usage::

    python benchmarks/mechanism_ratio.py --rounds 12

``benchmarks/month_instructions.py --scale 1 --scenario ...`` counts the same months in
instructions, which load does not change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNCHANGED = ["living_register.entry_detection=0", "living_register.removal_detection=0"]
CLOSED = ["living_register.entry_detection=0"]


def rounds(n: int, scale: float) -> dict[str, list[float]]:
    """CPU ms a month of each variant, round by round."""
    import model
    from model.engine import kernels
    from model.engine.scenario import apply_overrides
    from model.results.recording import RecordedModel

    kernels.load()
    feedback = model.load_scenario(ROOT / "scenarios" / "feedback.toml")
    variants = {
        "baseline": model.load_scenario(ROOT / "scenarios" / "baseline.toml"),
        "register unchanged": apply_overrides(feedback, UNCHANGED),
        "closed register": apply_overrides(feedback, CLOSED),
        "all four": feedback,
    }
    out: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(n):
        for name, scenario in variants.items():
            m = RecordedModel(scenario, seed=1, population_scale=scale)
            m.step()
            cpu0 = time.process_time()
            m.run_model()
            out[name].append(1e3 * (time.process_time() - cpu0) / (m.month_index - 1))
            m.release()
        row = ", ".join(f"{k} {v[-1]:.2f}" for k, v in out.items())
        print(f"round {r + 1} (CPU ms a month): {row}", flush=True)
    return out


def summarise(ms: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Each variant's ratios to ``ms["baseline"]`` of the same round: median and quartiles.

    Also ``least``: the variant's least time over the baseline's least (rounds not paired).
    """
    base = ms["baseline"]
    out = {}
    for name, values in ms.items():
        if name == "baseline":
            continue
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        q = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else []
        out[name] = {
            "median": statistics.median(ratios),
            "q1": q[0] if q else ratios[0],
            "q3": q[2] if q else ratios[0],
            "least": min(values) / min(base),
        }
    return out


def main() -> None:
    """Command line: print each variant's ratio to the baseline (median and quartiles)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--scale", type=float, default=1.0)
    a = parser.parse_args()
    for name, r in summarise(rounds(a.rounds, a.scale)).items():
        print(
            f"{name} / baseline: median {r['median']:.3f}, quartiles {r['q1']:.3f}-"
            f"{r['q3']:.3f}, least over least {r['least']:.3f}"
        )


if __name__ == "__main__":
    sys.path.append(str(ROOT))
    os.chdir(ROOT)
    main()
