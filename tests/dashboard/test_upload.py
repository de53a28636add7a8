"""Scenarios given as text (files uploaded to the dashboard): ``extends`` names shipped scenarios.

An upload may extend ``baseline.toml``, ``baseline`` or another shipped scenario, resolved in
the shipped folder; any other ``extends`` (absolute, ``..``, a folder part, a symbolic link out of
the folder, a name not shipped) is refused before any file is opened. ``dashboard --host`` warns
when the page is reachable from other machines.
"""

from __future__ import annotations

import builtins
import io
import os
import pathlib
import shutil
import tomllib

import pytest

import model.engine.scenario
from model.dashboard import lever_values, scenario_from_upload
from model.engine.scenario import ScenarioError, load_scenario, load_scenario_text
from tests.conftest import SCENARIOS

MARKER = "SECRET_MARKER_123"

#: A variant as the README teaches it: the parent, then the changes (no name: the file's).
VARIANT = """\
extends = "{parent}"
description = "more training places, slower job finding"

[employment]
training_places = {{ 2016 = 6000.0, 2017 = 9000.0, 2018 = 7000.0 }}

[dynamics]
job_finding_rate = 0.005
"""


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of scenarios/ as the shipped folder, beside a secret file that would parse."""
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    monkeypatch.setattr(model.engine.scenario, "SCENARIO_DIR", folder)
    secret = tmp_path / "secret.toml"
    secret.write_text(f'name = "{MARKER}"\ndescription = "{MARKER}"\n', encoding="utf-8")
    (folder / "sub").mkdir()
    shutil.copy(secret, folder / "sub" / "secret.toml")
    (folder / "escape.toml").symlink_to(secret)
    (folder / "looped.toml").symlink_to(folder / "looped.toml")
    return folder


@pytest.fixture
def opened(monkeypatch):
    """Every path opened through open(), io.open, Path.open or os.open while the fixture lives."""
    paths: list[str] = []

    def recording(original):
        def wrapper(file, *args, **kwargs):
            if isinstance(file, str | bytes | os.PathLike):
                paths.append(os.path.realpath(os.fsdecode(file)))
            return original(file, *args, **kwargs)

        return wrapper

    real_path_open = pathlib.Path.open

    def path_open(self, *args, **kwargs):
        paths.append(os.path.realpath(self))
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording(builtins.open))
    monkeypatch.setattr(io, "open", recording(io.open))
    monkeypatch.setattr(os, "open", recording(os.open))
    monkeypatch.setattr(pathlib.Path, "open", path_open)
    return paths


# ---------------------------------------------------------------------------------------------
# shipped parents


@pytest.mark.parametrize("parent", ["baseline.toml", "baseline"])
def test_upload_extending_the_baseline_equals_the_file_in_scenarios(parent, tmp_path):
    """The same variant placed in (a copy of) scenarios/ and loaded as a file."""
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    (folder / "more_training.toml").write_text(
        VARIANT.format(parent="baseline.toml"), encoding="utf-8"
    )
    expected = load_scenario(folder / "more_training.toml")

    text = VARIANT.format(parent=parent)
    uploaded = scenario_from_upload(text, "more_training.toml")
    assert uploaded.model_dump() == expected.model_dump()
    assert load_scenario_text(text, name="more_training.toml").model_dump() == expected.model_dump()
    assert model.load_scenario_text(text.encode(), "more_training.toml") == uploaded

    # and independently: the file's values over the baseline's, the baseline's elsewhere
    baseline = load_scenario(SCENARIOS / "baseline.toml")
    assert uploaded.name == "more_training"
    assert uploaded.employment.training_places == {2016: 6000.0, 2017: 9000.0, 2018: 7000.0}
    assert uploaded.dynamics.job_finding_rate == 0.005
    assert uploaded.funding.model_dump() == baseline.funding.model_dump()
    assert uploaded.social_security.model_dump() == baseline.social_security.model_dump()


def test_the_page_levers_start_from_the_merged_values():
    text = VARIANT.format(parent="baseline")
    levers = lever_values(scenario_from_upload(text, "more_training.toml"))
    plan = tomllib.loads((SCENARIOS / "baseline.toml").read_text(encoding="utf-8"))
    assert levers["employment.training_places"] == {2016: 6000.0, 2017: 9000.0, 2018: 7000.0}
    assert levers["funding.source_shares"] == plan["funding"]["source_shares"]
    dibao = plan["social_security"]["dibao_standard"]
    assert levers["social_security.dibao_standard"] == {
        y: dibao[str(y)] for y in (2016, 2017, 2018)
    }


def test_a_shipped_parent_resolves_its_own_chain_in_the_shipped_folder(shipped, opened):
    (shipped / "mid.toml").write_text(
        'extends = "employment_first.toml"\n[dynamics]\njob_finding_rate = 0.004\n',
        encoding="utf-8",
    )
    scenario = load_scenario_text('extends = "mid"\nname = "top"\n', "top.toml")
    first = tomllib.loads((shipped / "employment_first.toml").read_text(encoding="utf-8"))
    assert scenario.name == "top"
    assert scenario.dynamics.job_finding_rate == 0.004
    assert scenario.funding.allocation == first["funding"]["allocation"]
    assert scenario.description == first["description"]
    read = {os.path.basename(p) for p in opened}
    assert {"mid.toml", "employment_first.toml", "baseline.toml"} <= read
    assert all(p.startswith(os.path.realpath(shipped)) for p in opened)


def test_a_complete_upload_extends_nothing():
    text = (SCENARIOS / "baseline.toml").read_text(encoding="utf-8")
    assert "extends" not in tomllib.loads(text)
    uploaded = scenario_from_upload(text, "plan.toml")
    assert uploaded == load_scenario(SCENARIOS / "baseline.toml")


# ---------------------------------------------------------------------------------------------
# refused parents


def _refusal(shipped, parent: str) -> str:
    with pytest.raises(ScenarioError) as err:
        scenario_from_upload(f"extends = {parent!r}\n", "probe.toml")
    return str(err.value)


@pytest.mark.parametrize(
    "parent, named",
    [
        ("{root}/secret.toml", "{root}/secret.toml"),  # absolute
        ("../secret.toml", "{root}/secret.toml"),  # out of the folder
        ("./../secret.toml", "{root}/secret.toml"),
        ("baseline.toml/../../secret.toml", "{root}/secret.toml"),
        ("sub/secret.toml", "{root}/scenarios/sub/secret.toml"),  # a folder part
        ("./baseline.toml", "{root}/scenarios/baseline.toml"),
        ("escape.toml", "{root}/secret.toml"),  # a symbolic link leaving the folder
        ("escape", "{root}/secret.toml"),
        ("looped", "{root}/scenarios/looped.toml"),  # a link to itself
        ("secret.toml", "{root}/scenarios/secret.toml"),  # not shipped
        ("secret", "{root}/scenarios/secret.toml"),
        ("sub", "{root}/scenarios/sub"),  # a folder
        ("", "{root}/scenarios"),
        ("..", "{root}"),
    ],
)
def test_an_upload_extending_anything_but_a_shipped_scenario_is_refused_unopened(
    shipped, opened, parent, named
):
    root = shipped.parent
    parent, named = parent.format(root=root), named.format(root=root)
    message = _refusal(shipped, parent)
    assert message.startswith("probe.toml: extends: expected the name of a shipped scenario (")
    assert message.endswith(f"found {parent!r}")
    assert "baseline, calibrated, employment_first" in message
    assert "escape" not in message.split("found")[0]  # a link out of the folder is not offered
    assert "\n" not in message
    assert MARKER not in message
    assert os.path.realpath(named) not in opened
    assert opened == []  # refused before any file is opened


def test_extends_of_another_type_is_refused(shipped, opened):
    for value in ("3", "true", '["baseline.toml"]', '{ file = "baseline.toml" }'):
        with pytest.raises(ScenarioError) as err:
            load_scenario_text(f"extends = {value}\n", "odd.toml")
        assert str(err.value).startswith("odd.toml: extends: expected the name of a shipped")
    assert opened == []


def test_the_secret_would_parse_and_a_command_line_file_may_still_extend_it(shipped):
    """The refused files are real scenarios: files named on the command line keep their rules."""
    root = shipped.parent
    assert load_scenario(root / "secret.toml").name == MARKER
    (root / "mine").mkdir()
    (root / "mine" / "child.toml").write_text('extends = "../secret.toml"\n', encoding="utf-8")
    assert load_scenario(root / "mine" / "child.toml").description == MARKER
    (root / "mine" / "abs.toml").write_text(
        f"extends = {str(root / 'scenarios' / 'escape.toml')!r}\n", encoding="utf-8"
    )
    assert load_scenario(root / "mine" / "abs.toml").description == MARKER


def test_text_bigger_than_a_file_may_be_is_refused():
    text = 'extends = "baseline"\n' + "# padding\n" * 100_001
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, "big.toml")
    assert str(err.value) == (
        "big.toml: expected a scenario file of at most 1,000,000 bytes, found a larger file"
    )


def test_an_upload_not_in_utf8_gets_the_loader_message():
    with pytest.raises(ScenarioError) as err:
        scenario_from_upload(b'description = "caf\xe9"\n', "latin.toml")
    assert str(err.value) == (
        "latin.toml: expected UTF-8 text, found the byte 0xe9 at line 1, column 19 (offset 18)"
    )


# ---------------------------------------------------------------------------------------------
# the page


@pytest.fixture
def page(monkeypatch):
    pytest.importorskip("solara")
    from model.dashboard import app

    def no_forecast(*args, **kwargs):
        raise RuntimeError("no forecast in these tests")

    # the page starts the plan's forecast on load: not here (no build, no user cache written)
    monkeypatch.setattr(app, "cached_forecast", no_forecast)
    contexts = []

    def reset():
        app.scenario_name.value = app.PLAN_SCENARIO
        app.uploaded.value = None
        app.uploaded_extends.value = None
        app.upload_error.value = ""

    reset()

    def render():
        """The page's blocks of HTML, and its text fields by class."""
        import ipyvuetify as v
        import solara.widgets

        _, rc = solara.render(app.Page(), handle_error=False)
        contexts.append(rc)
        shown = [w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets]
        fields = {w.class_: w.v_model for w in rc.find(v.TextField).widgets}
        return shown, fields

    yield app, render
    for rc in contexts:
        rc.close()
    reset()


