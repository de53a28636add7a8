"""The plan's measures, one module each, listed in their monthly order.

Each measure owns its parameters (a top-level scenario table named after the module), its
enrolment rule, its effect on household or village state and its cost. The simulation loops over
:data:`MEASURES`; adding a measure means adding a module and an entry here.
"""

from model.interventions.base import Measure, MeasureParams
from model.interventions.social_security import SocialSecurity

#: Measures in the order they act each month.
MEASURES: tuple[type[Measure], ...] = (SocialSecurity,)

__all__ = ["MEASURES", "Measure", "MeasureParams"]
