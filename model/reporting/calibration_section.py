"""The report's calibration section: what the posterior says and how well it reproduces the data.

A calibration folder (``shaoguan-abm calibrate``) holds ``posterior.parquet``,
``calibration.csv``, ``generations.csv`` and a manifest with ``"kind": "calibration"``; its
figures (prior against posterior, posterior predictive) are picked up with the folder's other
figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.results.folder import ResultsFolder


def _fmt(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def _interval(values: np.ndarray, weights: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    tail = (1 - level) / 2
    pick = values[order]
    low = pick[min(int(np.searchsorted(cum, tail)), len(pick) - 1)]
    high = pick[min(int(np.searchsorted(cum, 1 - tail)), len(pick) - 1)]
    return float(low), float(high)


def parameter_table(posterior: pd.DataFrame, priors: dict[str, Any]) -> pd.DataFrame:
    """One row per parameter: prior range, posterior mean and 90% credible interval.

    The last column is the share of the prior range the interval still spans (near 1: the data
    say little about the parameter).
    """
    weights = posterior["weight"].to_numpy(dtype=float)
    rows = []
    for name in [c for c in posterior.columns if c != "weight"]:
        values = posterior[name].to_numpy(dtype=float)
        low, high = _interval(values, weights)
        prior = priors.get(name, {})
        p_low, p_high = float(prior.get("low", np.nan)), float(prior.get("high", np.nan))
        width = (high - low) / (p_high - p_low) if p_high > p_low else float("nan")
        rows.append(
            {
                "parameter": f"`{name}`",
                "prior (uniform)": f"{_fmt(p_low)} - {_fmt(p_high)}",
                "posterior mean": _fmt(float((values * weights).sum() / weights.sum())),
                "90% credible interval": f"{_fmt(low)} - {_fmt(high)}",
                "share of prior range": f"{width:.2f}",
            }
        )
    return pd.DataFrame(rows)


def generations_table(generations: pd.DataFrame) -> pd.DataFrame:
    """``generations.csv`` of an ABC-SMC run, formatted for a report."""
    return pd.DataFrame(
        {
            "generation": generations["generation"].astype(int).astype(str),
            "epsilon": generations["epsilon"].map(_fmt),
            "runs": generations["runs"].map(_fmt),
            "acceptance rate": generations["acceptance_rate"].map(lambda v: f"{v:.2f}"),
            "seconds": generations["seconds"].map(_fmt),
        }
    )


def calibration_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    """The blocks of the calibration section, or none when the folder is no calibration."""
    manifest = results.manifest
    posterior = results.get("posterior")
    table = results.get("calibration")
    if manifest.get("kind") != "calibration" or posterior is None or table is None:
        return []
    settings = manifest.get("settings", {})
    blocks: list[tuple[str, Any]] = [
        ("h2", "Calibration"),
        (
            "p",
            f"ABC-SMC (pyabc {manifest.get('pyabc_version', '?')}) fitted "
            f"{len(posterior.columns) - 1} parameters to {len(table)} observations of "
            f"`{manifest.get('observed_file', '?')}`: {settings.get('particles', '?')} particles, "
            f"{settings.get('generations_run', '?')} generations, {manifest.get('runs', '?')} "
            f"model runs at population scale {settings.get('population_scale', '?')} in "
            f"{manifest.get('seconds', 0):.0f} s; distance {settings.get('distance', '?')}. "
            + (
                "One seed reproduces it (single-core sampler)."
                if settings.get("reproducible")
                else "Run in parallel: another run gives another draw of the posterior."
            ),
        ),
        ("h3", "Parameters: prior against posterior"),
        (
            "p",
            "A 90% credible interval spanning most of the prior range (share near 1) means the "
            "observations do not pin the parameter down.",
        ),
        ("table", parameter_table(posterior, manifest.get("parameters", {}))),
    ]
    generations = results.get("generations")
    if generations is not None:
        blocks += [("h3", "Generations"), ("table", generations_table(generations))]
    shown = pd.DataFrame(
        {
            "scope": table["scope"].astype(str),
            "year": table["year"].astype(int).astype(str),
            "metric": table["metric"].astype(str),
            "observed": table["observed"].map(_fmt),
            "model median": table["median"].map(_fmt),
            "90% interval": [
                f"{_fmt(a)} - {_fmt(b)}"
                for a, b in zip(table["low_90"], table["high_90"], strict=True)
            ],
            "inside": table["inside_90"].map({True: "yes", False: "NO"}),
        }
    )
    inside = int(table["inside_90"].sum())
    blocks += [
        ("h3", "Posterior predictive against the observations"),
        (
            "p",
            f"{inside} of {len(table)} observations inside the 90% interval of the runs at "
            "posterior draws (from `calibration.csv`).",
        ),
        ("table", shown),
    ]
    skipped = manifest.get("observations_skipped") or []
    if skipped:
        blocks.append(
            (
                "p",
                "Not fitted (the model does not produce the metric yet): "
                + ", ".join(f"`{k}`" for k in skipped)
                + ".",
            )
        )
    return blocks
