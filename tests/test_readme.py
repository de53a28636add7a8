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

from model.cli import main
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


def _reduced(argv: list[str]) -> list[str]:
    if argv[0] != "run":
        return argv
    if "--population-scale" in argv:
        i = argv.index("--population-scale")
        return [*argv[: i + 1], SCALE, *argv[i + 2 :]]
    return [*argv, "--population-scale", SCALE]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_examples_for_every_kind_of_user():
    for heading in ("## For planners", "## For researchers", "## For budget officers"):
        section = README.split(heading)[1].split("\n## ")[0]
        assert "```sh" in section or "```python" in section, heading
    assert {c.split()[1] for c, _ in COMMANDS} == {"run", "check", "params"}
    assert len(PYTHON) >= 2


@pytest.mark.parametrize("command, shown", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command(command, shown, workdir, capsys):
    argv = _reduced(shlex.split(command)[1:])
    assert main(argv) == 0, command
    out = capsys.readouterr().out
    if shown is None:
        return
    if argv[0] == "run":
        first, heading = out.splitlines()[:2]
        shown_first, shown_heading = shown.splitlines()[:2]
        assert first.split(", population scale")[0] == shown_first.split(", population scale")[0]
        assert heading == shown_heading
        assert list(workdir.glob("results/*/*/manifest.json"))
    else:
        assert out == shown


@pytest.mark.parametrize("code, shown", PYTHON, ids=[f"python-{k}" for k in range(len(PYTHON))])
def test_readme_python(code, shown, workdir):
    reduced = code.replace("population_scale=0.1", f"population_scale={SCALE}")
    assert reduced != code or "population_scale" not in code
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(reduced, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    if shown is not None:
        assert len(buffer.getvalue().splitlines()) == len(shown.splitlines())