@pytest.mark.parametrize(
    "text, parent",
    [
        ('extends = "baseline"\n', "baseline.toml"),
        (b'extends = "baseline.toml"\n', "baseline.toml"),
        ('extends = "employment_first"\nname = "x"\n', "employment_first.toml"),
        ('name = "complete"\n', None),
    ],
)
def test_the_shipped_parent_an_upload_extends(text, parent):
    from model.dashboard import upload_extends

    scenario_from_upload(text, "x.toml")  # it loads
    assert upload_extends(text) == parent


def test_the_page_names_the_shipped_parent_and_starts_from_the_merged_levers(page):
    app, render = page
    app.on_file({"name": "more_training.toml", "data": VARIANT.format(parent="baseline").encode()})
    assert app.upload_error.value == ""
    assert app.scenario_name.value == "(uploaded)"
    shown, fields = render()
    assert any("extends baseline.toml (shipped)" in text for text in shown)
    assert fields["lever-employment-training_places-2017"] == "9000.0"
    assert fields["lever-employment-training_places-2018"] == "7000.0"
    assert fields["lever-social_security-dibao_standard-2018"] == "4920.0"  # the baseline's


def test_the_page_refuses_an_upload_extending_a_server_file(page, shipped, opened):
    app, render = page
    secret = shipped.parent / "secret.toml"
    app.on_file({"name": "probe.toml", "data": f"extends = {str(secret)!r}\n".encode()})
    assert app.upload_error.value.startswith("probe.toml: extends: expected the name of a")
    assert MARKER not in app.upload_error.value
    assert app.uploaded.value is None and app.scenario_name.value == "baseline"
    assert os.path.realpath(secret) not in opened
    assert not [p for p in opened if p.startswith(os.path.realpath(shipped.parent))]


