"""Scenario reports: ``report.html`` (self-contained) and ``report.md`` beside the results.

A report is built from whatever the results folder holds (see
:mod:`model.results.folder`): a section or figure appears when its table exists and is left out
otherwise. It opens with the answer: will the targets be met? (a paragraph in words, from
:mod:`model.reporting.answer`, the targets against the outcomes and the figure against the
targets). Then, in order: the probability of meeting them (ensembles); a scenario comparison
(``compare``); key sensitivities, what drives the outcome (sweeps); spend and cost per exit; more
figures; validation against observed data; the scenario and its assumptions; every uncertainty
with its range; and, last, the run's metadata. The sections are built in
:mod:`model.reporting.sections` and rendered by :mod:`model.reporting.rendering`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model.reporting.attribution_section import attribution_section
from model.reporting.rendering import FIGURE_DIR, Report
from model.reporting.sections import (
    _comparison_section,
    _figures,
    _probability_section,
    _run_facts_section,
    _scenario_section,
    _sensitivity_section,
    _spend_section,
    _targets_section,
    _uncertainty_appendix,
    _validation_section,
    main_figure,
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
    figures = _figures(results)
    main = main_figure(figures)
    answer = _targets_section(results, main)
    if not answer:
        main = None
    report.blocks += answer
    report.blocks += _probability_section(results)
    report.blocks += _comparison_section(results)
    report.blocks += _sensitivity_section(results)
    report.blocks += attribution_section(results)
    report.blocks += _spend_section(results)
    others = [f for f in figures if f is not main]
    if others:
        report.blocks.append(("h2", "More figures"))
        report.blocks += [("figure", f) for f in others]
    report.blocks += _validation_section(results)
    from model.reporting.calibration_section import calibration_section
    from model.reporting.model_selection_section import model_selection_section

    report.blocks += calibration_section(results)
    report.blocks += model_selection_section(results)
    report.blocks += _scenario_section(results)
    report.blocks += _uncertainty_appendix(results)
    report.blocks += _run_facts_section(results)
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
