"""``shaoguan-abm select-model SCENARIO SCENARIO... --observed FILE --out DIR``: model choice.

Posterior probabilities of two or more scenarios as models of the observations (ABC-SMC with
pyabc, a uniform model prior): typically the model with the plan's four feedback mechanisms
against the model without them.
"""

from __future__ import annotations

import argparse
import sys

from model.commands.calibrate import abc_keywords, add_abc_options, add_abc_run_options
from model.commands.common import BadInput, add_scenario_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "select-model",
        help="which scenario reproduces the observations: posterior model probabilities "
        "(ABC-SMC with pyabc)",
        description="Choose between two or more scenarios (models), e.g. with and without the "
        "plan's feedback mechanisms, by their posterior probabilities given the observations: "
        "one ABC-SMC run (pyabc) with a model per scenario, a uniform model prior, uniform "
        "priors over each model's uncertainties and the same statistics for every model. "
        "Writes model_probabilities.csv, posterior_<scenario>.parquet for each model still "
        "alive, generations.csv, manifest.json and model_probabilities.png. The probabilities "
        "depend on the priors and on the statistics: see docs/calibration.md.",
    )
    add_scenario_argument(p, many=True)
    add_abc_options(p, every_model=True)
    add_abc_run_options(p, "model selection")


def main(args: argparse.Namespace) -> int:
    """Run the model choice, one line per generation; print the posterior model probabilities."""
    from model.engine.scenario import load_scenario
    from model.experiments.calibration import CalibrationError
    from model.experiments.model_selection import select_model
    from model.results.observed import ObservedDataError

    if len(args.scenarios) < 2:
        raise BadInput(
            f"SCENARIO: expected at least two scenarios to choose between, found one "
            f"({args.scenarios[0]})"
        )
    scenarios = [load_scenario(path, args.overrides) for path in args.scenarios]
    try:
        result = select_model(scenarios, args.observed, args.out, **abc_keywords(args))
    except (CalibrationError, ObservedDataError) as err:
        raise BadInput(str(err)) from None
    except KeyboardInterrupt:
        print(
            f"interrupted: the complete generations are kept in {args.out}/history.db; to "
            f"continue, run the same select-model command with --resume",
            file=sys.stderr,
        )
        return 130
    from model.commands.common import format_table

    last = result.probabilities["generation"].max()
    table = result.probabilities[result.probabilities["generation"] == last]
    table = table.assign(
        particles=[len(result.posteriors.get(name, ())) for name in table["scenario"]]
    )[["model", "scenario", "probability", "particles"]]
    print(format_table(table, rename={"probability": "P(model | data)"}))
    manifest = result.manifest
    print(
        f"posterior model probabilities after generation {last + 1} (uniform model prior, "
        f"{len(manifest['observations_fitted'])} observations); {manifest['runs']} runs in "
        f"{manifest['seconds']:.0f} s; written to {result.folder}"
    )
    return 0
