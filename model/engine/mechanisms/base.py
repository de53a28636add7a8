"""The interface every mechanism shares: hooks that do nothing unless overridden."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from model.engine.assessment import HouseholdVerdict
    from model.engine.simulation import PovertyModel

#: Where the reported facts the mechanisms' sources cite are kept, with their own sources.
REPORTED_FACTS = "data/observed/README.md"


class Mechanism:
    """A feedback mechanism of the plan; built only when its table's ``enabled`` is true.

    Args:
        params: The mechanism's scenario table.
        model: The model it belongs to (households and villages already built).
    """

    #: Name of the scenario table (and of the mechanism in outputs).
    name = "mechanism"

    def __init__(self, params: Any, model: PovertyModel) -> None:
        self.params = params

    def after_villages_act(self, model: PovertyModel) -> None:
        """Every month, between step 3 (villages act) and step 4 (programmes enrol)."""

    def end_of_month(self, model: PovertyModel) -> None:
        """Every month, after the invariants are checked and the month is recorded."""

    def after_household_verdict(
        self,
        model: PovertyModel,
        verdict: HouseholdVerdict,
        income_pc: np.ndarray,
        line: float,
        guarantees: np.ndarray,
    ) -> HouseholdVerdict:
        """December: the verdict to apply, given the verdict on true income."""
        return verdict

    def after_village_assessment(
        self, model: PovertyModel, village_pc: np.ndarray, village_line: float
    ) -> None:
        """December: act after every village has been judged."""

    def after_assessment(self, model: PovertyModel) -> None:
        """December: act once households and villages have been judged and their exits applied."""

    def annual_row(self, model: PovertyModel) -> dict[str, Any]:
        """Extra columns of this December's ``annual`` row."""
        return {}

    def county_rows(self, model: PovertyModel) -> list[dict[str, Any]]:
        """Extra columns of this December's ``by_county`` rows, one dict per county."""
        return [{} for _ in range(model.n_counties)]

    def invariant_checks(self) -> Mapping[str, Any]:
        """Checks run every month (see :mod:`model.engine.invariants`)."""
        return {}
