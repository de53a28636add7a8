"""Scenario reports: ``report.html`` (self-contained) and ``report.md`` beside the results.

A report is built from whatever the results folder holds (see
:mod:`model.results.folder`): a section or figure appears when its table exists and is left out
otherwise. Sections, in order: the scenario and its assumptions; the annual targets against the
outcomes; the probability of meeting them (ensembles); a scenario comparison (``compare``);
figures; spend and cost per exit; key sensitivities (sweeps); validation against observed data;
and, as an appendix, every uncertainty with its range. The sections are built in
:mod:`model.reporting.sections` and rendered by :mod:`model.reporting.rendering`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model.reporting.rendering import FIGURE_DIR, Report
from model.reporting.sections import (
    _comparison_section,
    _figures,
    _probability_section,
    _scenario_section,
    _sensitivity_section,
    _spend_section,
    _targets_section,
    _uncertainty_appendix,
    _validation_section,
)
from model.results.folder import ResultsFolder, open_results

# ---------------------------------------------------------------------------------------------
# the report


def build_report(results: ResultsFolder) -> Report:
    """Build the report of a results folder (nothing is written).

    Args:
        results: An opened results folder.

    Returns:
        The report, ready for :meth:`Report.markdown` and :meth:`Report.html`.
    """
    name = results.manifest.get("scenario_name", results.path.name)
    report = Report(title=f"Scenario report: {name}")
    report.blocks += _scenario_section(results)
    report.blocks += _targets_section(results)
    report.blocks += _probability_section(results)
    report.blocks += _comparison_section(results)
    figures = _figures(results)
    if figures:
        report.blocks.append(("h2", "Figures"))
        report.blocks += [("figure", f) for f in figures]
    report.blocks += _spend_section(results)
    report.blocks += _sensitivity_section(results)
    report.blocks += _validation_section(results)
    report.blocks += _uncertainty_appendix(results)
    return report


@dataclass
class WrittenReport:
    """What :func:`write_report` wrote."""

    html: Path
    markdown: Path
    report: Report

    @property
    def sections(self) -> list[str]:
        """Headings of the report's sections."""
        return [content for kind, content in self.report.blocks if kind == "h2"]


def write_report(folder: str | Path | ResultsFolder) -> WrittenReport:
    """Write ``report.html``, ``report.md`` and ``report_files/`` into a results folder.

    Everything is built in memory and written to temporary files first, so a failure leaves
    the folder as it was.

    Args:
        folder: The results folder (a path, or one already opened).

    Returns:
        The paths written and the report.

    Raises:
        model.results_folder.ResultsFolderError: The folder cannot be read.
    """
    results = folder if isinstance(folder, ResultsFolder) else open_results(folder)
    report = build_report(results)
    out = results.path
    tmp = Path(tempfile.mkdtemp(prefix=".report-tmp-", dir=out))
    try:
        files = tmp / FIGURE_DIR
        files.mkdir()
        for item in report.figures:
            (files / f"{item.name}.png").write_bytes(item.png)
        (tmp / "report.md").write_text(report.markdown(), encoding="utf-8")
        (tmp / "report.html").write_text(report.html(), encoding="utf-8")
        target = out / FIGURE_DIR
        if target.exists():
            trash = out / f".{FIGURE_DIR}.old-{os.getpid()}-{time.time_ns()}"
            target.rename(trash)
            files.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            files.rename(target)
        os.replace(tmp / "report.md", out / "report.md")
        os.replace(tmp / "report.html", out / "report.html")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return WrittenReport(html=out / "report.html", markdown=out / "report.md", report=report)
