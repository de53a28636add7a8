"""The dashboard: its lever checks, downloads, and the page in a real headless browser."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from model.dashboard import (
    changed_levers,
    check_levers,
    lever_values,
    list_scenarios,
    resolved_source,
    run_small_ensemble,
    scenario_from_upload,
    scenario_toml,
)
from model.engine.scenario import ScenarioError, load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.toml")


def test_shipped_scenarios_listed_baseline_first():
    names = list_scenarios()
    assert names[0] == "baseline"
    assert "late_dongguan_tranche" in names


def test_plan_values_give_the_same_scenario(baseline):
    values = lever_values(baseline)
    assert values["funding.source_shares"] == {
        "province": 0.6,
        "paired_city": 0.3,
        "home_city": 0.1,
    }
    scenario, errors = check_levers(baseline, values)
    assert errors == {}
    assert scenario.model_dump() == baseline.model_dump()


def test_changed_lever_reaches_the_scenario(baseline):
    values = lever_values(baseline)
    values["employment.training_places"][2017] = "9000"
    values["funding.delay_months.paired_city"] = "6"
    scenario, errors = check_levers(baseline, values)
    assert errors == {}
    assert scenario.employment.training_places[2017] == 9000
    assert scenario.funding.delay_months["paired_city"] == 6
    assert set(scenario.employment.training_places) == set(baseline.employment.training_places)
    assert changed_levers(scenario, baseline) == [
        "Dongguan (paired city) tranche delay: 6",
        "Training places: 2016 6000, 2017 9000, 2018 6000",
    ]
    assert changed_levers(baseline, baseline) == []


def test_share_above_one_gets_the_command_line_message(baseline):
    values = lever_values(baseline)
    values["funding.source_shares"]["province"] = 1.6
    scenario, errors = check_levers(baseline, values)
    assert scenario is None
    assert list(errors) == ["funding.source_shares"]
    with pytest.raises(ScenarioError) as cli:
        from model.engine.scenario import apply_overrides

        apply_overrides(baseline, {"funding.source_shares": values["funding.source_shares"]})
    assert errors["funding.source_shares"] == str(cli.value)
    assert "source_shares" in errors["funding.source_shares"]


def test_allocation_not_summing_to_one_is_refused(baseline):
    values = lever_values(baseline)
    values["funding.allocation"]["industry"] = 0.7
    scenario, errors = check_levers(baseline, values)
    assert scenario is None
    message = errors["funding.allocation"]
    assert message.startswith("--allocation industry=0.7,")
    assert "1" in message


def test_text_that_is_not_a_number_is_refused(baseline):
    values = lever_values(baseline)
    values["housing.renovations"][2016] = "many"
    _, errors = check_levers(baseline, values)
    assert "expected a number, found 'many'" in errors["housing.renovations"]


def test_invalid_upload_raises_the_loader_message():
    with pytest.raises(ScenarioError):
        scenario_from_upload("this is = = not toml", "bad.toml")
    with pytest.raises(ScenarioError) as err:
        scenario_from_upload(
            'name = "x"\n[funding]\nsource_shares = { province = 2.0 }\n', "x.toml"
        )
    assert "source_shares" in str(err.value)


def test_scenario_toml_round_trips(baseline):
    values = lever_values(baseline)
    values["social_security.dibao_standard"][2018] = 5200
    scenario, _ = check_levers(baseline, values)
    text = scenario_toml(scenario)
    again = validate_scenario(tomllib.loads(text))
    assert again.model_dump() == scenario.model_dump()
    assert scenario_from_upload(text, "again.toml").social_security.dibao_standard[2018] == 5200


def test_small_ensemble_progress_and_zip(baseline):
    seen = []
    run = run_small_ensemble(
        baseline, replicates=2, population_scale=0.01, on_progress=lambda d, n: seen.append(d)
    )
    assert seen == [0, 1, 2]
    probs = run.ensemble.probabilities
    years = list(probs["year"].astype(str))
    assert years[:3] == ["2016", "2017", "2018"] and years[-1] == "all"
    assert len(run.probability_rows()) == len(probs)
    assert set(run.ledger["kind"]) >= {"spent"}
    assert run.costs()["total_spend"] > 0
    with zipfile.ZipFile(io.BytesIO(run.results_zip())) as zf:
        names = set(zf.namelist())
    assert {"probabilities.csv", "manifest.json", "scenario.toml", "exits_vs_targets.png"} <= names
    # the per-replicate tables the spend figure's band is drawn from
    assert {"replicate_ledger.parquet", "replicate_by_county.parquet"} <= names
    kept = run.ensemble.replicate_ledger
    spent = kept[kept["kind"] == "spent"].groupby("replicate")["amount"].sum()
    totals = run.ensemble.outcomes.set_index("replicate")["total_spend"]
    assert spent.to_numpy() == pytest.approx(totals.loc[spent.index].to_numpy(), rel=1e-12)


def test_small_ensemble_with_prior_draws_equals_the_command_lines(baseline):
    from model.experiments.ensemble import run_ensemble

    page = run_small_ensemble(baseline, replicates=2, population_scale=0.01, parameters="prior")
    cli = run_ensemble(
        baseline, replicates=2, seed=1, workers=1, population_scale=0.01, parameters="prior"
    )
    for name in ("outcomes", "probabilities", "quantiles", "variance_split"):
        pd.testing.assert_frame_equal(getattr(page.ensemble, name), getattr(cli, name))
    assert page.ensemble.probability_source() == (
        "probabilities over 2 replicates: seeds and prior parameter draws"
    )
    fixed = run_small_ensemble(baseline, replicates=2, population_scale=0.01)
    assert fixed.ensemble.probability_source().endswith("seeds only")
    with pytest.raises(ValueError, match="expected one of scenario, fixed, prior"):
        run_small_ensemble(baseline, replicates=2, population_scale=0.01, parameters="posterior")


def test_the_scenario_choice_draws_from_the_posterior_a_calibrated_scenario_names():
    from model.experiments.ensemble import run_ensemble

    calibrated = load_scenario(ROOT / "scenarios" / "calibrated.toml")
    page = run_small_ensemble(calibrated, replicates=2, population_scale=0.005)
    cli = run_ensemble(calibrated, replicates=2, seed=1, workers=1, population_scale=0.005)
    for name in ("outcomes", "probabilities", "quantiles"):
        pd.testing.assert_frame_equal(getattr(page.ensemble, name), getattr(cli, name))
    assert page.ensemble.manifest["parameters"] == "posterior"
    assert "posterior" in page.ensemble.probability_source()
    # the same scenario with its values fixed draws nothing
    fixed = run_small_ensemble(calibrated, replicates=2, population_scale=0.005, parameters="fixed")
    assert fixed.ensemble.probability_source().endswith("seeds only")
    plan = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert resolved_source(plan, "scenario").kind == "fixed"


def test_month_by_month_collects_each_month():
    from model.dashboard.month_by_month import MEASURES, MonthByMonth

    m = MonthByMonth(population_scale=0.01, seed="3")
    for _ in range(13):
        m.step()
    table = m.datacollector.get_model_vars_dataframe()
    assert len(table) == 14  # the initial state and 13 months
    assert set(MEASURES) <= set(table.columns)
    monthly = pd.DataFrame(m.recorder.monthly)
    assert list(table["cumulative_exited_people"].iloc[1:]) == list(
        monthly["cumulative_exited_people"]
    )
    assert table["spend_million_yuan"].iloc[1:].sum() > 0


# ---------------------------------------------------------------------------------------------
# the page in a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser_path():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium as root")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium)")
    pytest.importorskip("playwright")
    return str(CHROMIUM)


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    # an empty cache: the page builds the plan's forecast on its first start
    env = {**os.environ, "SHAOGUAN_ABM_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "model", "dashboard", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited: {(tmp_path / 'server.log').read_text()}")
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"dashboard did not start: {(tmp_path / 'server.log').read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _table_text(page) -> str:
    return page.locator(".run-view").first.locator(".probability-table").inner_text()


@pytest.mark.slow
def test_page_runs_an_ensemble_in_a_browser(browser_path, server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1900})
            external = []
            page.on(
                "request",
                lambda r: (
                    external.append(r.url)
                    if not r.url.startswith(
                        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
                    )
                    else None
                ),
            )
            failed = []
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.goto(server, timeout=120_000)
            run_button = page.locator(".run-button")
            expect(run_button).to_be_enabled(timeout=120_000)
            expect(page.get_by_text("plan: province 0.60").first).to_be_visible()

            # before any click: the plan's forecast, built into the empty cache, answers
            answer = page.locator(".run-view .answer").first
            expect(answer).to_be_visible(timeout=300_000)
            expect(answer).to_contain_text("Targets met:")
            expect(answer).to_contain_text(
                "(probabilities over seeds only, parameters fixed at the scenario's values)."
            )
            expect(page.get_by_role("heading", name="The plan's forecast")).to_be_visible()
            expect(page.locator(".probability-source").first).to_contain_text(
                "probabilities over 10 replicates: seeds only"
            )
            forecast = _table_text(page)
            assert "2016" in forecast and "2018" in forecast and "all targets" in forecast
            assert list((tmp_path / "cache").glob("forecast-*/manifest.json"))

            def fill(selector: str, text: str) -> None:
                box = page.locator(f"{selector} input").first
                box.fill(text)
                box.press("Enter")

            # a slider step reaches the lever's value, and a typed value moves the slider
            places = page.locator(".lever-employment-training_places-2017 input").first
            slider = page.locator(".slider-employment-training_places-2017 [role=slider]").first
            expect(places).to_have_value("6000.0")
            expect(slider).to_have_attribute("aria-valuenow", "6000")
            slider.focus()
            slider.press("ArrowRight")  # one step of 500 places
            # the input shows the page's lever value, which the slider has set
            expect(places).to_have_value("6500.0")
            fill(".lever-employment-training_places-2017", "4000")
            expect(slider).to_have_attribute("aria-valuenow", "4000")
            fill(".lever-employment-training_places-2017", "6000")
            expect(slider).to_have_attribute("aria-valuenow", "6000")

            fill(".population-scale", "0.02")
            fill(".replicates", "3")
            # a bad share shows the command line's message and disables Run
            fill(".lever-funding-source_shares-province", "1.5")
            expect(page.locator(".lever-error").first).to_contain_text("source_shares")
            expect(run_button).to_be_disabled()
            fill(".lever-funding-source_shares-province", "0.6")
            expect(page.locator(".lever-error")).to_have_count(0)

            run_button.click()
            expect(page.get_by_role("heading", name="Latest run")).to_be_visible(timeout=300_000)
            expect(page.locator(".run-view img").first).to_be_visible()
            expect(page.locator(".probability-source").first).to_contain_text(
                "probabilities over 3 replicates: seeds only"
            )
            first = _table_text(page)
            assert "2018" in first and "all targets" in first

            # pin, starve the programmes and run again: the probabilities change
            page.locator(".pin-button").click()
            expect(page.get_by_role("heading", name="Pinned run")).to_be_visible(timeout=60_000)
            for lever in ("employment-training_places", "employment-public_posts"):
                for year in (2016, 2017, 2018):
                    fill(f".lever-{lever}-{year}", "0")
            fill(".lever-social_security-dibao_standard-2017", "2000")
            fill(".lever-social_security-dibao_standard-2018", "2000")
            fill(".lever-funding-delay_months-paired_city", "12")
            # and draw the uncertainties from their priors: the selector beside the replicates
            page.locator(".parameters").first.click()
            page.get_by_role("option", name="prior").click()
            expect(run_button).to_be_enabled()
            run_button.click()
            expect(page.locator(".running")).to_be_visible(timeout=60_000)
            expect(page.locator(".running")).to_have_count(0, timeout=300_000)
            expect(page.locator(".run-view")).to_have_count(2)
            expect(page.locator(".probability-source").first).to_contain_text(
                "probabilities over 3 replicates: seeds and prior parameter draws"
            )
            expect(page.locator(".probability-source").nth(1)).to_contain_text("seeds only")
            second = _table_text(page)
            pinned = page.locator(".run-view").nth(1).locator(".probability-table").inner_text()
            assert pinned == first
            assert second != first
            # the differences, in a column of their own
            differences = page.locator(".difference-view .difference-table")
            expect(differences).to_be_visible()
            text = differences.inner_text()
            assert "P(met), points" in text and "exits (median)" in text and "2018" in text
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            assert (tmp_path / "dashboard.png").stat().st_size > 10_000
            assert external == [], f"the page fetched from outside: {external[:5]}"

            # the second page: Mesa's SolaraViz steps one run month by month
            page.goto(server + "month-by-month", timeout=120_000)
            step = page.get_by_role("button", name="Step", exact=True)
            expect(step).to_be_visible(timeout=120_000)
            step.click()
            expect(page.get_by_text("Step: 1")).to_be_visible(timeout=60_000)
            expect(page.locator("img").first).to_be_visible()
            assert failed == [], f"the server could not serve: {failed[:5]}"
        finally:
            browser.close()
