"""The small interface every measure implements, and its parameter base class."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from model.params import Section, param

if TYPE_CHECKING:
    from model.simulation import PovertyModel


class MeasureParams(Section):
    """Parameters every measure has; each measure's table extends this."""

    enabled: bool = param(
        True,
        unit="switch",
        source="scenario choice",
        doc="Switch the measure off: then neither its effect nor its cost appears.",
    )


class Measure:
    """A measure of the plan: who enrols, what it does, what it costs.

    Subclasses set ``name`` (the module's name, also the scenario table) and ``Params`` and
    override :meth:`enrol`, :meth:`apply` and :meth:`cost`. The simulation calls, every month and
    in the order of :data:`model.interventions.MEASURES`: ``enrol`` (step 4 of the schedule),
    then ``apply`` (step 5, after the background incomes have been written), then ``cost``.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[MeasureParams]] = MeasureParams

    def __init__(self, params: MeasureParams, model: PovertyModel) -> None:
        self.params = params
        self.model = model

    @classmethod
    def switch_off(cls, model: PovertyModel) -> None:
        """Remove the measure's standing state when a scenario disables it (default: none)."""

    def enrol(self, model: PovertyModel) -> None:
        """Enrol households or villages this month, within capacity and budget."""

    def apply(self, model: PovertyModel) -> None:
        """Add this month's effect to the household income components or state."""

    def cost(self, model: PovertyModel) -> float:
        """Spend of this month, in yuan."""
        return 0.0

    def enrolled_mask(self, model: PovertyModel) -> np.ndarray:
        """Households currently enrolled (for the outputs)."""
        return np.zeros(model.households.n, dtype=bool)
