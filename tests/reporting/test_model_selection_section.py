"""The model-choice section reads each model's probability by its number, whatever its name."""

from __future__ import annotations

import io

import pandas as pd

from model.reporting.model_selection_section import _models_table


def test_probabilities_are_found_for_names_csv_reads_as_numbers():
    csv = "generation,model,scenario,probability\n2,0,2020,0.25\n2,1,NA,0.75\n"
    last = pd.read_csv(io.StringIO(csv))  # "2020" comes back a number, "NA" a missing value
    manifest = {
        "scenarios": [
            {"model": 0, "name": "2020", "mechanisms": [], "parameters": {"a": {}}},
            {"model": 1, "name": "NA", "mechanisms": ["verification"], "parameters": {}},
        ]
    }
    table = _models_table(manifest, last)
    assert table["P(model | data)"].tolist() == ["0.25", "0.75"]
    assert table["scenario"].tolist() == ["2020", "NA"]
    assert table["mechanisms on"].tolist() == ["none", "verification"]
    assert table["parameters fitted"].tolist() == ["1", "0"]
