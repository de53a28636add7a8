"""The documentation matches the code: ODD references, generated tables, public docstrings."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import model
from model.commands.params import fill_tables, parameter_table
from model.engine.interventions import MEASURES
from tests.conftest import ROOT

DOCS = ROOT / "docs"
ODD = (DOCS / "ODD.md").read_text(encoding="utf-8")
REFERENCE = re.compile(r"`(model/[\w/]+\.py)::([\w.]+)`")

ODD_SECTIONS = [
    "1. Purpose and patterns",
    "2. Entities, state variables and scales",
    "3. Process overview and scheduling",
    "4. Design concepts",
    "5. Initialization",
    "6. Input data",
    "7. Submodels",
]
DESIGN_CONCEPTS = [
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
]


def _resolve(module_path: str, name: str):
    module_name = module_path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    obj = importlib.import_module(module_name)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_odd_has_every_section_and_design_concept():
    headings = re.findall(r"^## (.+)$", ODD, flags=re.M)
    assert headings[-len(ODD_SECTIONS) :] == ODD_SECTIONS
    concepts = ODD.split("## 4. Design concepts")[1].split("## 5.")[0]
    for concept in DESIGN_CONCEPTS:
        assert f"**{concept}.**" in concepts


def test_every_module_and_function_the_odd_names_exists():
    references = sorted(set(REFERENCE.findall(ODD)))
    assert len(references) > 50
    missing = []
    for module_path, name in references:
        assert (ROOT / module_path).is_file(), module_path
        try:
            _resolve(module_path, name)
        except AttributeError:
            missing.append(f"{module_path}::{name}")
    assert not missing


def test_every_submodel_names_its_implementation():
    submodels = re.split(
        r"^#{3,4} (7\.\d+(?:\.\d+)? .+)$", ODD.split("## 7. Submodels")[1], flags=re.M
    )
    titles, bodies = submodels[1::2], submodels[2::2]
    assert len(titles) >= 20
    for title, body in zip(titles, bodies, strict=True):
        if title.startswith(("7.3 ", "7.6 ")):  # headings that only group their subsections
            continue
        assert REFERENCE.search(body), f"submodel {title!r} names no module::function"
    # every measure has a subsection that names its module
    for measure in MEASURES:
        module_path = measure.__module__.replace(".", "/") + ".py"
        assert any(
            f"`{module_path}::" in body for title, body in zip(titles, bodies, strict=True)
        ), measure.name


def test_odd_parameter_tables_are_current_and_complete():
    rows, _ = parameter_table()
    assert fill_tables(ODD, rows) == ODD, "docs/ODD.md parameter tables are stale: run `make docs`"
    in_tables = {r.path for r in rows if f"| `{r.path}` |" in ODD}
    top_level = {"name", "description", "ranges"}
    missing = sorted({r.path for r in rows} - in_tables - top_level)
    assert not missing, f"add these parameters to a submodel table of docs/ODD.md: {missing}"


def test_odd_measures_table_is_generated_from_the_registry():
    from model.engine.interventions import fill_measures_table

    assert "<!-- measures -->" in ODD
    assert fill_measures_table(ODD) == ODD, "docs/ODD.md measures table is stale: run `make docs`"
    block = ODD.split("<!-- measures -->")[1].split("<!-- /measures -->")[0]
    rows = [line.split(" | ") for line in block.strip().splitlines()[2:]]
    assert [r[0].lstrip("| ") for r in rows] == [m.name for m in MEASURES]
    # a special-fund use is exactly a measure drawing on the special fund
    from model.engine.funding import SPECIAL_USES

    assert [r[0].lstrip("| ") for r in rows if "special fund" in r[1]] == list(SPECIAL_USES)


def test_outputs_reference_is_current(capsys):
    from model.commands.cli import main

    assert main(["outputs", "--markdown"]) == 0
    fresh = capsys.readouterr().out
    assert fresh == (DOCS / "outputs.md").read_text(encoding="utf-8"), (
        "docs/outputs.md is stale: run `make docs`"
    )
    for name in ("spend_<measure>", "cost_per_sustained_exit", "target_met_<year>"):
        assert f"| `{name}` |" in fresh


def test_odd_quotes_the_plan_lines_the_code_computes():
    from model.engine.scenario import Scenario

    a = Scenario().assessment
    quoted = [round(a.exit_line(y)) for y in (2016, 2017, 2018)]
    assert quoted == [6433, 6883, 7365]
    assert "6,433 / 6,883 / 7,365 yuan" in ODD
    assert f"{round(a.village_exit_line(2018)):,}" in ODD


@pytest.mark.parametrize("name", model.__all__)
def test_public_api_is_documented(name):
    obj = getattr(model, name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 80, f"model.{name} needs a docstring"
    if inspect.isfunction(obj):
        assert "Args:" in doc and "Returns:" in doc


def test_docs_link_to_each_other():
    limitations = (DOCS / "limitations.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("docs/ODD.md", "docs/parameters.md", "docs/outputs.md", "docs/limitations.md"):
        assert f"({target})" in readme
    assert "(parameters.md)" in ODD and "(limitations.md)" in ODD
    assert "(ODD.md)" in limitations


@pytest.mark.parametrize(
    "target",
    [
        "model.engine.scenario.validate_scenario",
        "model.engine.scenario.load_scenario_text",
        "model.engine.scenario.Scenario",
        "model.engine.scenario.parse_override",
        "model.engine.population.apportion",
        "model.engine.population.build_population",
        "model.commands.params.parameter_table",
    ],
)
def test_docstring_examples_with_output_hold(target):
    import doctest

    module_name, name = target.rsplit(".", 1)
    obj = getattr(importlib.import_module(module_name), name)
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    globs = vars(importlib.import_module(module_name)).copy()
    tests = finder.find(obj, name, globs=globs)
    assert tests and tests[0].examples
    for test in tests:
        runner.run(test)
    assert runner.failures == 0


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


@pytest.mark.parametrize("name", ["ODD.md", "limitations.md"])
def test_internal_links_resolve(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert not links - anchors
    for target in re.findall(r"\]\(([\w.]+\.(?:md|csv))\)", text):
        assert (DOCS / target).is_file(), target
