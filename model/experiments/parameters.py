"""Where an ensemble's parameter values come from: fixed, drawn from the priors, or a posterior.

An ensemble varies the random seed of every replicate; it may also vary the *uncertainties* (the
parameters of kind ``uncertainty`` in :func:`model.engine.scenario.sweepable_parameters`), so
that its probabilities say how uncertain the assumptions are, not only how noisy the model is.
Three sources:

- ``fixed``: every parameter at the scenario's value (only the seeds vary);
- ``prior``: every uncertainty drawn from its prior, a uniform distribution over its declared
  ``[low, high]`` range (whole numbers for integer parameters: each integer of the range equally
  likely);
- ``posterior``: rows of a calibrated posterior (a Parquet file with a ``weight`` column and one
  column per fitted parameter, named by its dotted path) resampled with probability
  proportional to their weights (integer parameters rounded to whole numbers); the other
  uncertainties stay at the scenario's values.

Levers (what the government chooses) are never drawn.

Draw ``d`` of an ensemble with root seed ``s`` uses, for each parameter, the stream
``numpy.random.SeedSequence(s, spawn_key=(PARAMETER_STREAM, d, crc32(path)))`` (and the key
``crc32("posterior row")`` for the posterior row). These streams are separate from the
replicates' seeds (children ``(r,)`` of ``SeedSequence(s)``) and from the simulation's streams
(spawned from each replicate's own seed), and depend on nothing else: not on the scenario, the
number of replicates, the number of workers or where the runs execute. Every scenario of a
comparison therefore gets the same draws (common random numbers), and adding a parameter to the
schema changes no other parameter's draws.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The parameter sources an ensemble takes.
SOURCES = ("fixed", "prior", "posterior")

#: First element of the spawn key of every parameter-draw stream (ASCII "para").
PARAMETER_STREAM = 0x70617261

#: Name of the weight column of a posterior file.
WEIGHT = "weight"

#: What the rows of a posterior are drawn with (a stream of its own, like a parameter).
POSTERIOR_ROW = "posterior row"

#: Short description of each source, for tables, titles and legends.
LABELS = {
    "fixed": "seeds only",
    "prior": "seeds and prior parameter draws",
    "posterior": "seeds and posterior parameter draws",
}


class PosteriorError(ValueError):
    """A posterior file that cannot be drawn from; the message names the file."""


@dataclass(frozen=True, eq=False)
class ParameterSource:
    """Where an ensemble's parameter values come from.

    Build one with :meth:`fixed`, :meth:`prior` or :meth:`from_posterior_file` (or let
    :func:`parameter_source` turn ``"fixed"``, ``"prior"`` or a path into one).

    Attributes:
        kind: ``"fixed"``, ``"prior"`` or ``"posterior"``.
        posterior: The posterior's rows (``weight`` and one column per fitted parameter), or None.
        path: The posterior file, as given.
        sha256: SHA-256 of the posterior file's bytes.
    """

    kind: str = "fixed"
    posterior: pd.DataFrame | None = None
    path: str | None = None
    sha256: str | None = None

    @classmethod
    def fixed(cls) -> ParameterSource:
        """Every parameter at the scenario's value: only the seeds vary."""
        return cls("fixed")

    @classmethod
    def prior(cls) -> ParameterSource:
        """Every uncertainty drawn uniformly over its range for every draw."""
        return cls("prior")

    @classmethod
    def from_posterior_file(cls, path: str | os.PathLike[str]) -> ParameterSource:
        """Read a posterior file (Parquet: ``weight`` and one column per fitted parameter).

        The parameter names are checked against a scenario by :meth:`check` (every ensemble
        does so before it runs).

        Args:
            path: The Parquet file.

        Returns:
            The posterior source.

        Raises:
            PosteriorError: The file is missing or not Parquet, has no rows, no ``weight``
                column or no parameter column, non-numeric or non-finite values, negative
                weights or weights summing to zero.
        """
        label = str(path)
        file = Path(path)
        if not file.is_file():
            found = "a directory" if file.is_dir() else "no such file"
            raise PosteriorError(f"{label}: expected a Parquet posterior file, found {found}")
        data = file.read_bytes()
        try:
            table = pd.read_parquet(file)
        except Exception:  # noqa: BLE001 - pyarrow raises many kinds; the message says it
            raise PosteriorError(
                f"{label}: expected a Parquet posterior file, found an unreadable file"
            ) from None
        table = table.reset_index(drop=True)
        check_posterior_table(table, label)
        columns = [WEIGHT, *sorted(c for c in table.columns if c != WEIGHT)]
        return cls(
            "posterior",
            posterior=table[columns].astype(float),
            path=label,
            sha256=hashlib.sha256(data).hexdigest(),
        )

    # -- what it is ------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``seeds only``, ``seeds and prior parameter draws`` or ``... posterior ...``."""
        return LABELS[self.kind]

    @property
    def drawn(self) -> bool:
        """Whether any parameter is drawn (prior or posterior)."""
        return self.kind != "fixed"

    def fitted(self) -> list[str]:
        """The posterior's parameters (dotted paths, sorted), or ``[]``."""
        if self.posterior is None:
            return []
        return [c for c in self.posterior.columns if c != WEIGHT]

    def drawn_parameters(self, scenario: Any) -> list[str]:
        """The dotted paths this source draws for ``scenario``, sorted (none when fixed)."""
        if self.kind == "prior":
            return sorted(uncertainties(scenario))
        return self.fitted()

    def describe(self, scenario: Any) -> str:
        """What varies between replicates, in one phrase (for printed output and manifests)."""
        if self.kind == "fixed":
            return "seeds only (every parameter at the scenario's value)"
        n = len(self.drawn_parameters(scenario))
        if self.kind == "prior":
            return (
                f"seeds and prior parameter draws ({n} uncertainties, each uniform over its "
                "range; levers at the scenario's values)"
            )
        return (
            f"seeds and posterior parameter draws from {self.path} ({n} fitted parameters, rows "
            "resampled by weight; other parameters at the scenario's values)"
        )

    def manifest(self) -> dict[str, Any]:
        """The source as a manifest records it: ``parameters`` (and the posterior file)."""
        out: dict[str, Any] = {"parameters": self.kind}
        if self.kind == "posterior":
            out["posterior_file"] = self.path
            out["posterior_sha256"] = self.sha256
            out["posterior_rows"] = len(self.posterior) if self.posterior is not None else 0
        return out

    # -- drawing --------------------------------------------------------------------------------

    def check(self, scenario: Any) -> None:
        """Refuse a posterior whose parameters are not uncertainties of ``scenario``.

        Raises:
            PosteriorError: Naming the file, the unknown parameters and what was expected.
        """
        if self.kind != "posterior":
            return
        table = uncertainty_table(scenario)
        unknown = [p for p in self.fitted() if p not in table]
        if unknown:
            levers = [p for p in unknown if p in lever_paths(scenario)]
            what = (
                f"levers {', '.join(levers)} (levers are never drawn)"
                if levers == unknown
                else f"unknown parameter names {', '.join(unknown)}"
            )
            raise PosteriorError(
                f"{self.path}: expected columns '{WEIGHT}' and dotted paths of uncertainties of "
                f"scenario {scenario.name} (e.g. dynamics.job_finding_rate), found {what}"
            )

    def draw(self, scenario: Any, seed: int, draw: int) -> dict[str, float | int]:
        """The parameter values of draw ``draw`` of an ensemble of root seed ``seed``.

        Args:
            scenario: The validated scenario (its ranges, for prior draws).
            seed: The ensemble's root seed.
            draw: The draw's index (the replicate's index when each draw runs one seed).

        Returns:
            ``{dotted path: value}`` (empty when fixed); integer parameters get ints.
        """
        if self.kind == "fixed":
            return {}
        if self.kind == "prior":
            out: dict[str, float | int] = {}
            for path, info in sorted(uncertainty_table(scenario).items()):
                out[path] = prior_value(info, uniform(seed, draw, path))
            return out
        integers = integer_parameters(scenario)
        values = self.posterior.iloc[self.row(seed, draw)]
        return {
            path: int(round(float(values[path]))) if path in integers else float(values[path])
            for path in self.fitted()
        }

    def row(self, seed: int, draw: int) -> int:
        """The posterior row that draw ``draw`` of root ``seed`` takes (posterior only)."""
        if self.posterior is None:
            raise ValueError(f"a {self.kind} source has no posterior rows")
        weights = self.posterior[WEIGHT].to_numpy(dtype=float)
        return weighted_row(weights, uniform(seed, draw, POSTERIOR_ROW))


