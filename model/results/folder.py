"""Read whatever a results folder holds: a single run, an ensemble, a comparison or a sweep.

Reports and validation work on what is present: every ``*.parquet`` and ``*.csv`` file at the
top of the folder becomes a table named after the file (``annual``, ``replicates``,
``probabilities``, ``sensitivity``, ``ledger``...), and every ``*.png`` a figure already drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.results.outputs import SCHEMA_VERSION, RunResult, read_results


class ResultsFolderError(ValueError):
    """A results folder that cannot be read: missing, not a results folder, or another version."""


@dataclass
class ResultsFolder:
    """The tables, figures and manifest of one results folder.

    Attributes:
        path: The folder.
        manifest: ``manifest.json`` as a dict.
        tables: One DataFrame per ``*.parquet`` / ``*.csv`` file, keyed by file stem.
        figures: Paths of the ``*.png`` files in the folder, keyed by file stem.
    """

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` if the folder has a non-empty one, else ``None``."""
        table = self.tables.get(name)
        return None if table is None or table.empty else table

    @property
    def is_ensemble(self) -> bool:
        """True when the folder holds replicates of an ensemble."""
        return self.get("replicates") is not None

    @property
    def label(self) -> str:
        """``"<scenario>, population scale F, seed N"`` for figure titles."""
        m = self.manifest
        parts = [str(m.get("scenario_name", self.path.name))]
        if "population_scale" in m:
            parts.append(f"population scale {m['population_scale']:g}")
        if "replicates" in m:
            parts.append(f"{m['replicates']} replicates")
        if "seed" in m:
            parts.append(f"seed {m['seed']}")
        return ", ".join(parts)

    def run_result(self) -> RunResult | None:
        """The folder as a :class:`~model.outputs.RunResult` when it holds a single run."""
        if not all(self.get(name) is not None for name in RunResult.TABLES):
            return None
        return read_results(self.path)


def open_results(folder: str | Path) -> ResultsFolder:
    """Read a results folder written by ``shaoguan-abm run`` (or an ensemble, sweep...).

    Args:
        folder: The results folder.

    Returns:
        Its manifest, tables and figures.

    Raises:
        ResultsFolderError: The folder is missing, has no ``manifest.json``, was written by a
            results layout of another version, or holds a table that cannot be read.
    """
    path = Path(folder)
    if not path.exists():
        raise ResultsFolderError(f"{path}: no such results folder")
    if not path.is_dir():
        raise ResultsFolderError(f"{path}: expected a results folder, found a file")
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ResultsFolderError(
            f"{path}: not a results folder: expected manifest.json, found none"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsFolderError(f"{manifest_path}: expected JSON, found: {err}") from None
    if not isinstance(manifest, dict):
        raise ResultsFolderError(f"{manifest_path}: expected a JSON object")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsFolderError(
            f"{manifest_path}: expected results schema_version {SCHEMA_VERSION}, found "
            f"{version!r} (written by another version of the model; run the scenario again)"
        )
    tables: dict[str, pd.DataFrame] = {}
    for file in sorted(path.iterdir()):
        if not file.is_file() or file.name.startswith("."):
            continue
        try:
            if file.suffix == ".parquet":
                tables[file.stem] = pd.read_parquet(file)
            elif file.suffix == ".csv":
                tables[file.stem] = pd.read_csv(file)
        except Exception as err:  # noqa: BLE001 - any unreadable table is bad input
            raise ResultsFolderError(f"{file}: cannot read the table: {err}") from None
    figures = {f.stem: f for f in sorted(path.glob("*.png"))}
    return ResultsFolder(path=path, manifest=manifest, tables=tables, figures=figures)
