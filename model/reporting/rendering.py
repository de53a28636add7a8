"""Rendering a report: blocks to Markdown and self-contained HTML, tables and numbers as text.

A :class:`Report` is a title and a list of ``(kind, content)`` blocks that
:mod:`model.reporting.sections` builds from a results folder. The HTML embeds its figures as
base64 PNG; the Markdown refers to PNG files in ``report_files/``.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

FIGURE_DIR = "report_files"
DPI = 110


@dataclass
class FigureItem:
    """A figure of the report: a file stem, the question it answers and its PNG bytes."""

    name: str
    question: str
    png: bytes


@dataclass
class Report:
    """A report as a list of blocks, rendered to Markdown or HTML.

    Blocks are ``(kind, content)`` pairs: ``("h2", text)``, ``("h3", text)``, ``("p", text)``,
    ``("table", DataFrame of strings)``, ``("figure", FigureItem)`` and
    ``("details", (summary, blocks))``.
    """

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def figures(self) -> list[FigureItem]:
        """Every figure of the report, in order."""
        out = []
        for kind, content in self._walk(self.blocks):
            if kind == "figure":
                out.append(content)
        return out

    def _walk(self, blocks: list[tuple[str, Any]]):  # noqa: ANN202 - a generator of blocks
        for kind, content in blocks:
            yield kind, content
            if kind == "details":
                yield from self._walk(content[1])

    def markdown(self) -> str:
        """The report as Markdown; figures refer to ``report_files/<name>.png``."""
        lines = [f"# {self.title}", ""]
        self._markdown_blocks(self.blocks, lines)
        return "\n".join(lines).rstrip() + "\n"

    def _markdown_blocks(self, blocks: list[tuple[str, Any]], lines: list[str]) -> None:
        for kind, content in blocks:
            if kind == "h2":
                lines += [f"## {content}", ""]
            elif kind == "h3":
                lines += [f"### {content}", ""]
            elif kind == "p":
                lines += [content, ""]
            elif kind == "table":
                lines += [_markdown_table(content), ""]
            elif kind == "figure":
                lines += [
                    f"![{content.question}]({FIGURE_DIR}/{content.name}.png)",
                    "",
                    f"*{content.question}*",
                    "",
                ]
            elif kind == "details":
                summary, inner = content
                lines += [f"### {summary}", ""]
                self._markdown_blocks(inner, lines)

    def html(self) -> str:
        """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
        body: list[str] = [f"<h1>{html.escape(self.title)}</h1>"]
        self._html_blocks(self.blocks, body)
        return (
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )

    def _html_blocks(self, blocks: list[tuple[str, Any]], body: list[str]) -> None:
        for kind, content in blocks:
            if kind in ("h2", "h3"):
                body.append(f"<{kind}>{html.escape(content)}</{kind}>")
            elif kind == "p":
                body.append(f"<p>{_inline_html(content)}</p>")
            elif kind == "table":
                body.append(_html_table(content))
            elif kind == "figure":
                data = base64.b64encode(content.png).decode("ascii")
                body.append(
                    f"<figure id='{content.name}'><img alt='{html.escape(content.question)}' "
                    f"src='data:image/png;base64,{data}'>"
                    f"<figcaption>{html.escape(content.question)}</figcaption></figure>"
                )
            elif kind == "details":
                summary, inner = content
                body.append(f"<details><summary>{html.escape(summary)}</summary>")
                self._html_blocks(inner, body)
                body.append("</details>")


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; white-space: nowrap; }
td.missed { color: #b00; font-weight: 600; } td.met { color: #070; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; max-height: 26rem; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; }
code { background: #f4f4f4; padding: 0 0.2rem; }
details { margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; }
"""


_NUMBER = re.compile(r"[-+]?[\d,]+(\.\d+)?%?( to [-+]?[\d,]+(\.\d+)?%?)?|-")


def _inline_html(text: str) -> str:
    """Escape text, keeping ``code`` spans written with backquotes."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _markdown_table(table: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = []
        for v in row:
            text = str(v)
            if text == "NO":
                cls = " class='missed'"
            elif text == "yes":
                cls = " class='met'"
            elif _NUMBER.fullmatch(text):
                cls = " class='num'"
            else:
                cls = ""
            cells.append(f"<td{cls}>{_inline_html(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ---------------------------------------------------------------------------------------------
# formatting


def fmt_number(value: Any, digits: int = 0) -> str:
    """A number with thousands separators; ``-`` for missing values."""
    if value is None or (isinstance(value, float) and value != value):  # noqa: PLR0124
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{float(value):,.{digits}f}"


def fmt_share(value: Any) -> str:
    """A share (0-1) as a percentage."""
    if value is None or value != value:  # noqa: PLR0124
        return "-"
    return f"{100 * float(value):.1f}%"


def fmt_value(value: Any) -> str:
    """A parameter value for a table: numbers, year tables, shares, lists."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1_000:
            return f"{value:,.0f}"
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value)
    return str(value)


def png_bytes(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes at the report's resolution."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def formatted_table(table: pd.DataFrame) -> pd.DataFrame:
    """A table as strings: whole numbers with separators, shares as percentages."""
    shown = table.copy()
    for c in shown.columns:
        if shown[c].dtype == bool:
            shown[c] = shown[c].map(fmt_number)
        elif shown[c].dtype.kind in "if":
            is_share = c.startswith(("prob", "p_")) or c.endswith(("_share", "probability"))
            shown[c] = shown[c].map(fmt_share if is_share else fmt_number)
    return shown.astype(str)
