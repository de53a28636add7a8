"""The report's model-choice section: which scenario the observations favour.

A model-choice folder (``shaoguan-abm select-model``) holds ``model_probabilities.csv`` (each
model's posterior probability after each generation), ``generations.csv``, one
``posterior_<scenario>.parquet`` per model still alive, and a manifest with
``"kind": "model_selection"`` that names the models, their mechanisms, the parameters fitted and
the statistics a model holds constant.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from model.reporting.calibration_section import generations_table, parameter_table
from model.results.folder import ResultsFolder


def _models_table(manifest: dict[str, Any], last: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model in manifest.get("scenarios", []):
        # by model number: read back from CSV, a scenario named "2020" or "NA" is no string
        probability = last.loc[last["model"] == model["model"], "probability"]
        held = model.get("statistics_held_constant") or {}
        rows.append(
            {
                "model": str(model["model"]),
                "scenario": model["name"],
                "mechanisms on": ", ".join(model.get("mechanisms") or []) or "none",
                "parameters fitted": str(len(model.get("parameters") or {})),
                "held constant": ", ".join(f"`{k}` (= `{v}`)" for k, v in held.items()) or "-",
                "P(model | data)": f"{float(probability.iloc[0]) if len(probability) else 0:.2f}",
            }
        )
    return pd.DataFrame(rows)


def model_selection_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    """The blocks of the model-choice section, or none when the folder is no model choice."""
    manifest = results.manifest
    probabilities = results.get("model_probabilities")
    if manifest.get("kind") != "model_selection" or probabilities is None:
        return []
    settings = manifest.get("settings", {})
    last_generation = int(probabilities["generation"].max())
    last = probabilities[probabilities["generation"] == last_generation]
    fitted = manifest.get("observations_fitted") or []
    blocks: list[tuple[str, Any]] = [
        ("h2", "Model choice"),
        (
            "p",
            f"ABC-SMC model choice (pyabc {manifest.get('pyabc_version', '?')}) between "
            f"{len(manifest.get('scenarios', []))} scenarios on {len(fitted)} observations of "
            f"`{manifest.get('observed_file', '?')}`: {settings.get('particles', '?')} particles, "
            f"{settings.get('generations_run', '?')} generations, {manifest.get('runs', '?')} "
            f"model runs at population scale {settings.get('population_scale', '?')} in "
            f"{manifest.get('seconds', 0):.0f} s; model prior {settings.get('model_prior', '?')}, "
            f"distance {settings.get('distance', '?')}. "
            + (
                "One seed reproduces it (single-core sampler)."
                if settings.get("reproducible")
                else "Run in parallel: another run gives another draw."
            ),
        ),
        (
            "p",
            f"Posterior probability of each model after the last generation ({last_generation} "
            "in the table of generations): relative to the scenarios offered and to these "
            "observations alone. A model with no particle left in a generation has probability "
            "0 from then on; with few particles that can happen by chance.",
        ),
        ("table", _models_table(manifest, last)),
    ]
    if fitted:
        blocks.append(("p", "Observations: " + ", ".join(f"`{k}`" for k in fitted) + "."))
    generations = results.get("generations")
    if generations is not None:
        blocks += [("h3", "Generations"), ("table", generations_table(generations))]
    for model in manifest.get("scenarios", []):
        posterior = results.get(f"posterior_{model['name']}")
        if posterior is None or "weight" not in posterior or len(posterior.columns) < 2:
            continue
        blocks += [
            ("h3", f"Parameters of `{model['name']}`: prior against posterior"),
            ("table", parameter_table(posterior, model.get("parameters") or {})),
        ]
    return blocks
