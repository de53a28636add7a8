"""The page shows the feedback block for a scenario with the feedback mechanisms, only then."""

from __future__ import annotations

import time

import pytest

from model.dashboard.feedback import feedback_rows


@pytest.fixture
def page(monkeypatch):
    pytest.importorskip("solara")
    from model.dashboard import app

    def no_forecast(*args, **kwargs):
        raise RuntimeError("no forecast in these tests")

    # the page starts the plan's forecast on load: not here (no build, no user cache written)
    monkeypatch.setattr(app, "cached_forecast", no_forecast)
    saved = (app.replicates.value, app.population_scale.value)

    def reset():
        app.scenario_name.value = app.PLAN_SCENARIO
        app.latest.value = None
        app.pinned.value = None

    reset()
    contexts = []
    yield app, contexts
    for rc in contexts:
        rc.close()
    reset()
    app.replicates.value, app.population_scale.value = saved


def _pick_and_run(app, contexts, name: str):
    """Pick a shipped scenario, press Run, and wait for the run: the page's HTML blocks."""
    import ipyvuetify as v
    import solara
    import solara.widgets

    app.scenario_name.value = name
    app.replicates.value = 2
    app.population_scale.value = 0.01
    app.latest.value = None
    _, rc = solara.render(app.Page(), handle_error=False)
    contexts.append(rc)
    buttons = [b for b in rc.find(v.Btn).widgets if "run-button" in (b.class_ or "")]
    assert len(buttons) == 1
    buttons[0].click()
    deadline = time.monotonic() + 600
    while app.latest.value is None or app.run_task.pending:
        assert not app.run_task.error, app.run_task.exception
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    time.sleep(0.5)  # the page renders the finished run
    assert app.latest.value.scenario.name == name
    return [w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets]


def test_picking_feedback_and_running_shows_reported_verified_and_register(page):
    app, contexts = page
    shown = _pick_and_run(app, contexts, "feedback")
    block = [text for text in shown if "feedback-table" in text]
    assert len(block) == 1
    for heading in (
        "reported this year",
        "counted out (on paper)",
        "verified in income",
        "P(met) on paper",
        "P(met) in income",
        "on the register",
    ):
        assert f"<th>{heading}</th>" in block[0]
    assert "probabilities over 2 replicates: seeds only" in block[0]
    rows = feedback_rows(app.latest.value)
    assert [r["year"] for r in rows][:3] == ["2016", "2017", "2018"]
    # the register's size and the verified exits of the run's own replicates, as the page shows
    e = app.latest.value.ensemble.replicates
    register_2018 = e.loc[e["year"] == 2018, "registered_people"].median()
    verified_2018 = e.loc[e["year"] == 2018, "income_verified_exited_people"].median()
    assert rows[2]["on the register"] == f"{register_2018:,.0f}"
    assert rows[2]["verified in income"] == f"{verified_2018:,.0f}"
    assert f"<td>{rows[2]['on the register']}</td>" in block[0]


def test_the_baseline_shows_no_feedback_block(page):
    app, contexts = page
    shown = _pick_and_run(app, contexts, "baseline")
    assert not [text for text in shown if "feedback-table" in text]
    assert any("probability-table" in text for text in shown)
    assert feedback_rows(app.latest.value) == []
