"""``shaoguan-abm discover``: the boxes printed and written from an ensemble folder."""

from __future__ import annotations

import pandas as pd

from model.commands.cli import main
from model.reporting.figures import discovery_figure
from tests.experiments.test_discovery import ensemble_folder


def test_discover_prints_and_writes_the_box(tmp_path, capsys):
    folder, x, y = ensemble_folder(tmp_path)
    code = main(["discover", str(folder), "--target-met", "2017", "--min-mass", "0.05"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"target_met_2017 is true: {int(y.sum())} of {len(y)} replicates" in out
    assert "box 1: coverage" in out and "a.x1 in [0.7" in out
    boxes = pd.read_csv(folder / "discovery.csv")
    first = boxes[boxes["box"] == 1].set_index("uncertainty")
    assert abs(first.loc["a.x2", "upper"] - 0.3) < 0.05
    assert (folder / "discovery.png").stat().st_size > 0


def test_figure_without_a_box_says_so():
    empty_boxes = pd.DataFrame(columns=["box", "uncertainty", "lower", "upper"])
    empty_trajectory = pd.DataFrame(columns=["box", "step", "coverage", "density", "selected"])
    fig = discovery_figure(empty_trajectory, empty_boxes, title="t", subtitle="s")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no box found" in texts and "no box reaches the density asked" in texts