def check_posterior_table(table: pd.DataFrame, label: str) -> None:
    """Refuse a posterior table that cannot be drawn from (names are checked by the scenario).

    Raises:
        PosteriorError: No rows, no ``weight`` column or no parameter column, non-numeric or
            non-finite values, negative weights or weights summing to zero.
    """
    if WEIGHT not in table.columns:
        found = ", ".join(map(str, table.columns)) or "no columns"
        raise PosteriorError(f"{label}: expected a column '{WEIGHT}', found {found}")
    if len(table) == 0:
        raise PosteriorError(f"{label}: expected at least one row, found none")
    if len(table.columns) < 2:
        raise PosteriorError(
            f"{label}: expected one column per fitted parameter beside '{WEIGHT}', found none"
        )
    for column in table.columns:
        if not isinstance(column, str) or table[column].dtype.kind not in "iuf":
            raise PosteriorError(
                f"{label}: column {column!r}: expected numbers, found {table[column].dtype}"
            )
        values = table[column].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise PosteriorError(
                f"{label}: column {column!r}: expected finite numbers, found NaN or infinity"
            )
    weights = table[WEIGHT].to_numpy(dtype=float)
    if (weights < 0).any():
        raise PosteriorError(
            f"{label}: expected weights >= 0, found {float(weights.min()):g} "
            f"(row {int(np.argmin(weights))})"
        )
    if weights.sum() <= 0:
        raise PosteriorError(f"{label}: expected weights with a positive sum, found a sum of 0")


