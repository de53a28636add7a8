"""The plan's own feedback: mechanisms that judge, check and correct the campaign's results.

A mechanism is one module with its own scenario table (``[verification]``,
``[village_recheck]``, ``[living_register]``), a switch ``enabled`` (off by default, and off
gives exactly the model without it: no random draw, no output column), and a class with these
hooks, each called by
:class:`~model.engine.simulation.PovertyModel` only when the mechanism is on:

* ``after_villages_act(model)``: every month between step 3 and step 4 (the register's
  re-check);
* ``after_household_verdict(model, verdict, income_pc, line, guarantees)``: in the December
  assessment, after the true verdict, before it is applied; returns the verdict to apply;
* ``after_village_assessment(model, village_pc, village_line)``: after the villages are judged;
* ``annual_row(model)`` and ``county_rows(model)``: extra columns of the year's ``annual`` row
  and of each county's ``by_county`` row;
* ``invariant_checks()``: checks run every month (see :mod:`model.engine.invariants`);
* ``end_of_month(model)``: after the month's checks and record.

:data:`MECHANISMS` lists them in the order their hooks run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from model.engine.mechanisms.register import LivingRegister
from model.engine.mechanisms.verification import ExitVerification
from model.engine.mechanisms.village_recheck import VillageRecheck

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

#: Every mechanism, in the order their hooks run.
MECHANISMS: tuple[type[Any], ...] = (ExitVerification, VillageRecheck, LivingRegister)


def build_mechanisms(model: PovertyModel) -> list[Any]:
    """The enabled mechanisms of the model's scenario, in :data:`MECHANISMS` order."""
    enabled = []
    for cls in MECHANISMS:
        params = getattr(model.scenario, cls.name)
        if params.enabled:
            enabled.append(cls(params, model))
    return enabled
