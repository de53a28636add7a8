"""Parameter sources of ensembles: prior and posterior draws, and the variance split."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from model.engine.scenario import apply_overrides, load_scenario, sweepable_parameters
from model.experiments.budget import compare_allocations, run_replicates
from model.experiments.ensemble import (
    nested_variance_components,
    plan_replicates,
    read_ensemble,
    run_ensemble,
    variance_split,
)
from model.experiments.parameters import (
    ParameterSource,
    PosteriorError,
    parameter_source,
    prior_value,
    uniform,
    weighted_row,
)
from tests.conftest import SCENARIOS

SCALE = 0.01


def uncertainty_ranges(scenario):
    return {p: i for p, i in sweepable_parameters(scenario).items() if i["kind"] == "uncertainty"}


def write_posterior(path, columns):
    pd.DataFrame(columns).to_parquet(path, index=False)
    return path


# ---------------------------------------------------------------------------------------------
# prior draws, without running the model


def test_prior_draws_lie_in_their_ranges_and_differ_between_draws(baseline):
    ranges = uncertainty_ranges(baseline)
    plan = plan_replicates(baseline, replicates=6, seed=11, parameters="prior")
    assert plan.parameters == sorted(ranges)
    assert len(plan.draws) == 6
    for draw in plan.draws:
        assert set(draw) == set(ranges)
        for path, value in draw.items():
            info = ranges[path]
            assert info["low"] <= value <= info["high"], path
            if isinstance(info["default"], int):
                assert isinstance(value, int), path
            else:
                assert isinstance(value, float), path
    for path in ranges:
        if ranges[path]["low"] < ranges[path]["high"]:
            values = [d[path] for d in plan.draws]
            assert len(set(values)) > 1, path  # six draws of a range are not all equal


def test_levers_are_never_drawn(baseline):
    levers = {p for p, i in sweepable_parameters(baseline).items() if i["kind"] == "lever"}
    assert {"funding.special_fund_per_person", "social_security.enrolment_rate"} <= levers
    plan = plan_replicates(baseline, replicates=3, seed=1, parameters="prior")
    assert levers.isdisjoint(plan.parameters)
    assert all(levers.isdisjoint(d) for d in plan.draws)


def test_draws_depend_on_the_seed_and_draw_only(baseline):
    other = load_scenario(SCENARIOS / "employment_first.toml")
    a = plan_replicates(baseline, replicates=4, seed=5, parameters="prior")
    b = plan_replicates(other, replicates=4, seed=5, parameters="prior")
    assert a.draws == b.draws  # the same ranges in both scenarios: the same draws
    assert a.seeds == b.seeds
    assert plan_replicates(baseline, replicates=2, seed=5, parameters="prior").draws == a.draws[:2]
    assert plan_replicates(baseline, replicates=4, seed=6, parameters="prior").draws != a.draws
    # a scenario's own range maps the same uniform number into its range
    narrow = apply_overrides(baseline, {"ranges": {"dynamics.job_finding_rate": [0.01, 0.02]}})
    c = plan_replicates(narrow, replicates=4, seed=5, parameters="prior")
    for mine, wide in zip(c.draws, a.draws, strict=True):
        u = (wide["dynamics.job_finding_rate"] - 0.003) / (0.03 - 0.003)
        assert mine["dynamics.job_finding_rate"] == pytest.approx(0.01 + u * 0.01)
        assert mine["dynamics.wage_growth"] == wide["dynamics.wage_growth"]


def test_nested_design_shares_a_draw_between_its_seeds(baseline):
    plan = plan_replicates(baseline, replicates=6, seed=2, parameters="prior", seeds_per_draw=3)
    assert len(plan.draws) == 2 and len(set(plan.seeds)) == 6
    assert [plan.draw_of(r) for r in range(6)] == [0, 0, 0, 1, 1, 1]
    assert plan.overrides(1) == plan.overrides(2) == plan.draws[0] != plan.overrides(3)
    with pytest.raises(ValueError, match="multiple of the seeds per draw"):
        plan_replicates(baseline, replicates=5, seed=2, parameters="prior", seeds_per_draw=2)


def test_uniform_streams_are_reproducible_and_separate():
    assert uniform(1, 0, "a.b") == uniform(1, 0, "a.b")
    values = {uniform(1, d, name) for d in range(3) for name in ("a.b", "a.c")}
    assert len(values) == 6
    assert all(0 <= v < 1 for v in values)


def test_integer_prior_gives_each_whole_number_of_the_range_equally():
    info = {"default": 3, "low": 1.0, "high": 6.0}
    grid = [(i + 0.5) / 6000 for i in range(6000)]  # evenly spread uniform numbers
    counts = pd.Series([prior_value(info, u) for u in grid]).value_counts().sort_index()
    assert counts.to_dict() == {1: 1000, 2: 1000, 3: 1000, 4: 1000, 5: 1000, 6: 1000}
    assert prior_value({"default": 0.5, "low": 2.0, "high": 4.0}, 0.25) == 2.5


def test_fixed_draws_nothing(baseline):
    plan = plan_replicates(baseline, replicates=3, seed=1)
    assert plan.draws == [] and plan.overrides(2) == {} and plan.tag(0) == {}
    assert plan.manifest() == {"parameters": "fixed"}


@pytest.mark.parametrize("value", ["posterior", "uniform", 3, ("prior", "x")])
def test_unknown_sources_are_refused(value):
    with pytest.raises(ValueError, match="expected 'fixed', 'prior'"):
        parameter_source(value)


# ---------------------------------------------------------------------------------------------
# posterior draws


def test_posterior_draws_respect_the_weights(baseline, tmp_path):
    path = write_posterior(
        tmp_path / "post.parquet",
        {"weight": [0.9, 0.1], "dynamics.job_finding_rate": [0.004, 0.025]},
    )
    source = ParameterSource.from_posterior_file(path)
    n = 4000
    rows = [source.row(7, d) for d in range(n)]
    share = rows.count(0) / n
    # binomial standard deviation of the share: sqrt(0.9 * 0.1 / n) = 0.0047; 4 of them
    assert abs(share - 0.9) < 4 * math.sqrt(0.9 * 0.1 / n)
    first = source.draw(baseline, 7, rows.index(0))
    second = source.draw(baseline, 7, rows.index(1))
    assert first == {"dynamics.job_finding_rate": 0.004}
    assert second == {"dynamics.job_finding_rate": 0.025}


def test_weighted_row_follows_the_cumulative_weights():
    weights = np.array([1.0, 0.0, 3.0])
    assert weighted_row(weights, 0.0) == 0
    assert weighted_row(weights, 0.2499) == 0
    assert weighted_row(weights, 0.25) == 2  # a zero weight is never drawn
    assert weighted_row(weights, 0.9999) == 2


def test_posterior_manifest_records_file_and_hash(baseline, tmp_path):
    import hashlib

    path = write_posterior(
        tmp_path / "post.parquet",
        {"weight": [1.0, 2.0], "dynamics.illness_months": [2.0, 5.0]},
    )
    source = parameter_source(path)
    assert source.manifest() == {
        "parameters": "posterior",
        "posterior_file": str(path),
        "posterior_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "posterior_rows": 2,
    }
    # an integer parameter is drawn as a whole number
    assert source.draw(baseline, 1, 0)["dynamics.illness_months"] in (2, 5)
    assert isinstance(source.draw(baseline, 1, 0)["dynamics.illness_months"], int)


BAD_POSTERIORS = {
    "unknown_name": (
        {"weight": [1.0], "dynamics.nope": [0.1]},
        "found unknown parameter names dynamics.nope",
    ),
    "lever": (
        {"weight": [1.0], "funding.special_fund_per_person": [9000.0]},
        "levers funding.special_fund_per_person (levers are never drawn)",
    ),
    "negative_weight": (
        {"weight": [1.0, -0.5], "dynamics.job_finding_rate": [0.01, 0.02]},
        "expected weights >= 0, found -0.5 (row 1)",
    ),
    "zero_sum": (
        {"weight": [0.0, 0.0], "dynamics.job_finding_rate": [0.01, 0.02]},
        "expected weights with a positive sum, found a sum of 0",
    ),
    "no_rows": (
        {
            "weight": pd.Series([], dtype=float),
            "dynamics.job_finding_rate": pd.Series([], dtype=float),
        },
        "expected at least one row, found none",
    ),
    "no_weight": (
        {"w": [1.0], "dynamics.job_finding_rate": [0.01]},
        "expected a column 'weight', found w, dynamics.job_finding_rate",
    ),
    "no_parameter": ({"weight": [1.0]}, "expected one column per fitted parameter"),
    "nan": (
        {"weight": [1.0, 1.0], "dynamics.job_finding_rate": [0.01, float("nan")]},
        "column 'dynamics.job_finding_rate': expected finite numbers",
    ),
    "text": (
        {"weight": [1.0], "dynamics.job_finding_rate": ["often"]},
        "column 'dynamics.job_finding_rate': expected numbers",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_POSTERIORS))
def test_bad_posteriors_are_refused(case, baseline, tmp_path):
    columns, fragment = BAD_POSTERIORS[case]
    path = write_posterior(tmp_path / "post.parquet", columns)
    with pytest.raises(PosteriorError) as err:
        source = ParameterSource.from_posterior_file(path)
        source.check(baseline)
    assert str(err.value).startswith(f"{path}: ")
    assert fragment in str(err.value)


def test_posterior_files_that_are_not_parquet_are_refused(tmp_path):
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(PosteriorError, match="found an unreadable file"):
        ParameterSource.from_posterior_file(tmp_path / "text.parquet")
    with pytest.raises(PosteriorError, match="found no such file"):
        ParameterSource.from_posterior_file(tmp_path / "absent.parquet")


def test_posterior_row_the_scenario_refuses_names_the_row(baseline, tmp_path):
    path = write_posterior(
        tmp_path / "post.parquet", {"weight": [1.0], "dynamics.job_finding_rate": [-0.5]}
    )
    with pytest.raises(PosteriorError) as err:
        plan_replicates(baseline, 2, 1, ParameterSource.from_posterior_file(path))
    assert str(err.value) == (
        f"{path}: row 0: dynamics.job_finding_rate: expected greater than or equal to 0; found -0.5"
    )


# ---------------------------------------------------------------------------------------------
# the variance split, on numbers whose split is known


def test_nested_components_by_hand():
    # draw means 0, 10, 20; each draw's two seeds at mean -1 and +1
    values = np.array([[-1.0, 1.0], [9.0, 11.0], [19.0, 21.0]])
    parameters, seeds = nested_variance_components(values)
    # within: (1 + 1) * 3 / (3 * 1) = 2; between: var([0, 10, 20], ddof=1) = 100, minus 2 / 2
    assert seeds == pytest.approx(2.0)
    assert parameters == pytest.approx(99.0)


def test_nested_components_are_unbiased_on_simulated_numbers():
    rng = np.random.default_rng(0)
    draws, k = 4000, 4
    theta = rng.normal(0.0, 3.0, size=(draws, 1))  # parameter variance 9
    values = 100.0 + theta + rng.normal(0.0, 2.0, size=(draws, k))  # seed variance 4
    parameters, seeds = nested_variance_components(values)
    assert seeds == pytest.approx(4.0, rel=0.03)
    assert parameters == pytest.approx(9.0, rel=0.06)


def test_nested_components_without_parameter_effect_are_near_zero_and_never_negative():
    rng = np.random.default_rng(1)
    values = rng.normal(0.0, 2.0, size=(50, 2))  # only seeds
    parameters, seeds = nested_variance_components(values)
    assert parameters >= 0.0
    assert parameters < 0.25 * seeds
    with pytest.raises(ValueError, match="at least 2 draws of 2 seeds"):
        nested_variance_components(values[:, :1])


def synthetic_outcomes(values: np.ndarray) -> pd.DataFrame:
    draws, k = values.shape
    return pd.DataFrame(
        {
            "replicate": range(draws * k),
            "draw": np.repeat(range(draws), k),
            "cumulative_exited_people_2018": values.ravel(),
        }
    )


def test_variance_split_table():
    values = np.array([[-1.0, 1.0], [9.0, 11.0], [19.0, 21.0]])
    outcomes = synthetic_outcomes(values)
    row = variance_split(outcomes, ["cumulative_exited_people_2018"], "prior", 2).iloc[0]
    assert row["estimator"] == "nested anova" and row["draws"] == 3
    assert row["variance_total"] == pytest.approx(values.ravel().var(ddof=1))
    assert row["share_parameters"] == pytest.approx(99 / 101)
    assert row["share_seeds"] == pytest.approx(2 / 101)
    fixed = variance_split(outcomes, ["cumulative_exited_people_2018"], "fixed", 2).iloc[0]
    assert fixed["share_parameters"] == 0.0 and fixed["share_seeds"] == 1.0
    assert fixed["variance_seeds"] == fixed["variance_total"]
    single = variance_split(outcomes, ["cumulative_exited_people_2018"], "prior", 1).iloc[0]
    assert single["estimator"] == "not separable" and math.isnan(single["share_parameters"])


# ---------------------------------------------------------------------------------------------
# real runs


@pytest.fixture(scope="module")
def prior_ensemble(baseline, tmp_path_factory):
    out = tmp_path_factory.mktemp("prior") / "ens"
    return run_ensemble(
        baseline,
        replicates=4,
        seed=3,
        workers=1,
        population_scale=SCALE,
        out=out,
        parameters="prior",
        seeds_per_draw=2,
    )


def test_prior_ensemble_records_its_draws(prior_ensemble, baseline):
    ranges = uncertainty_ranges(baseline)
    for table in (prior_ensemble.outcomes, prior_ensemble.replicates):
        assert set(ranges) <= set(table.columns)
        for path, info in ranges.items():
            assert table[path].between(info["low"], info["high"]).all(), path
    outcomes = prior_ensemble.outcomes
    assert outcomes["draw"].to_list() == [0, 0, 1, 1]
    job = outcomes["dynamics.job_finding_rate"].to_list()
    assert job[0] == job[1] != job[2] == job[3]
    assert not any(p in set(prior_ensemble.quantiles["metric"]) for p in ranges)
    assert set(prior_ensemble.probabilities["parameters"]) == {"prior"}
    m = prior_ensemble.manifest
    assert m["parameters"] == "prior" and m["seeds_per_draw"] == 2
    assert m["drawn_parameters"] == sorted(ranges)


def test_prior_replicate_equals_a_direct_run_with_its_draw(prior_ensemble, baseline):
    from model.results.recording import run

    outcomes = prior_ensemble.outcomes
    row = outcomes.iloc[3]  # numbers upcast to float: read the 63-bit seed from its column
    drawn = {p: row[p] for p in prior_ensemble.manifest["drawn_parameters"]}
    drawn = {
        p: int(v) if isinstance(baseline_value(baseline, p), int) else v for p, v in drawn.items()
    }
    seed = int(outcomes["seed"].iloc[3])
    direct = run(apply_overrides(baseline, drawn), seed=seed, population_scale=SCALE)
    for key, value in direct.outcomes().items():
        assert row[key] == pytest.approx(value, nan_ok=True), key


def baseline_value(scenario, path):
    return sweepable_parameters(scenario)[path]["default"]


def test_prior_ensemble_folder(prior_ensemble, tmp_path):
    folder = prior_ensemble.write(tmp_path / "again")
    split = pd.read_csv(folder / "variance_split.csv")
    assert split["outcome"].to_list() == [
        f"cumulative_exited_people_{y}" for y in (2016, 2017, 2018)
    ]
    assert set(split["estimator"]) == {"nested anova"}
    # the split recomputed from the outcomes, by the formula
    exits = prior_ensemble.outcomes["cumulative_exited_people_2018"].to_numpy().reshape(2, 2)
    within = ((exits - exits.mean(axis=1, keepdims=True)) ** 2).sum() / 2
    between = max(exits.mean(axis=1).var(ddof=1) - within / 2, 0.0)
    last = split.iloc[-1]
    assert last["variance_seeds"] == pytest.approx(within)
    assert last["variance_parameters"] == pytest.approx(between)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"] == "prior"
    assert "prior parameter draws" in manifest["parameters_description"]
    back = read_ensemble(folder)
    pd.testing.assert_frame_equal(back.variance_split, prior_ensemble.variance_split)
    assert set(pd.read_csv(folder / "probabilities.csv")["parameters"]) == {"prior"}


def test_fixed_ensemble_puts_all_variance_on_the_seeds(baseline):
    ens = run_ensemble(baseline, replicates=3, seed=3, workers=1, population_scale=SCALE)
    split = ens.variance_split.set_index("outcome")
    assert (split["share_parameters"] == 0.0).all()
    assert (split["estimator"] == "parameters fixed").all()
    exits = ens.outcomes["cumulative_exited_people_2018"]
    assert split.loc["cumulative_exited_people_2018", "variance_seeds"] == pytest.approx(
        exits.var(ddof=1)
    )
    assert "draw" not in ens.outcomes.columns
    assert not any("." in c for c in ens.replicates.columns)


def test_posterior_ensemble_keeps_other_uncertainties_at_scenario_values(baseline, tmp_path):
    path = write_posterior(
        tmp_path / "post.parquet",
        {"weight": [3.0, 1.0], "dynamics.job_finding_rate": [0.004, 0.025]},
    )
    ens = run_ensemble(
        baseline, replicates=2, seed=3, workers=1, population_scale=SCALE, parameters=path
    )
    assert ens.manifest["drawn_parameters"] == ["dynamics.job_finding_rate"]
    assert ens.manifest["posterior_file"] == str(path)
    from model.results.recording import run

    columns = ["seed", "dynamics.job_finding_rate", "cumulative_exited_people_2018"]
    for seed, rate, exits in ens.outcomes[columns].itertuples(index=False):
        assert rate in (0.004, 0.025)
        direct = run(
            apply_overrides(baseline, {"dynamics.job_finding_rate": float(rate)}),
            seed=int(seed),
            population_scale=SCALE,
        )
        assert exits == direct.outcomes()["cumulative_exited_people_2018"]


def test_budget_tools_run_the_ensembles_draws(baseline, prior_ensemble):
    plan = plan_replicates(baseline, replicates=4, seed=3, parameters="prior", seeds_per_draw=2)
    outcomes = run_replicates(
        baseline, plan.seeds, SCALE, draws=[plan.overrides(r) for r in range(4)]
    )
    pd.testing.assert_series_equal(
        outcomes["cumulative_exited_people_2018"],
        prior_ensemble.outcomes["cumulative_exited_people_2018"],
    )
    alloc = dict(baseline.funding.allocation)
    table = compare_allocations(
        baseline, [alloc, alloc], replicates=2, seed=3, population_scale=SCALE, parameters="prior"
    )
    assert table["parameters"].to_list() == ["prior", "prior"]
    numeric = table.drop(columns=["allocation", "parameters"])
    pd.testing.assert_series_equal(numeric.iloc[0], numeric.iloc[1], check_names=False)
    fixed = compare_allocations(baseline, [alloc], replicates=2, seed=3, population_scale=SCALE)
    assert fixed.loc[0, "parameters"] == "fixed"
    assert fixed.loc[0, "exits_2018"] != table.loc[0, "exits_2018"]


# ---------------------------------------------------------------------------------------------
# intervals over replicates that share parameter draws


def test_the_clustered_interval_counts_draws_as_correlated():
    from model.experiments.ensemble import binomial_interval, clustered_interval, wilson_interval

    # one seed per draw: the ordinary Wilson interval; fractional trials agree with scipy's
    assert clustered_interval(np.array([1, 0, 0, 1, 1]), 1) == binomial_interval(3, 5)
    from scipy.stats import binomtest

    scipy_ci = binomtest(7, 20).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(7 / 20, 20) == pytest.approx((scipy_ci.low, scipy_ci.high), abs=1e-12)
    # draws that decide everything (both seeds agree, draws differ): icc 1, four draws count
    # as four replicates, not eight
    assert clustered_interval(np.array([1, 1, 0, 0, 1, 1, 0, 0]), 2) == pytest.approx(
        binomial_interval(2, 4), abs=1e-12
    )
    # seeds that decide everything (every draw half met): no correlation, eight replicates
    assert clustered_interval(np.array([1, 0, 0, 1, 1, 0, 0, 1]), 2) == pytest.approx(
        binomial_interval(4, 8), abs=1e-12
    )
    # nothing met: the correlation cannot be estimated, so each draw counts once
    assert clustered_interval(np.zeros(50), 2) == pytest.approx(binomial_interval(0, 25))
    # by hand, k = 2, draws (1,1) (1,0) (0,0) (0,0): p = 3/8, draw means 1, 1/2, 0, 0;
    # between = 2 x (25/64 + 1/64 + 9/64 + 9/64) / 3 = 11/24; within = 2 x (1/4) / 4 = 3/24;
    # icc = (11/24 - 3/24) / (11/24 + 3/24) = 4/7; n_eff = 8 / (1 + 4/7) = 56/11
    low, high = clustered_interval(np.array([1, 1, 1, 0, 0, 0, 0, 0]), 2)
    assert (low, high) == pytest.approx(wilson_interval(3 / 8, 56 / 11))
    # a single draw: nothing to estimate the correlation from, so it counts once
    assert clustered_interval(np.array([1, 0, 1, 1]), 4) == pytest.approx(
        wilson_interval(0.75, 1.0)
    )
    with pytest.raises(ValueError, match="multiple of seeds_per_draw 2"):
        clustered_interval(np.ones(5), 2)


def test_a_prior_ensembles_intervals_treat_each_draws_seeds_as_one_cluster(prior_ensemble):
    from model.experiments.ensemble import clustered_interval

    probabilities = prior_ensemble.probabilities.set_index("year")
    replicates = prior_ensemble.replicates
    for year in (2016, 2017, 2018):
        met = replicates[replicates["year"] == year].sort_values("replicate")["target_met"]
        expected = clustered_interval(met.to_numpy(dtype=bool), 2)
        row = probabilities.loc[year]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(expected)
    assert "effective replicates" in prior_ensemble.manifest["ci_method"]
