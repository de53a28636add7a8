"""What measures share: yearly capacities paced by month, no jobs without labour."""

from model.engine.assessment import NO_LABOUR
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_five_guarantee_and_no_labour_never_get_jobs(baseline):
    from model import PovertyModel

    m = PovertyModel(baseline, seed=5, population_scale=0.02)
    m.run_model()
    hh = m.households
    assert (hh.jobs[hh.group == NO_LABOUR] == 0).all()
    assert (hh.occupied[hh.group == NO_LABOUR] == 0).all()
    assert (hh.jobs <= hh.workers).all()


def test_quota_paces_each_counter_by_month_and_restarts_each_year():
    """floor(capacity * month / 12) may have started by each month, counted per programme."""
    from model.engine.interventions.base import Measure, MeasureParams

    m = FakeModel(make_households(1), year=2016, month=1, scale=0.5)
    measure = Measure(MeasureParams(), m)
    yearly = {2016: 30.0, 2017: 6.0}  # 15 and 3 at scale 0.5
    started = 0
    for month in range(1, 13):
        m.month = month
        q = measure.quota(m, yearly, "roads")
        assert q == int(15 * month / 12) - started  # by hand: 1, 2, 3, 5, 6, 7, 8, ...
        measure.count_started(m, q, "roads")
        started += q
    assert started == 15
    assert measure.quota(m, yearly, "water") == 15  # another programme is paced apart
    m.year, m.month = 2017, 1
    assert measure.started_this_year(m, "roads") == 0
    assert measure.quota(m, yearly, "roads") == 0  # floor(3 / 12)
    m.month = 4
    assert measure.quota(m, yearly, "roads") == 1