def test_the_page_opens_only_a_shipped_scenario_by_name(page, shipped, opened):
    """The name picked comes from the browser: a crafted one opens nothing."""
    app, _ = page
    app.scenario_name.value = "../secret"
    base, message = app._base()
    assert base is None
    assert message.startswith("expected a shipped scenario (baseline, ")
    assert message.endswith("found '../secret'")
    assert opened == []
    app.scenario_name.value = "employment_first"
    assert app._base()[0] == load_scenario(shipped / "employment_first.toml")


# ---------------------------------------------------------------------------------------------
# dashboard --host


@pytest.fixture
def served(monkeypatch):
    """``shaoguan-abm dashboard`` with uvicorn's server replaced: the calls it would serve."""
    uvicorn = pytest.importorskip("uvicorn")
    from model.commands.dashboard import OFFLINE_SETTINGS

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    for key in ("SOLARA_APP", *OFFLINE_SETTINGS):  # restored after the test
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org", ""])
def test_a_host_beyond_loopback_gets_a_warning(served, capsys, host):
    from model.commands.cli import main

    assert main(["dashboard", "--host", host, "--port", "8799"]) == 0
    out, err = capsys.readouterr()
    assert served == [{"host": host, "port": 8799, "log_level": "warning"}]
    assert err.startswith(f"warning: --host {host}: the page has no authentication")
    assert err.count("\n") == 1
    assert f"http://{host}:8799/" in out


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"]
)
def test_loopback_serves_without_a_warning(served, capsys, host):
    from model.commands.cli import main

    assert main(["dashboard", "--host", host, "--port", "8799"]) == 0
    assert capsys.readouterr().err == ""
    assert served[0]["host"] == host


# ---------------------------------------------------------------------------------------------
# posteriors named by an upload


@pytest.mark.parametrize(
    "posterior",
    ["/etc/passwd", "data/observed/observed_calibration.csv", "results/posterior.parquet",
     "calibration/README.md", "/work/calibration/posterior.parquet"],
)  # fmt: skip
def test_an_upload_naming_a_posterior_outside_calibration_is_refused(posterior):
    text = (
        f'extends = "baseline"\n[forecast]\nparameters = "posterior"\nposterior = "{posterior}"\n'
    )
    with pytest.raises(ScenarioError, match="calibration/NAME.parquet") as err:
        scenario_from_upload(text, "probe.toml")
    assert str(err.value).startswith("probe.toml: forecast.posterior")


def test_an_upload_may_forecast_from_the_shipped_posterior():
    text = (SCENARIOS / "calibrated.toml").read_text(encoding="utf-8")
    uploaded = scenario_from_upload(text, "mine.toml")
    assert uploaded.forecast.posterior == "calibration/posterior.parquet"
    assert uploaded.forecast.parameters == "posterior"
