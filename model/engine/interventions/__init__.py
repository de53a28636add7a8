"""The plan's measures, one module each, listed in their monthly order.

Each measure owns its parameters (a top-level scenario table named after the module), its
enrolment rule, its effect on household or village state and its cost. The simulation loops over
:data:`MEASURES`; adding a measure means adding a module and an entry here. Social security
comes last so that its top-ups see every other income of the month.
"""

from model.engine.interventions.assistance import Assistance
from model.engine.interventions.base import Measure, MeasureParams
from model.engine.interventions.education import Education
from model.engine.interventions.employment import Employment
from model.engine.interventions.finance import Finance
from model.engine.interventions.health import Health
from model.engine.interventions.housing import Housing
from model.engine.interventions.industry import Industry
from model.engine.interventions.infrastructure import Infrastructure
from model.engine.interventions.social_security import SocialSecurity

#: Measures in the order they act each month.
MEASURES: tuple[type[Measure], ...] = (
    Assistance,
    Infrastructure,
    Industry,
    Employment,
    Finance,
    Education,
    Health,
    Housing,
    SocialSecurity,
)

__all__ = ["MEASURES", "Measure", "MeasureParams"]
