"""A minimal stand-in for PovertyModel: exactly the attributes measures read, nothing else."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from model.engine.funding import FEN, Ledger
from model.engine.households import village_people
from model.engine.interventions import MEASURES, SharedOutputs


class FakeModel:
    def __init__(self, hh, year=2017, month=1, seed=0, n_counties=1, villages=(), scale=1.0):
        from model.engine.scenario import validate_scenario

        self.households = hh
        self.rng = np.random.default_rng(seed)
        self.year, self.month = year, month
        self.month_index = (year - 2016) * 12 + month - 1
        self.n_counties = n_counties
        self.villages = list(villages)
        self.population = SimpleNamespace(scale=scale)
        self.shared = SharedOutputs.defaults(hh.n)
        self.scenario = validate_scenario({})
        self.ledger = Ledger(
            uses=[m.name for m in MEASURES],
            n_counties=n_counties,
            county_names=[f"c{i}" for i in range(n_counties)],
        )

    @property
    def village_people(self):
        return village_people(self.households, len(self.villages))

    def fund(self, use, yuan, county=0, source="province", fund="special"):
        amounts = np.zeros(self.n_counties, dtype=np.int64)
        amounts[county] = int(round(yuan * FEN))
        self.ledger.receive(fund, source, self.year, self.month, amounts, {use: 1.0})