def scenario_source(scenario: Any) -> ParameterSource:
    """The source a scenario's ``[forecast]`` table names (``fixed`` unless it says otherwise).

    A relative ``forecast.posterior`` path starts at the project folder, the parent of
    ``scenarios/``.

    Raises:
        PosteriorError: The named posterior file cannot be read.
    """
    forecast = scenario.forecast
    if forecast.parameters == "prior":
        return ParameterSource.prior()
    if forecast.parameters == "posterior":
        from model.engine.scenario import SCENARIO_DIR

        path = Path(forecast.posterior)
        source = ParameterSource.from_posterior_file(
            path if path.is_absolute() else SCENARIO_DIR.parent / path
        )
        # named as the scenario names it, so that printed lines and manifests do not depend
        # on where the project is checked out
        return dataclasses.replace(source, path=forecast.posterior)
    return ParameterSource.fixed()


def common_scenario_source(scenarios: Sequence[Any]) -> ParameterSource:
    """The one source the scenarios' ``[forecast]`` tables name, for a comparison.

    Scenarios compared on common random numbers must draw the same parameters, so scenarios
    naming different sources are refused (the caller must then choose one).

    Raises:
        ValueError: The scenarios name different sources.
        PosteriorError: The named posterior file cannot be read.
    """
    named = {(s.forecast.parameters, s.forecast.posterior) for s in scenarios}
    if len(named) > 1:
        listed = ", ".join(
            f"{s.name}: {s.forecast.parameters} {s.forecast.posterior}".rstrip() for s in scenarios
        )
        raise ValueError(
            "the scenarios name different parameter sources in [forecast] "
            f"({listed}); say which to use for all of them (--parameters)"
        )
    return scenario_source(scenarios[0]) if scenarios else ParameterSource.fixed()


