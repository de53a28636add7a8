"""Figures on small hand-made results: labels, series and the numbers drawn."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from model.reporting import figures as plots
from model.results.outputs import spend_by_year

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def annual_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2016, 2017, 2018, 2019],
            "cumulative_exited_people": [1_600, 2_900, 4_000, 4_300],
            "target_cumulative_people": [1_500, 3_275, 4_775, 4_775],
            "target_met": [True, False, False, False],
            "villages_exited": [0, 3, 10, 14],
            "villages_total": [14, 14, 14, 14],
            "mean_per_capita_income_poor": [4_000.0, 5_000.0, 6_000.0, 7_000.0],
            "median_per_capita_income_poor": [3_700.0, 4_500.0, 5_200.0, 5_800.0],
            "exit_income_line": [6_432.84, 6_883.14, 7_364.96, 7_880.51],
        }
    )


def by_county_table() -> pd.DataFrame:
    rows = []
    for year, remaining_a, remaining_b in [(2016, 300, 80), (2017, 200, 60), (2018, 150, 50)]:
        rows.append(
            dict(
                year=year,
                county="lechang",
                registered_people=400,
                remaining_poor_people=remaining_a,
            )
        )
        rows.append(
            dict(
                year=year, county="ruyuan", registered_people=100, remaining_poor_people=remaining_b
            )
        )
    return pd.DataFrame(rows)


def all_text(fig) -> str:
    texts = [t.get_text() for t in fig.findobj(plt.Text)]
    return "\n".join(texts)


def saves_png(fig, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=80)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000
    # no Chinese text: the default font has no glyphs for it (empty boxes)
    assert not CJK.search(all_text(fig))
    plt.close(fig)


def legend_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_exits_vs_targets(tmp_path):
    fig = plots.exits_vs_targets(annual_table(), title="hand-made")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "year (December assessment)"
    assert "(people)" in ax.get_ylabel()
    assert "Is each year's exit target met?" in ax.get_title()
    assert "hand-made" in ax.get_title()
    assert legend_labels(ax) == [
        "cumulative exits, not relapsed (model)",
        "cumulative target (plan §I.3)",
        "after the plan (2019-)",
    ]
    model_line, target_line, *gaps = ax.get_lines()
    assert model_line.get_ydata().tolist() == [1_600, 2_900, 4_000, 4_300]
    # the step holds each December's target over the year leading to it
    assert target_line.get_ydata().tolist() == [1_500, 1_500, 3_275, 4_775, 4_775]
    assert target_line.get_xdata().tolist() == [2015.5, 2016.5, 2017.5, 2018.5, 2019.5]
    # 2016 exceeds its target; 2017 misses by 375, 2018 by 775, 2019 by 475: a dotted gap each
    assert [g.get_ydata().tolist() for g in gaps] == [
        [2_900, 3_275],
        [4_000, 4_775],
        [4_300, 4_775],
    ]
    notes = [(t.get_text(), t.xy) for t in ax.texts]
    # gaps under 12% of the top (4,775 -> 573) are labelled at the point, others under the step
    assert notes == [
        ("met", (2016, 1_600)),
        ("short by\n375", (2017, 2_900)),
        ("short by\n775", (2018, 4_775)),
        ("short by\n475", (2019, 4_300)),
    ]
    saves_png(fig, tmp_path, "exits")


def test_villages_exited_single_run_and_ensemble(tmp_path):
    annual = annual_table()
    fig = plots.villages_exited(annual, title="hand-made")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "poor villages exited (villages)"
    assert legend_labels(ax) == [
        "all 14 poor villages, to exit by 2018 (plan §I.3)",
        "after the plan (2019-)",
        "villages exited (model)",
    ]
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in bars] == [0, 3, 10, 14]
    assert [t.get_text() for t in ax.texts][:4] == ["0 (0%)", "3 (21%)", "10 (71%)", "14 (100%)"]
    saves_png(fig, tmp_path, "villages")

    # ensemble: 21 replicates with 0..20 villages exited in 2018 -> median 10, 5% 1, 95% 19
    reps = pd.DataFrame(
        {"replicate": np.arange(21), "year": 2018, "villages_exited": np.arange(21)}
    )
    one_year = annual[annual["year"] == 2018]
    fig = plots.villages_exited(one_year, replicates=reps)
    (ax,) = fig.axes
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in bars] == [10.0]
    segments = ax.collections[0].get_segments()
    assert segments[0][:, 1].tolist() == [1.0, 19.0]
    assert legend_labels(ax)[1] == "villages exited (median, 5-95% of replicates)"
    plt.close(fig)


def test_remaining_poor_by_county(tmp_path):
    fig = plots.remaining_poor_by_county(by_county_table(), title="hand-made")
    (ax,) = fig.axes
    assert ax.get_xlabel().endswith("(people)")
    assert ax.get_ylabel() == "county-level unit"
    assert legend_labels(ax) == ["2016", "2017", "2018"]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 3
    # counties ordered by registered people: ruyuan (100) at the bottom, lechang (400) on top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ruyuan", "lechang"]
    assert [b.get_width() for b in bars[0]] == [80, 300]
    assert [b.get_width() for b in bars[2]] == [50, 150]
    # the last year's share still poor: 50/100 and 150/400
    assert [t.get_text() for t in ax.texts] == ["50% still poor", "38% still poor"]
    saves_png(fig, tmp_path, "county")


def test_spend_by_year_from_monthly(tmp_path):
    monthly = pd.DataFrame(
        {
            "year": [2016] * 12 + [2017] * 12,
            "month": list(range(1, 13)) * 2,
            "spend_social_security": [100_000.0] * 12 + [200_000.0] * 12,
            "spend_housing": [0.0] * 12 + [50_000.0] * 12,
        }
    )
    fig = plots.spend_by_year(by_use=spend_by_year(None, "use", monthly=monthly), title="hand-made")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "spent in the year\n(million yuan)"
    # largest total at the bottom of the stack; the legend lists the top first
    assert legend_labels(ax) == ["housing", "social security"]
    social, housing = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in social] == pytest.approx([1.2, 2.4])
    assert [b.get_height() for b in housing] == pytest.approx([0.0, 0.6])
    assert [b.get_y() for b in housing] == pytest.approx([1.2, 2.4])  # stacked on top
    saves_png(fig, tmp_path, "spend_monthly")


def test_spend_by_year_from_ledger(tmp_path):
    rows = [
        ("special", "province", "", "received", 2016, 6_000_000),
        ("special", "province", "employment", "spent", 2016, 3_000_000),
        ("special", "province", "industry", "spent", 2016, 1_000_000),
        ("special", "paired_city", "employment", "spent", 2016, 2_000_000),
        ("special", "paired_city", "employment", "leaked", 2016, 500_000),
        ("special", "province", "industry", "spent", 2017, 3_500_000),
        ("special", "province", "", "unspent", 2017, 1_000_000),
    ]
    ledger = pd.DataFrame(rows, columns=["fund", "source", "use", "kind", "year", "amount"])
    ledger["month"] = 12
    ledger["county"] = "lechang"
    fig = plots.spend_by_year(
        spend_by_year(ledger, "source", leaked=True), spend_by_year(ledger, "use", leaked=True)
    )
    by_source, by_use = fig.axes
    assert by_source.get_title() == "by source" and by_use.get_title() == "by use"
    assert by_source.get_ylabel() == "spent or leaked\nin the year (million yuan)"
    # sources named with their fund; largest total (province 7.5 M, employment 5 M) at the bottom
    assert legend_labels(by_source) == [
        "leaked",
        "paired city (special fund)",
        "province (special fund)",
    ]
    assert legend_labels(by_use) == ["leaked", "industry", "employment"]
    heights = {
        label: [b.get_height() for b in c]
        for label, c in zip(
            legend_labels(by_source)[::-1],
            [c for c in by_source.containers if isinstance(c, BarContainer)],
            strict=True,
        )
    }
    assert heights["province (special fund)"] == pytest.approx([4.0, 3.5])
    assert heights["paired city (special fund)"] == pytest.approx([2.0, 0.0])
    assert heights["leaked"] == pytest.approx([0.5, 0.0])
    use_bars = [c for c in by_use.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in use_bars[0]] == pytest.approx([5.0, 0.0])  # employment
    saves_png(fig, tmp_path, "spend_ledger")


def test_spend_by_year_without_data_says_so():
    with pytest.raises(ValueError, match="no spend to draw"):
        plots.spend_by_year(spend_by_year(None, "use", monthly=pd.DataFrame({"year": [2016]})))


def test_spend_by_year_band_of_an_ensemble(tmp_path):
    mean = pd.DataFrame({"employment": [3e6, 1e6], "leaked": [0.5e6, 0.0]}, index=[2016, 2017])
    band = pd.DataFrame({"low": [2.5e6, 0.5e6], "high": [4.5e6, 2e6]}, index=[2016, 2017])
    fig = plots.spend_by_year(by_use=mean, band=band)
    (ax,) = fig.axes
    assert ax.get_ylabel().endswith("mean of replicates")
    assert legend_labels(ax)[0] == "total, 5-95% of replicates"
    (bars,) = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    segments = bars.lines[2][0].get_segments()
    # from the low to the high total, in million yuan, at each year's stack (3.5 and 1.0)
    ends = [v for seg in segments for v in seg[:, 1]]
    assert ends == pytest.approx([2.5, 4.5, 0.5, 2.0])
    saves_png(fig, tmp_path, "spend_band")


def test_income_distribution_from_percentiles(tmp_path):
    annual = annual_table()
    rows = []
    for year in annual["year"]:
        for population, base in (("labour_capable", 2_000), ("no_labour", 4_000)):
            for p in (5, 10, 25, 50, 75, 90, 95):
                rows.append((year, population, p, base + 10 * p + (year - 2016) * 500))
    pct = pd.DataFrame(rows, columns=["year", "population", "percentile", "value"])
    fig = plots.income_distribution(annual, pct, title="hand-made")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "per-capita disposable income (yuan/person/year)"
    assert legend_labels(ax) == [
        "labour-capable households (5-25-50-75-95%)",
        "households without labour capacity (5-25-50-75-95%)",
        "exit line: 45% of provincial rural income (plan §I.3)",
        "after the plan (2019-)",
    ]
    medians = [line for line in ax.get_lines() if line.get_color() == "black"]
    # labour-capable median in 2016 = 2,000 + 500; no-labour median in 2019 = 4,000 + 500 + 1,500
    assert medians[0].get_ydata().tolist() == [2_500, 2_500]
    assert medians[-1].get_ydata().tolist() == [6_000, 6_000]
    assert len(medians) == 8  # 4 years x 2 populations
    exit_line = ax.get_lines()[-1]
    assert exit_line.get_ydata().tolist()[1:] == annual["exit_income_line"].tolist()
    saves_png(fig, tmp_path, "income")


def errorbar_ends(ax) -> list[list[float]]:
    """The (low, high) ends of every error bar of the axes, one list per errorbar call."""
    out = []
    for c in ax.containers:
        if type(c).__name__ == "ErrorbarContainer":
            segments = c.lines[2][0].get_segments()
            out.append([float(v) for seg in segments for v in seg[:, 1 if c.has_yerr else 0]])
    return out


def test_income_distribution_band_of_an_ensemble(tmp_path):
    annual = annual_table().iloc[:2]
    rows = [
        (year, "labour_capable", p, 1_000.0 + 10 * p) for year in (2016, 2017) for p in
        (5, 10, 25, 50, 75, 90, 95)
    ]  # fmt: skip
    pct = pd.DataFrame(rows, columns=["year", "population", "percentile", "value"])
    band = pd.DataFrame(
        {
            "year": [2016, 2017],
            "population": ["labour_capable"] * 2,
            "low": [1_400.0, 1_300.0],
            "high": [1_700.0, 1_600.0],
        }
    )
    fig = plots.income_distribution(annual, pct, title="ensemble", band=band)
    (ax,) = fig.axes
    assert "median, 5-95% of replicates" in legend_labels(ax)
    # each year's median is 1,500: the range runs from the band's low to its high
    assert errorbar_ends(ax) == [[1_400.0, 1_700.0, 1_300.0, 1_600.0]]
    saves_png(fig, tmp_path, "income_band")


def test_remaining_poor_by_county_band_of_an_ensemble(tmp_path):
    table = by_county_table()
    band = table[["year", "county"]].assign(
        low=table["remaining_poor_people"] - 10, high=table["remaining_poor_people"] + 30
    )
    fig = plots.remaining_poor_by_county(table, title="ensemble", band=band)
    (ax,) = fig.axes
    ends = errorbar_ends(ax)
    assert len(ends) == 3  # one per year
    # 2016: ruyuan 80 and lechang 300 (in the counties' order), from -10 to +30
    assert ends[0] == [70.0, 110.0, 290.0, 330.0]
    # the share still poor is written past the range
    assert [t.xy[0] for t in ax.texts] == [80.0, 180.0]
    saves_png(fig, tmp_path, "county_band")


def test_income_distribution_without_percentiles(tmp_path):
    fig = plots.income_distribution(annual_table())
    (ax,) = fig.axes
    assert legend_labels(ax) == [
        "mean, registered poor",
        "median, registered poor",
        "exit line: 45% of provincial rural income (plan §I.3)",
        "after the plan (2019-)",
    ]
    assert ax.get_lines()[0].get_ydata().tolist() == [4_000, 5_000, 6_000, 7_000]
    saves_png(fig, tmp_path, "income_means")


def test_plan_last_year_is_the_first_year_at_the_final_target():
    annual = annual_table()
    assert plots.plan_last_year(annual) == 2018
    # a scenario whose targets run one year longer shades one year later
    longer = annual.assign(target_cumulative_people=[1_500, 3_275, 4_000, 4_775])
    assert plots.plan_last_year(longer) == 2019
    assert plots.plan_last_year(annual.drop(columns="target_cumulative_people")) is None
    fig = plots.exits_vs_targets(longer)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert not any("after the plan" in label for label in labels)
    fig = plots.exits_vs_targets(annual)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "after the plan (2019-)" in labels


def test_attribution_chart_draws_each_measure_with_its_effects_and_returns():
    from model.reporting.figures import attribution_chart

    table = pd.DataFrame(
        {
            "measure": ["employment", "industry", "housing"],
            "outcome": "cumulative_exited_people",
            "year": 2018,
            "loo_effect": [700.0, 80.0, 0.0],
            "loo_low": [650.0, 30.0, 0.0],
            "loo_high": [750.0, 130.0, 0.0],
            "shapley": [650.0, 60.0, 0.0],
            "shapley_low": [600.0, 20.0, 0.0],
            "shapley_high": [700.0, 100.0, 0.0],
            "loo_per_million_yuan": [54.0, 4.2, float("nan")],
            "loo_per_million_low": [50.0, 2.0, float("nan")],
            "loo_per_million_high": [58.0, 6.4, float("nan")],
            "marginal_effect": [-30.0, -31.0, float("nan")],
            "marginal_per_million_yuan": [-160.0, float("nan"), float("nan")],
            "marginal_per_million_low": [-475.0, float("nan"), float("nan")],
            "marginal_per_million_high": [156.0, float("nan"), float("nan")],
        }
    )
    fig = attribution_chart(table, year=2018, title="test")
    left, right = fig.axes[:2]
    # rows bottom to top: housing, industry, employment; leave-one-out bars first
    widths = [p.get_width() for p in left.patches]
    assert widths == [0.0, 80.0, 700.0, 0.0, 60.0, 650.0]
    assert [t.get_text() for t in left.get_yticklabels()] == ["housing", "industry", "employment"]
    right_widths = [p.get_width() for p in right.patches]
    assert right_widths == [0.0, 4.2, 54.0, 0.0, 0.0, -160.0]
    # industry's larger earmark bought no extra spending: said in words, not drawn as zero
    assert any("not spent" in t.get_text() for t in right.texts)
