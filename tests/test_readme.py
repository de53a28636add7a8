"""The README's commands and Python examples run, at a reduced population scale.

Every ``shaoguan-abm`` line of a ```sh block and every ```python block is run, with the
population scale set to 0.05. Where the README shows the output (the ```text block that follows),
scale-free output (``check``, ``params``) must match it exactly; a run's table must have the
same heading; a Python block must print as many lines as shown.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil

import pytest

from model.commands.cli import main
from tests.conftest import ROOT, SCENARIOS

SCALE = "0.05"
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```$", README, flags=re.M | re.S)


def _examples(language: str) -> list[tuple[str, str | None]]:
    """(block text, the ```text block right after it or None) for blocks of ``language``."""
    out = []
    for k, (lang, body) in enumerate(BLOCKS):
        if lang == language:
            following = BLOCKS[k + 1] if k + 1 < len(BLOCKS) else ("", "")
            out.append((body, following[1] if following[0] == "text" else None))
    return out


COMMANDS = [
    (line.strip(), shown)
    for body, shown in _examples("sh")
    for line in body.splitlines()
    if line.strip().startswith("shaoguan-abm ")
]
PYTHON = _examples("python")


#: Reduced sizes for the test: the same commands, smaller populations and fewer runs.
REDUCED = {"--population-scale": "0.02", "--replicates": "2", "--maxiter": "3"}


def _reduced(argv: list[str]) -> list[str]:
    out = list(argv)
    for option, value in REDUCED.items():
        if option in out:
            out[out.index(option) + 1] = value
    if out[0] == "run" and "--population-scale" not in out:
        out += ["--population-scale", REDUCED["--population-scale"]]
    return out


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_examples_for_every_kind_of_user():
    for heading in ("## For planners", "## For researchers", "## For budget officers"):
        section = README.split(heading)[1].split("\n## ")[0]
        assert "```sh" in section or "```python" in section, heading
    assert {"run", "check", "params", "compare", "sweep", "budget"} <= {
        c.split()[1] for c, _ in COMMANDS
    }
    assert len(PYTHON) >= 2


@pytest.mark.slow
def test_readme_commands_in_order(workdir, capsys):
    """Every command, in the README's order (a report reads the run before it)."""
    for command, shown in COMMANDS:
        argv = _reduced(shlex.split(command)[1:])
        assert main(argv) == 0, command
        out = capsys.readouterr().out
        if shown is None:
            continue
        if argv[0] == "run" and "--replicates" not in argv:
            first, heading = out.splitlines()[:2]
            shown_first, shown_heading = shown.splitlines()[:2]
            assert (
                first.split(", population scale")[0] == shown_first.split(", population scale")[0]
            )
            assert heading == shown_heading
        elif argv[0] in ("check", "params"):
            assert out == shown, command


@pytest.mark.parametrize("code, shown", PYTHON, ids=[f"python-{k}" for k in range(len(PYTHON))])
def test_readme_python(code, shown, workdir):
    reduced = code.replace("population_scale=0.1", f"population_scale={SCALE}").replace(
        "replicates=20", "replicates=2"
    )
    assert reduced != code or "population_scale" not in code
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(reduced, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    if shown is not None:
        assert len(buffer.getvalue().splitlines()) == len(shown.splitlines())