def parameter_source(value: Any = None, scenario: Any = None) -> ParameterSource:
    """A :class:`ParameterSource` from what a caller gives.

    Args:
        value: None (the scenario's ``[forecast]`` source, or fixed without a scenario);
            ``"fixed"``; ``"prior"``; a :class:`ParameterSource`; or the path of a posterior
            file (a ``pathlib.Path`` or ``("posterior", path)``).
        scenario: The scenario whose ``[forecast]`` table answers for ``value=None``.

    Returns:
        The source.

    Raises:
        ValueError: Anything else.
        PosteriorError: A posterior file that cannot be read.
    """
    if value is None and scenario is not None:
        return scenario_source(scenario)
    if value is None or value == "fixed":
        return ParameterSource.fixed()
    if isinstance(value, ParameterSource):
        return value
    if value == "prior":
        return ParameterSource.prior()
    if isinstance(value, os.PathLike):
        return ParameterSource.from_posterior_file(value)
    if isinstance(value, tuple | list) and len(value) == 2 and value[0] == "posterior":
        return ParameterSource.from_posterior_file(value[1])
    raise ValueError(
        "parameters: expected 'fixed', 'prior', a ParameterSource or a posterior file "
        f"(pathlib.Path or ('posterior', FILE)), found {value!r}"
    )


# ---------------------------------------------------------------------------------------------
# the streams and the distributions


def _name_key(name: str) -> int:
    """A stable 32-bit key of a name (crc32: the same in every process, unlike ``hash``)."""
    return zlib.crc32(name.encode("utf-8"))


def uniform(seed: int, draw: int, name: str) -> float:
    """The uniform number in [0, 1) of parameter ``name`` in draw ``draw`` of root ``seed``."""
    key = (PARAMETER_STREAM, int(draw), _name_key(name))
    stream = np.random.SeedSequence(int(seed), spawn_key=key)
    return float(np.random.default_rng(stream).random())


def prior_value(info: Mapping[str, Any], u: float) -> float | int:
    """The prior's value at uniform number ``u``: uniform over ``[low, high]``.

    An integer parameter (its default is an ``int``) takes each whole number of its range with
    equal probability.
    """
    low, high = float(info["low"]), float(info["high"])
    if _is_integer(info["default"]):
        first, last = math.ceil(low), math.floor(high)
        return int(min(first + math.floor(u * (last - first + 1)), last))
    return low + u * (high - low)


def weighted_row(weights: np.ndarray, u: float) -> int:
    """The row chosen by ``u`` with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights, dtype=float)
    index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
    return min(index, len(weights) - 1)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# the scenario's parameters


def uncertainty_table(scenario: Any) -> dict[str, dict[str, Any]]:
    """The scenario's uncertainties with their ranges (levers and fixed parameters left out)."""
    from model.engine.scenario import sweepable_parameters

    return {
        path: info
        for path, info in sweepable_parameters(scenario).items()
        if info.get("kind", "uncertainty") == "uncertainty"
    }


def uncertainties(scenario: Any) -> list[str]:
    """Dotted paths of the scenario's uncertainties that have a range."""
    return list(uncertainty_table(scenario))


def lever_paths(scenario: Any) -> set[str]:
    """Dotted paths of the scenario's levers that have a range."""
    from model.engine.scenario import sweepable_parameters

    return {p for p, i in sweepable_parameters(scenario).items() if i.get("kind") == "lever"}


def integer_parameters(scenario: Any) -> set[str]:
    """Dotted paths of the uncertainties that take whole numbers."""
    return {p for p, i in uncertainty_table(scenario).items() if _is_integer(i["default"])}
