"""The ``[forecast]`` table: what an ensemble of a scenario draws by default besides its seeds.

A scenario may name its own parameter source, so that a calibrated scenario forecasts from its
posterior without the caller having to say so (``scenarios/calibrated.toml``). A source given
by the caller (``--parameters``, or ``parameters=`` in Python) always wins.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal

from pydantic import model_validator

from model.engine.params import Section, choice, param

#: Where a relative ``forecast.posterior`` path starts: the project folder, the parent of
#: ``scenarios/`` (so the same file works whichever folder the command runs in).
POSTERIOR_ROOT_NOTE = "relative to the project folder (the folder that holds scenarios/)"


class ForecastParams(Section):
    """The parameter source an ensemble of the scenario uses when the caller names none."""

    parameters: Literal["fixed", "prior", "posterior"] = param(
        "fixed",
        unit="source",
        source=choice(),
        doc="What replicates draw besides their seeds: fixed (the scenario's values), prior "
        "(every uncertainty uniform over its range) or posterior (rows of forecast.posterior).",
    )
    posterior: str = param(
        "",
        unit="path",
        source=choice(),
        doc="The calibrated posterior (Parquet, a weight column and one column per fitted "
        f'parameter), {POSTERIOR_ROOT_NOTE}; only with parameters = "posterior".',
    )

    @model_validator(mode="after")
    def _posterior_with_its_file(self) -> ForecastParams:
        if self.parameters == "posterior" and not self.posterior:
            raise ValueError('parameters = "posterior" needs posterior = "FILE.parquet"')
        if self.parameters != "posterior" and self.posterior:
            raise ValueError(
                f'posterior is only read with parameters = "posterior", found parameters = '
                f'"{self.parameters}"'
            )
        if self.posterior and ".." in PurePosixPath(self.posterior.replace("\\", "/")).parts:
            raise ValueError(f"posterior: a path without '..', found {self.posterior!r}")
        return self
