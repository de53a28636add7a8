"""The compiled (numba) twins of the household passes that dominate a large run.

Imported only through :mod:`model.engine.kernels`, which decides when they run. Every kernel
repeats its numpy twin's arithmetic operation by operation and in the same order (no fast-math,
so no reassociation or fused multiply-adds), so the two give bit-identical results; the tests
compare them on random input and on whole runs.
"""

from __future__ import annotations

import numba
import numpy as np

from model.engine import compiled_draws
from model.engine.compiled_draws import (  # noqa: F401  (the draws, with the other kernels)
    choice_without_replacement,
    numpy_stream,
    permutation,
    stream,
)

#: numpy's error model: a division by zero gives inf or NaN, as numpy does, rather than raising
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

#: for the kernels that draw from the model's stream: holding the GIL, as numpy holds the
#: generator's lock while it draws
_jit_drawing = numba.njit(cache=True, error_model="numpy")


@_jit
def social_payments(
    registered: np.ndarray,
    disabled: np.ndarray,
    elderly: np.ndarray,
    subsidy: float,
    pension: float,
    wubao: np.ndarray,
    dibao_class: np.ndarray,
    size: np.ndarray,
    wage: np.ndarray,
    business: np.ndarray,
    property_: np.ndarray,
    transfer: np.ndarray,
    dibao: float,
    wubao_standard: float,
    class2_floor: float,
    county: np.ndarray,
    n_counties: int,
    paid: np.ndarray,
    social: np.ndarray,
) -> np.ndarray:
    """One pass of ``SocialSecurity.apply``: each household's payment, and the county totals.

    Writes ``paid`` (disability subsidy, pension increase, dibao or five-guarantee payment) and
    ``social`` (the dibao or five-guarantee part, 0 for households not enrolled); returns the
    sum of ``paid`` by county, accumulated in household order as ``np.bincount`` does.
    """
    demand = np.zeros(n_counties)
    floor = class2_floor * dibao
    for i in range(paid.size):
        x = subsidy if registered[i] and disabled[i] else 0.0
        if pension != 0.0:
            x += elderly[i] * pension if registered[i] else 0.0
        s = 0.0
        k = dibao_class[i]
        if wubao[i] or k > 0:
            own = (wage[i] + business[i] + property_[i] + transfer[i]) / size[i]
            gap = np.maximum(dibao - own, 0.0)
            if wubao[i]:
                per_person = wubao_standard
            elif k == 1:
                per_person = dibao
            elif k == 2:
                per_person = np.maximum(gap, floor)
            elif k == 3:
                per_person = gap
            else:
                per_person = 0.0
            s = per_person * size[i]
            x = s + x
        paid[i] = x
        social[i] = s
        demand[county[i]] += x
    return demand


@_jit
def base_flows(
    jobs: np.ndarray,
    job_wage: np.ndarray,
    business_annual: np.ndarray,
    farm_shock: np.ndarray,
    property_annual: np.ndarray,
    transfer_annual: np.ndarray,
    ill_months: np.ndarray,
    workers: np.ndarray,
    wage: np.ndarray,
    business: np.ndarray,
    property_: np.ndarray,
    transfer: np.ndarray,
) -> None:
    """The month's wage, business, property and transfer flows of every household, in one pass.

    A household ill this month with a worker loses one job's wage (if it has a job) and the
    sick worker's share of the farm work, as :func:`model.engine.dynamics.flow_base_incomes`.
    """
    for i in range(wage.size):
        if ill_months[i] > 0 and workers[i] > 0:
            held = jobs[i]
            wage[i] = (held - (1 if held > 0 else 0)) * job_wage[i]
            farm_lost = 1.0 / max(workers[i], 1)
            business[i] = business_annual[i] / 12 * (farm_shock[i] * (1 - farm_lost))
        else:
            wage[i] = jobs[i] * job_wage[i]
            business[i] = business_annual[i] / 12 * farm_shock[i]
        property_[i] = property_annual[i] / 12
        transfer[i] = transfer_annual[i] / 12


@_jit
def trial_owners(trials: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The owner of each trial position, household ``i`` owning the next ``trials[i]`` trials.

    ``positions`` ascend; the result is ``np.searchsorted(np.cumsum(trials), positions,
    side="right")`` found by one walk instead of a cumulative sum of every household.
    """
    owner = np.empty(positions.size, dtype=np.int64)
    i = 0
    end = np.int64(trials[0]) if trials.size else np.int64(0)
    for j in range(positions.size):
        while end <= positions[j]:
            i += 1
            end += trials[i]
        owner[j] = i
    return owner


@_jit
def runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(sorted_values, return_counts=True)`` of values that already ascend."""
    n = sorted_values.size
    values = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    k = -1
    for j in range(n):
        if k < 0 or sorted_values[j] != values[k]:
            k += 1
            values[k] = sorted_values[j]
            counts[k] = 0
        counts[k] += 1
    return values[: k + 1].copy(), counts[: k + 1].copy()


@_jit
def lose_jobs(jobs: np.ndarray, job_wage: np.ndarray, positions: np.ndarray) -> None:
    """Job losses at the trials ``positions`` (ascending), household ``i`` owning ``jobs[i]``.

    Each household loses a job per position it owns, and one left without a job has no wage:
    ``runs(trial_owners(jobs, positions))``, then ``jobs[losers] -= lost`` and
    ``job_wage[losers[jobs[losers] == 0]] = 0``, in one walk.
    """
    n = positions.size
    i = 0
    end = np.int64(jobs[0]) if jobs.size else np.int64(0)
    j = 0
    while j < n:
        while end <= positions[j]:
            i += 1
            end += jobs[i]  # read before this household's jobs change
        lost = 0
        while j < n and positions[j] < end:
            lost += 1
            j += 1
        jobs[i] -= np.int8(lost)
        if jobs[i] == 0:
            job_wage[i] = 0.0


@_jit
def take_jobs(
    owner: np.ndarray,
    jobs: np.ndarray,
    job_wage: np.ndarray,
    skill: np.ndarray,
    new_wage: float,
    floor: float,
    span: float,
) -> None:
    """Jobs found by the households ``owner`` (ascending, one entry per job found).

    :func:`model.engine.dynamics.labour_market`'s update in one walk: each household's wage
    becomes the mean of its old jobs' and the new ones' (``new_wage * (floor + span * skill)``,
    in ``skill``'s float32 as numpy computes it), and its jobs grow by those found.
    """
    n = owner.size
    j = 0
    wage32, floor32, span32 = np.float32(new_wage), np.float32(floor), np.float32(span)
    while j < n:
        i = owner[j]
        found = 0
        while j < n and owner[j] == i:
            found += 1
            j += 1
        wage = wage32 * (floor32 + span32 * skill[i])
        old = np.float64(jobs[i])
        job_wage[i] = (job_wage[i] * old + np.float64(wage) * found) / (old + found)
        jobs[i] += np.int8(found)


@_jit_drawing
def labour_market(
    draws: tuple[int, int, int],
    jobs: np.ndarray,
    job_wage: np.ndarray,
    workers: np.ndarray,
    occupied: np.ndarray,
    is_no_labour: np.ndarray,
    job_access: np.ndarray,
    skill: np.ndarray,
    loss_rate: float,
    finding_rate: float,
    new_wage: float,
    floor: float,
    span: float,
) -> None:
    """The month's labour market in one call, on the stream ``draws``: the same numbers.

    :func:`model.engine.dynamics.labour_market`'s steps in its order: the job losses at the
    geometric positions among every job held; then the seekers (``Households.job_seekers``), the
    positions of their successes at the likeliest seeker's chance (the float32 product
    ``finding_rate * job_access``, at most 1), each kept with a uniform number below its own
    chance over that one, and the jobs taken. ``skill`` is float32.
    """
    total = np.int64(0)
    for i in range(jobs.size):
        total += jobs[i]
    if total:
        positions = compiled_draws.success_positions(draws, total, loss_rate)
        lose_jobs(jobs, job_wage, positions)
    free = np.empty(jobs.size, dtype=np.int16)
    for i in range(jobs.size):
        f = np.int16(workers[i]) - np.int16(jobs[i]) - np.int16(occupied[i])
        free[i] = 0 if f < 0 or is_no_labour[i] else f
    total, access_max = seeker_trials(free, job_access)
    if not total:
        return
    rate = np.float32(finding_rate)
    chance_max = rate * access_max
    if chance_max > 1:
        chance_max = np.float32(1.0)
    p_max = np.float64(chance_max)  # a NaN stays NaN, and success_positions raises
    owner = trial_owners(free, compiled_draws.success_positions(draws, total, p_max))
    kept = 0
    for k in range(owner.size):
        chance = rate * job_access[owner[k]]
        if chance > 1:
            chance = np.float32(1.0)
        if compiled_draws.uniform(draws) < np.float64(chance) / p_max:
            owner[kept] = owner[k]
            kept += 1
    if kept:
        take_jobs(owner[:kept], jobs, job_wage, skill, new_wage, floor, span)


@_jit_drawing
def illness(
    draws: tuple[int, int, int],
    ill_months: np.ndarray,
    medical_oop: np.ndarray,
    probability: np.ndarray,
    insured: np.ndarray,
    months: int,
    reimbursement: float,
    cost: float,
) -> np.ndarray:
    """The month's illness in one call, on the stream ``draws``: the same numbers and results.

    :func:`model.engine.dynamics.illness`'s steps: months still lost count down, this month's
    out-of-pocket costs restart at 0, the ill are drawn as
    :func:`model.engine.dynamics.bernoulli_indices` draws them (the positions of the successes
    at the largest chance, each kept with a uniform number below its own chance over that one),
    and each ill household loses ``months`` and pays ``cost`` less what insurance covers.
    Returns the ill households (ascending).
    """
    n = probability.size
    p_max = 0.0
    for i in range(n):
        ill_months[i] -= ill_months[i] > 0
        medical_oop[i] = 0.0
        p = probability[i]
        if p > p_max or p != p:  # numpy's max: a NaN is the largest
            p_max = p
    if p_max > 1.0:  # a NaN stays NaN, and success_positions raises
        p_max = 1.0
    ill = compiled_draws.success_positions(draws, n, p_max)
    kept = 0
    for k in range(ill.size):
        i = ill[k]
        if compiled_draws.uniform(draws) < probability[i] / p_max:
            ill[kept] = i
            kept += 1
            ill_months[i] = months
            medical_oop[i] = cost * (1 - (reimbursement if insured[i] else 0.0))
    return ill[:kept]


@_jit_drawing
def placement_finds(
    draws: tuple[int, int, int],
    seekers: np.ndarray,
    party_factor: np.ndarray,
    job_access: np.ndarray,
    trained: np.ndarray,
    placement_rate: float,
    firm_multiplier: float,
    trained_multiplier: float,
) -> np.ndarray:
    """The seekers that placement services find a job for this month, on the stream ``draws``.

    :meth:`model.engine.interventions.employment.Employment.respond`'s chance (the placement
    rate times the party's capacity times the job access, times ``firm_multiplier`` (1 without
    firm rewards: exact), times ``trained_multiplier`` for the trained, at most 1) and one
    uniform number per seeker, in the seekers' order: the same numbers and the same households.
    """
    found = np.empty(seekers.size, dtype=np.int64)
    kept = 0
    for k in range(seekers.size):
        i = seekers[k]
        rate = placement_rate * party_factor[i] * np.float64(job_access[i])
        rate = rate * firm_multiplier
        if trained[i]:
            rate = rate * trained_multiplier
        if rate > 1.0:
            rate = 1.0
        if compiled_draws.uniform(draws) < rate:
            found[kept] = i
            kept += 1
    return found[:kept].copy()


@_jit_drawing
def placement_jobs(
    draws: tuple[int, int, int],
    found: np.ndarray,
    jobs: np.ndarray,
    job_wage: np.ndarray,
    skill: np.ndarray,
    placed: np.ndarray,
    new_wage: float,
    floor: float,
    span: float,
    migrant_share: float,
    migrant_premium: float,
) -> None:
    """The placed households' new jobs, on the stream ``draws``: numpy's numbers and wages.

    One uniform number per household of ``found`` (in its order) says whether the job is a
    migrant's; the new job's wage (``new_wage * (floor + span * skill)``, times
    ``migrant_premium`` for a migrant, in ``skill``'s float32 as numpy computes it) joins the
    household's average wage, and its jobs and placements grow by one. ``skill`` is float32.
    """
    wage32, floor32, span32 = np.float32(new_wage), np.float32(floor), np.float32(span)
    premium32 = np.float32(migrant_premium)
    migrant = np.empty(found.size, dtype=np.bool_)
    for k in range(found.size):
        migrant[k] = compiled_draws.uniform(draws) < migrant_share
    for k in range(found.size):
        i = found[k]
        wage = wage32 * (floor32 + span32 * skill[i])
        if migrant[k]:
            wage = wage * premium32
        old = np.float64(jobs[i])
        job_wage[i] = (job_wage[i] * old + np.float64(wage)) / (old + 1)
        jobs[i] += 1
        placed[i] += 1


@_jit
def seeker_trials(free: np.ndarray, job_access: np.ndarray) -> tuple[int, np.float32]:
    """Workers seeking a job in all (``free`` summed), and the largest ``job_access`` of theirs.

    A NaN access makes the largest NaN, as numpy's ``max`` does.
    """
    total = 0
    best = np.float32(-np.inf)
    for i in range(free.size):
        if free[i] > 0:
            total += free[i]
            access = job_access[i]
            if access > best or access != access:
                best = access
    return total, best


@_jit
def triage_queue(
    idx: np.ndarray,
    county: np.ndarray,
    counts: np.ndarray,
    places: np.ndarray,
    triaging: np.ndarray,
    income_pc: np.ndarray,
    line: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates grouped by county, and the triaged places of the triaging counties.

    ``grouped`` is ``idx[np.argsort(county[idx], kind="stable")]`` (a counting sort: each
    county's candidates in their order in ``idx``). ``triaged`` holds, county after county, the
    ``places[c]`` candidates of each triaging county nearest ``line`` in per-capita income, in
    the order of :func:`model.engine.mechanisms.accountability.triage_order`: by distance, ties
    in the candidates' order (the same households in the same order, found by a sampled
    threshold, :func:`_nearest`, or, when a distance is NaN, by numpy's partition). County
    ``c``'s are ``triaged[triaged_ends[c] - n : triaged_ends[c]]``, ``n`` being how many it took.
    """
    n_c = counts.size
    ends = np.cumsum(counts)
    fill = ends - counts
    grouped = np.empty(idx.size, dtype=idx.dtype)
    # each candidate's distance to the line, grouped alike: read in the candidates' order,
    # which is usually ascending, so that the incomes are read front to back
    distances = np.empty(idx.size)
    for j in range(idx.size):
        i = idx[j]
        c = county[i]
        grouped[fill[c]] = i
        if triaging[c]:
            distances[fill[c]] = np.abs(income_pc[i] - line)
        fill[c] += 1
    wanted = 0
    for c in range(n_c):
        if triaging[c]:
            wanted += places[c]
    triaged = np.empty(wanted, dtype=idx.dtype)
    triaged_ends = np.zeros(n_c, dtype=np.int64)
    out = 0
    for c in range(n_c):
        k = places[c]
        triaged_ends[c] = out
        if not triaging[c] or k <= 0:
            continue
        start = ends[c] - counts[c]
        m = counts[c]
        distance = distances[start : start + m]
        unordered = False  # a NaN distance, which only the sorts below order as numpy does
        for j in range(m):
            unordered |= distance[j] != distance[j]
        if k >= m:
            order = np.argsort(distance, kind="mergesort")
        elif unordered:
            kth = np.partition(distance, k - 1)[k - 1]
            near = np.flatnonzero(distance <= kth)  # the nearer ones and the ties, in order
            order = near[np.argsort(distance[near], kind="mergesort")][:k]
        else:
            order = _nearest(distance, k)
        for j in range(order.size):
            triaged[out + j] = grouped[start + order[j]]
        out += order.size
        triaged_ends[c] = out
    return grouped, triaged[:out].copy(), triaged_ends


@_jit
def county_queue(
    idx: np.ndarray,
    county: np.ndarray,
    n_counties: int,
    size: int,
    multiplier: np.ndarray,
    triaging: np.ndarray,
    income_pc: np.ndarray,
    line: float,
    function: int,
    state: int,
) -> tuple[np.ndarray, bool]:
    """The accountability mechanism's whole queue (:meth:`Accountability.queue`) in one pass.

    The places of :func:`county_places`, the grouping and triage of :func:`triage_queue`, then
    county after county the places taken: a triaging county's nearest the line, another's by
    ``Generator.choice(candidates, places, replace=False)`` on the model's stream (``function``,
    ``state``: :func:`model.engine.compiled_draws.stream`), drawn in the same county order as
    the numpy queue. Returns ``(taken, exact)``; when ``exact`` is False (see
    :func:`county_places`) nothing is drawn and numpy's queue must run instead.
    """
    counts, places, exact = county_places(idx, county, n_counties, size, multiplier)
    if not exact:
        return idx[:0].copy(), False
    grouped, triaged, triaged_ends = triage_queue(
        idx, county, counts, places, triaging, income_pc, line
    )
    total = 0
    for c in range(n_counties):
        total += places[c]
    taken = np.empty(total, dtype=idx.dtype)
    out = 0
    end = 0
    for c in range(n_counties):
        start = end
        end += counts[c]
        k = places[c]
        if k <= 0:
            continue
        if triaging[c]:
            for j in range(triaged_ends[c - 1] if c else 0, triaged_ends[c]):
                taken[out] = triaged[j]
                out += 1
        else:
            chosen = compiled_draws.choice_without_replacement(
                function, state, grouped[start:end], k
            )
            for j in range(k):
                taken[out + j] = chosen[j]
            out += k
    return (taken if out == total else taken[:out].copy()), True


@_jit
def _nearest(distance: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``distance`` (no NaN), by distance, ties by position.

    ``0 < k < distance.size``. A threshold from a sorted sample of the distances (about twice
    the ``k``-th's quantile) keeps every distance at or below it; when at least ``k`` are kept,
    the ``k`` smallest and all their ties are among them, so a stable sort of the kept (in
    position order) and its first ``k`` give the exact answer. When fewer are kept, the
    threshold is raised until enough are (at worst, every distance is kept).
    """
    m = distance.size
    step = max(m // _SAMPLE, 1)
    sample = np.sort(distance[::step])
    rank = min(2 * k * sample.size // m + 1, sample.size - 1)
    while True:
        threshold = sample[rank] if rank < sample.size - 1 else np.inf
        kept = 0
        for j in range(m):
            if distance[j] <= threshold:
                kept += 1
        if kept >= k:
            break
        rank = min(2 * rank + 1, sample.size - 1)
    positions = np.empty(kept, dtype=np.int64)
    near = np.empty(kept)
    n = 0
    for j in range(m):
        if distance[j] <= threshold:
            positions[n] = j
            near[n] = distance[j]
            n += 1
    return positions[np.argsort(near, kind="mergesort")[:k]]


#: distances sampled to set :func:`_nearest`'s threshold
_SAMPLE = 64


#: the longest array :func:`numpy_sum` adds (numpy splits longer ones in halves)
PAIRWISE_BLOCK = 128


@_jit
def numpy_sum(a: np.ndarray) -> float:
    """``a.sum()`` of a contiguous float64 array of at most :data:`PAIRWISE_BLOCK`, to the bit.

    numpy's pairwise sum: fewer than 8 values are added in order from 0.0; otherwise eight
    running sums are combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` and the
    rest added in order. The same additions in the same order, so the same float. NaN for a
    longer array (numpy would halve it first).
    """
    n = a.size
    if n > PAIRWISE_BLOCK:
        return np.nan
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return 0.0 + res  # added to numpy's starting 0.0, which turns a sum of -0.0 into 0.0


@_jit
def county_places(
    idx: np.ndarray, county: np.ndarray, n_counties: int, size: int, multiplier: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Candidates by county and their places (:func:`model.engine.mechanisms.accountability.allot`).

    ``counts = np.bincount(county[idx], minlength=n_counties)`` and ``allot(size, counts,
    multiplier)``: each round splits the places still to give over the counties by room x
    multiplier (:func:`model.engine.funding.split_fen`: floors, then the largest remainders,
    ties to the lower county), capped at each county's room. Returns ``(counts, places, exact)``;
    ``exact`` is False (the places unset) when a weight is not finite, the weights sum to zero
    or less (numpy's ``allot`` would never end), a county code is out of range or there are more
    than :data:`PAIRWISE_BLOCK` counties: numpy's ``bincount`` and ``allot`` are left to handle
    those.
    """
    counts = np.zeros(n_counties, dtype=np.int64)
    places = np.zeros(n_counties, dtype=np.int64)
    for j in range(idx.size):
        c = county[idx[j]]
        if c < 0 or c >= n_counties:  # np.bincount's error, or a longer count: numpy's
            return counts, places, False
        counts[c] += 1
    total = 0
    for c in range(n_counties):
        total += counts[c]
    size = min(size, total)
    weights = np.empty(n_counties)
    quota = np.empty(n_counties)
    left = np.empty(n_counties)
    given = 0
    while size > given:
        for c in range(n_counties):
            room = counts[c] - places[c]
            weights[c] = room * multiplier[c] * (1.0 if room > 0 else 0.0)
        whole = numpy_sum(weights)
        if not np.isfinite(whole):
            return counts, places, False
        wanted = size - given
        if whole <= 0:  # split_fen gives nothing: numpy's allot would never end
            return counts, places, False
        floors = 0
        for c in range(n_counties):
            quota[c] = wanted * weights[c] / whole
            extra = np.floor(quota[c])
            left[c] = -(quota[c] - extra)
            floors += np.int64(extra)
        rest = wanted - floors
        order = np.argsort(left, kind="mergesort")
        # numpy's base[order[:rest]] += 1, a negative rest included
        last = max(n_counties + rest, 0) if rest < 0 else min(rest, n_counties)
        bump = np.zeros(n_counties, dtype=np.int64)
        for j in range(last):
            bump[order[j]] = 1
        for c in range(n_counties):
            extra = np.int64(np.floor(quota[c])) + bump[c]
            room = counts[c] - places[c]
            places[c] += min(extra, room)
        given = 0
        for c in range(n_counties):
            given += places[c]
    return counts, places, True


@_jit
def industry_incomes(
    labour: np.ndarray,
    registered: np.ndarray,
    in_village: np.ndarray,
    project_start: np.ndarray,
    project_failed: np.ndarray,
    shares_start: np.ndarray,
    t: int,
    project_lag: int,
    dividend_lag: int,
    project_income: float,
    dividend: float,
    farm_shock: np.ndarray,
    village: np.ndarray,
    uplift: np.ndarray,
    business: np.ndarray,
    property_: np.ndarray,
) -> None:
    """Industry's month (:meth:`model.engine.interventions.industry.Industry.apply`).

    Mature projects that did not fail add ``project_income x farm_shock`` to business income,
    mature shares add ``dividend`` to property income, then every registered household of a
    poor village adds ``business x uplift[village]``: numpy's three passes, in their order.
    The index arrays are household groups, without repeats.
    """
    for i in labour:
        start = project_start[i]
        if start >= 0 and t - start >= project_lag and not project_failed[i]:
            business[i] += project_income * farm_shock[i]
    for i in registered:
        start = shares_start[i]
        if start >= 0 and t - start >= dividend_lag:
            property_[i] += dividend
    for i in in_village:
        business[i] += business[i] * uplift[village[i]]


@_jit
def pupil_subsidies(
    registered: np.ndarray,
    school_children: np.ndarray,
    county: np.ndarray,
    subsidy: float,
    n_counties: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Education's pupils, their month's subsidy and its sum by county.

    ``pupils = registered[school_children[registered] > 0]``, ``amount = children x subsidy /
    12`` and ``np.bincount(county[pupils], amount, n_counties)`` (summed in the pupils' order).
    """
    n = 0
    for i in registered:
        if school_children[i] > 0:
            n += 1
    pupils = np.empty(n, dtype=registered.dtype)
    amount = np.empty(n)
    demand = np.zeros(n_counties)
    k = 0
    for i in registered:
        if school_children[i] > 0:
            pupils[k] = i
            amount[k] = school_children[i] * subsidy / 12
            demand[county[i]] += amount[k]
            k += 1
    return pupils, amount, demand


@_jit
def add_paid_share(
    flow: np.ndarray, items: np.ndarray, amount: np.ndarray, share: np.ndarray, county: np.ndarray
) -> None:
    """``flow[items] += amount x share[county[items]]``: what the budget paid of each amount.

    ``items`` has no repeats (numpy's ``+=`` through an index applies a repeat once, this loop
    once per repeat); callers pass indices from ``flatnonzero`` or the household groups.
    """
    for k in range(items.size):
        i = items[k]
        flow[i] += amount[k] * share[county[i]]


@_jit
def health_claims(
    registered: np.ndarray,
    medical_oop: np.ndarray,
    insured: np.ndarray,
    assisted: np.ndarray,
    kept_share: float,
    cap: float,
    compliant_share: float,
    assistance_share: float,
    county: np.ndarray,
    n_counties: int,
    oop: np.ndarray,
    assist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """This month's insured ill poor, their claims, and the claims' total by county.

    :meth:`model.engine.interventions.health.Health.respond` before its charge: for each
    registered household (in order) with an out-of-pocket cost and insurance, what serious-
    illness insurance leaves (``oop``: the cost times ``kept_share``) and the assistance
    (``assist``: ``oop x compliant_share x assistance_share``, at most what the year's ``cap``
    leaves), written at the household's index; returns the households and the sums by county
    of ``cost - oop + assist``, accumulated in their order as ``np.bincount`` does.
    """
    ill = np.empty(registered.size, dtype=np.int64)
    demand = np.zeros(n_counties)
    n = 0
    for i in registered:
        cost = medical_oop[i]
        if cost > 0 and insured[i]:
            kept = cost * kept_share
            room = cap - assisted[i]
            # numpy's maximum(room, 0) and minimum(a, room): the first unless it is NaN or
            # loses strictly, so that NaNs and signed zeros come out as numpy's do
            room = room if room > 0 or room != room else 0.0
            a = kept * compliant_share * assistance_share
            a = a if a < room or a != a else room
            oop[i] = kept
            assist[i] = a
            demand[county[i]] += cost - kept + a
            ill[n] = i
            n += 1
    return ill[:n].copy(), demand


@_jit
def health_paid(
    ill: np.ndarray,
    share: np.ndarray,
    county: np.ndarray,
    medical_oop: np.ndarray,
    oop: np.ndarray,
    assist: np.ndarray,
    assisted: np.ndarray,
) -> None:
    """What the budget paid of each claim (:func:`health_claims`), off the households' costs.

    ``share`` is the share paid in each county: the insurance part ``(cost - oop) x share`` and
    the assistance ``assist x share``, which also counts towards the year's cap.
    """
    for i in ill:
        s = share[county[i]]
        paid_insurance = (medical_oop[i] - oop[i]) * s
        paid_assist = assist[i] * s
        assisted[i] += paid_assist
        medical_oop[i] -= paid_insurance + paid_assist


@_jit
def finance_incomes(
    labour: np.ndarray,
    loan_start: np.ndarray,
    defaulted: np.ndarray,
    insured: np.ndarray,
    t: int,
    loan_lag: int,
    loan_income: float,
    floor: float,
    farm_shock: np.ndarray,
    business_annual: np.ndarray,
    business: np.ndarray,
) -> None:
    """Finance's month (:meth:`model.engine.interventions.finance.Finance.apply`).

    A running loan (started, not defaulted, under 36 months) past its lag adds
    ``loan_income``; then an insured household whose farm shock is below ``floor`` gets
    ``business_annual / 12 x (floor - shock)``: numpy's two passes, in their order.
    ``labour`` is a household group, without repeats.
    """
    for i in labour:
        start = loan_start[i]
        if start >= 0 and not defaulted[i] and t - start < 36 and t - start >= loan_lag:
            business[i] += loan_income
    for i in labour:
        if insured[i] and farm_shock[i] < floor:
            business[i] += business_annual[i] / 12 * (floor - farm_shock[i])


@_jit_drawing
def loan_month(
    draws: tuple[int, int, int],
    labour: np.ndarray,
    loan_start: np.ndarray,
    defaulted: np.ndarray,
    party_factor: np.ndarray,
    t: int,
    monthly_risk: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The loans paying monthly interest, and those defaulting, on the stream ``draws``.

    :meth:`model.engine.interventions.finance.Finance.enrol`'s month: the running loans (started,
    not defaulted, under 36 months) in their second or third year, in ``labour``'s order; each
    defaults when a uniform number falls below ``monthly_risk x (2 - party_factor)`` (one number
    per loan, in that order), and is marked ``defaulted``. Returns both, as numpy's steps give
    them.
    """
    active = np.empty(labour.size, dtype=np.int64)
    n = 0
    for i in labour:
        start = loan_start[i]
        if start >= 0 and not defaulted[i] and t - start < 36 and t - start >= 12:
            active[n] = i
            n += 1
    default = np.empty(n, dtype=np.int64)
    k = 0
    for j in range(n):
        i = active[j]
        if compiled_draws.uniform(draws) < monthly_risk * (2 - party_factor[i]):
            default[k] = i
            defaulted[i] = True
            k += 1
    return active[:n].copy(), default[:k].copy()


@_jit
def not_started(idx: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``idx[start[idx] < 0]``: the households of ``idx`` (in its order) not yet started."""
    out = np.empty(idx.size, dtype=np.int64)
    n = 0
    for i in idx:
        if start[i] < 0:
            out[n] = i
            n += 1
    return out[:n].copy()


@_jit_drawing
def project_failures(
    draws: tuple[int, int, int],
    labour: np.ndarray,
    project_start: np.ndarray,
    started: int,
    party_factor: np.ndarray,
    failure: float,
    failed: np.ndarray,
) -> None:
    """The projects maturing this month fail or not, on the stream ``draws``.

    :meth:`model.engine.interventions.industry.Industry.enrol`'s maturity: the households of
    ``labour`` whose project started in month ``started``, in that order, each with one uniform
    number against ``failure x (2 - party_factor)`` clipped to [0, 1], as numpy's steps draw.
    """
    for i in labour:
        if project_start[i] == started:
            risk = failure * (2 - party_factor[i])
            if risk < 0:
                risk = 0.0
            elif risk > 1:
                risk = 1.0
            failed[i] = compiled_draws.uniform(draws) < risk


@_jit
def share_pools(
    registered: np.ndarray,
    shares_start: np.ndarray,
    dibao_class: np.ndarray,
    wubao: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The registered households without asset shares: those in social support, the others.

    Each in ``registered``'s order, as ``eligible[social]`` and ``eligible[~social]`` give them.
    """
    first = np.empty(registered.size, dtype=np.int64)
    rest = np.empty(registered.size, dtype=np.int64)
    n_first = n_rest = 0
    for i in registered:
        if shares_start[i] < 0:
            if dibao_class[i] > 0 or wubao[i]:
                first[n_first] = i
                n_first += 1
            else:
                rest[n_rest] = i
                n_rest += 1
    return first[:n_first].copy(), rest[:n_rest].copy()


@_jit_drawing
def social_enrolment(
    draws: tuple[int, int, int],
    no_labour: np.ndarray,
    dibao_class: np.ndarray,
    wubao: np.ndarray,
    excluded: np.ndarray,
    size: np.ndarray,
    elderly: np.ndarray,
    rate: float,
) -> None:
    """Households without labour capacity enrolling in social support, on the stream ``draws``.

    :meth:`model.engine.interventions.social_security.SocialSecurity.enrol`'s first step: each
    household of ``no_labour`` (in its order) in neither support and not excluded draws one
    uniform number; below ``rate`` it enrols, a lone elderly person in five-guarantee support,
    the others in dibao class 1.
    """
    for i in no_labour:
        if dibao_class[i] > 0 or wubao[i] or excluded[i]:
            continue
        if compiled_draws.uniform(draws) < rate:
            if size[i] == 1 and elderly[i] >= 1:
                wubao[i] = True
            else:
                dibao_class[i] = 1


@_jit_drawing
def dibao_take_up(
    draws: tuple[int, int, int],
    below: np.ndarray,
    above: np.ndarray,
    take_up: float,
    inclusion_error: float,
    chronic: np.ndarray,
    disabled: np.ndarray,
    dibao_class: np.ndarray,
) -> None:
    """Labour-capable candidates taking up dibao classes 2 and 3, on the stream ``draws``.

    One uniform number for each of ``below`` (kept under ``take_up``), then one for each of
    ``above`` (kept under ``inclusion_error``), as numpy draws them; a household taken gets
    class 2 with a chronic illness or a disability, else class 3.
    """
    for k in range(below.size + above.size):
        i = below[k] if k < below.size else above[k - below.size]
        chance = take_up if k < below.size else inclusion_error
        if compiled_draws.uniform(draws) < chance:
            dibao_class[i] = 2 if chronic[i] or disabled[i] else 3


@_jit_drawing
def skill_courses_done(
    draws: tuple[int, int, int],
    ends: np.ndarray,
    t: int,
    party_factor: np.ndarray,
    completion: float,
    trained: np.ndarray,
    skill: np.ndarray,
    gain: float,
) -> None:
    """Training that ends in month ``t``: who completes it, on the stream ``draws``.

    :meth:`model.engine.interventions.employment.Employment.enrol`'s first step: each household
    whose training ends now (ascending) draws one uniform number against ``completion x
    party_factor``; one that completes is trained and its skill grows by ``gain``, at most 1,
    in ``skill``'s float32 as numpy computes it. ``skill`` is float32.
    """
    gain32 = np.float32(gain)
    for i in range(ends.size):
        if ends[i] == t and compiled_draws.uniform(draws) < completion * party_factor[i]:
            trained[i] = True
            grown = skill[i] + gain32
            skill[i] = np.float32(1.0) if grown > 1 else grown


@_jit_drawing
def education_month(
    draws: tuple[int, int, int],
    registered: np.ndarray,
    in_school: np.ndarray,
    party_factor: np.ndarray,
    return_rate: float,
    vocational_ends: np.ndarray,
    t: int,
    skill: np.ndarray,
    gain: float,
    school_children: np.ndarray,
    with_places: bool,
) -> np.ndarray:
    """Education's enrolment steps before the queue, on the stream ``draws``.

    :meth:`model.engine.interventions.education.Education.enrol`'s order: each registered
    household with a child out of school draws one uniform number (in ``registered``'s order)
    and the child returns below ``return_rate x party_factor``; the vocational places ending in
    month ``t`` add ``gain`` to skill (at most 1, in ``skill``'s float32 as numpy computes it);
    and, when ``with_places``, the households eligible for a place (a school-age child, never
    placed) are returned, else none. ``skill`` is float32.
    """
    for i in registered:
        if not in_school[i] and compiled_draws.uniform(draws) < return_rate * party_factor[i]:
            in_school[i] = True
    gain32 = np.float32(gain)
    eligible = np.empty(registered.size if with_places else 0, dtype=np.int64)
    n = 0
    for i in registered:
        if vocational_ends[i] == t:
            grown = skill[i] + gain32
            skill[i] = np.float32(1.0) if grown > 1 else grown
        if with_places and school_children[i] > 0 and vocational_ends[i] < 0:
            eligible[n] = i
            n += 1
    return eligible[:n].copy()


@_jit
def posts_lost(
    post: np.ndarray, workers: np.ndarray, jobs: np.ndarray, occupied: np.ndarray
) -> int:
    """Posts lost by households whose workers are all taken otherwise; the posts still held.

    A holder of ``post`` with fewer workers than jobs and posts held loses the post, which
    frees its place in ``occupied``: ``gone = holders[workers < jobs + occupied]``, then
    ``post[gone] = False`` and ``occupied[gone] -= 1``, in one walk (each holder reads its own
    counts only).
    """
    held = 0
    for i in range(post.size):
        if post[i]:
            if workers[i] < jobs[i] + occupied[i]:
                post[i] = False
                occupied[i] -= 1
            else:
                held += 1
    return held


@_jit
def housing_month(
    registered: np.ndarray,
    safe_at: np.ndarray,
    t: int,
    housing_safe: np.ndarray,
    with_queue: bool,
) -> np.ndarray:
    """Houses made safe in month ``t``, and the unsafe ones not yet in the works.

    :meth:`model.engine.interventions.housing.Housing.enrol`'s first steps in one pass over
    ``registered``: ``housing_safe`` set where the works end now; when ``with_queue``, the
    households still unsafe with no works started, in ``registered``'s order (else none).
    """
    unsafe = np.empty(registered.size if with_queue else 0, dtype=np.int64)
    n = 0
    for i in registered:
        if safe_at[i] == t:
            housing_safe[i] = True
        if with_queue and not housing_safe[i] and safe_at[i] < 0:
            unsafe[n] = i
            n += 1
    return unsafe[:n].copy()


@_jit
def with_job_seekers(
    idx: np.ndarray,
    workers: np.ndarray,
    jobs: np.ndarray,
    occupied: np.ndarray,
    no_labour: np.ndarray,
) -> np.ndarray:
    """``idx[job_seekers_of(idx) > 0]``: workers without a job or post, in labour households."""
    keep = np.empty(idx.size, dtype=idx.dtype)
    n = 0
    for i in idx:
        if not no_labour[i] and np.int64(workers[i]) - jobs[i] - occupied[i] > 0:
            keep[n] = i
            n += 1
    return keep[:n].copy()


@_jit
def dibao_candidates(
    labour: np.ndarray,
    last_month: np.ndarray,
    social_paid: np.ndarray,
    size: np.ndarray,
    dibao_class: np.ndarray,
    excluded: np.ndarray,
    standard: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Social security's labour-capable candidates (:meth:`SocialSecurity.enrol`).

    ``own_pc = 12 x (last_month - social_paid) / size`` of each household of ``labour``, and the
    households of ``labour`` outside dibao and not excluded whose ``own_pc`` is below
    ``standard`` and at or above it (each in ``labour``'s order).
    """
    own_pc = np.empty(labour.size)
    below = np.empty(labour.size, dtype=labour.dtype)
    above = np.empty(labour.size, dtype=labour.dtype)
    n_below = 0
    n_above = 0
    for k in range(labour.size):
        i = labour[k]
        own = 12 * (last_month[i] - social_paid[i]) / size[i]
        own_pc[k] = own
        if dibao_class[i] == 0 and not excluded[i]:
            if own < standard:
                below[n_below] = i
                n_below += 1
            elif own >= standard:  # neither when own is NaN, as numpy's two masks
                above[n_above] = i
                n_above += 1
    return own_pc, below[:n_below].copy(), above[:n_above].copy()


@_jit
def register_counts(
    reg: np.ndarray,
    size: np.ndarray,
    status: np.ndarray,
    exited_code: int,
    jobs: np.ndarray,
    workers: np.ndarray,
) -> tuple[int, int, int, int]:
    """People, exited people, jobs and workers of the households ``reg`` (exact integers)."""
    people = 0
    exited = 0
    n_jobs = 0
    n_workers = 0
    for i in reg:
        people += size[i]
        if status[i] == exited_code:
            exited += size[i]
        n_jobs += jobs[i]
        n_workers += workers[i]
    return people, exited, n_jobs, n_workers


@_jit
def social_and_ill_counts(
    dibao_class: np.ndarray, wubao: np.ndarray, ill_months: np.ndarray
) -> tuple[int, int]:
    """Households in dibao or five-guarantee support, and households ill this month."""
    social = 0
    ill = 0
    for i in range(dibao_class.size):
        if dibao_class[i] > 0 or wubao[i]:
            social += 1
        if ill_months[i] > 0:
            ill += 1
    return social, ill


@_jit
def add_own_share(flow: np.ndarray, items: np.ndarray, share: float) -> None:
    """``flow[items] += flow[items] x share`` (``items`` without repeats)."""
    for i in items:
        flow[i] += flow[i] * share


@_jit
def month_flows(
    wage: np.ndarray,
    business: np.ndarray,
    property_: np.ndarray,
    transfer: np.ndarray,
    medical: np.ndarray,
    income_row: np.ndarray,
    medical_row: np.ndarray,
    components: np.ndarray,
) -> None:
    """Step 7's bookkeeping in one pass (:meth:`model.engine.households.Households.close_month`).

    ``income_row = ((wage + business) + property) + transfer`` as ``monthly_income`` adds them,
    ``medical_row = medical``, and each of the four flows added to its row of ``components``.
    """
    for i in range(wage.size):
        w = wage[i]
        b = business[i]
        p = property_[i]
        t = transfer[i]
        income_row[i] = w + b + p + t
        medical_row[i] = medical[i]
        components[0, i] += w
        components[1, i] += b
        components[2, i] += p
        components[3, i] += t


#: the largest int64: amounts in fen whose products could pass it leave the kernel to Python
_MAX_FEN = np.iinfo(np.int64).max


@_jit
def spend_shares(
    held: np.ndarray, demand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """What each source pays of each county's demand (:meth:`model.engine.funding.Ledger.spend`).

    ``held`` is sources x counties (fen each source holds for the use), ``demand`` the fen
    asked by county (nothing where not positive). Each county is covered up to what its
    sources hold; each source pays ``covered * held // total`` and the few fen of rounding go
    one by one to the source with most left (the first of equals), as the ledger's integer
    arithmetic does.

    Returns:
        ``(take, paying, covered, rest, exact)``: fen each source pays in each county, the
        number of counties each source pays in, fen covered and fen left unpaid by county, and
        whether the arithmetic was exact; False when some product could pass the int64 range
        (the caller must then use Python integers).
    """
    n_sources, n_counties = held.shape
    take = np.zeros((n_sources, n_counties), dtype=np.int64)
    paying = np.zeros(n_sources, dtype=np.int64)
    covered = np.zeros(n_counties, dtype=np.int64)
    rest = np.zeros(n_counties, dtype=np.int64)
    for c in range(n_counties):
        wanted = demand[c]
        if wanted <= 0:
            continue
        rest[c] = wanted
        total = 0
        for s in range(n_sources):
            h = held[s, c]
            if (h > 0 and total > _MAX_FEN - h) or (h < 0 and total < -_MAX_FEN - 1 - h):
                return take, paying, covered, rest, False
            total += h
        cover = wanted if wanted < total else total
        if cover <= 0:
            continue
        paid = 0
        for s in range(n_sources):
            h = held[s, c]
            if h != 0 and cover > _MAX_FEN // abs(h):
                return take, paying, covered, rest, False
            take[s, c] = cover * h // total
            paid += take[s, c]
        for _ in range(cover - paid):
            richest = 0
            most = held[0, c] - take[0, c]
            for s in range(1, n_sources):
                left = held[s, c] - take[s, c]
                if left > most:
                    richest = s
                    most = left
            take[richest, c] += 1
        for s in range(n_sources):
            if take[s, c] != 0:
                paying[s] += 1
        covered[c] = cover
        rest[c] = wanted - cover
    return take, paying, covered, rest, True


#: The ledger's codes of the kinds of movement these kernels record
#: (:data:`model.engine.funding.KINDS`).
RECEIVED, SPENT, LEAKED, UNSPENT, REALLOCATED_OUT, REALLOCATED_IN = range(6)

#: the flags :func:`ledger_screen` sets
LEDGER_GAP, LEDGER_NEGATIVE, LEDGER_MOVES_UNEQUAL = 1, 2, 4


@_jit
def ledger_screen(totals: np.ndarray, store: np.ndarray, pot_codes: np.ndarray) -> int:
    """The ledger's monthly checks in one pass: which of them need numpy to say what is wrong.

    Flags: :data:`LEDGER_GAP` when some source's ``received - spent - leaked - unspent`` is not
    what its pots hold (``pot_codes[i]`` is the source code of pot ``i``), :data:`LEDGER_NEGATIVE`
    when a pot holds less than zero, :data:`LEDGER_MOVES_UNEQUAL` when some source's money moved
    out differs from its money moved in. Integer arithmetic, wrapping as numpy's does.
    """
    n_sources = totals.shape[0]
    gaps = np.empty(n_sources, dtype=np.int64)
    flags = 0
    for s in range(n_sources):
        gaps[s] = totals[s, RECEIVED] - totals[s, SPENT] - totals[s, LEAKED] - totals[s, UNSPENT]
        if totals[s, REALLOCATED_OUT] != totals[s, REALLOCATED_IN]:
            flags |= LEDGER_MOVES_UNEQUAL
    for i in range(pot_codes.size):
        held = np.int64(0)
        for u in range(store.shape[1]):
            for c in range(store.shape[2]):
                value = store[i, u, c]
                held += value
                if value < 0:
                    flags |= LEDGER_NEGATIVE
        gaps[pot_codes[i]] -= held
    for s in range(n_sources):
        if gaps[s] != 0:
            flags |= LEDGER_GAP
    return flags


#: The ledger's record, as the kernels take it: ``(heads, amounts, totals, seen)``, the rows of
#: the movements (source, use, kind, year, month codes; fen by county), the totals by source and
#: kind, and whether each total was ever recorded (:class:`model.engine.funding.Ledger`).
Record = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@_jit
def _book(
    record: Record, n: int, head: tuple[int, int, int, int, int], fen: np.ndarray, total: int
) -> int:
    """Record one movement in row ``n`` of the ledger's buffers; returns the next free row."""
    heads, amounts, totals, seen = record
    for k in range(5):
        heads[n, k] = head[k]
    for c in range(fen.size):
        amounts[n, c] = fen[c]
    totals[head[0], head[2]] += total
    seen[head[0], head[2]] = True
    return n + 1


@_jit
def ledger_spend(
    store: np.ndarray,
    pots: np.ndarray,
    codes: np.ndarray,
    u: int,
    use_code: int,
    demand: np.ndarray,
    sector_code: int,
    year: int,
    month: int,
    record: Record,
    n: int,
) -> tuple[np.ndarray, int, bool]:
    """:meth:`model.engine.funding.Ledger.spend` in one pass: pay, take from the pots, record.

    ``store[pots[s], u]`` is what pot ``s`` holds for the use by county and ``codes[s]`` its
    code in the record. Each paying pot's share (:func:`spend_shares`) is taken from it and
    recorded as spent; with a sector budget (``sector_code`` >= 0) what the pots left unpaid is
    recorded as received and spent by it. The buffers must have room for ``pots.size + 2`` more
    rows.

    Returns:
        ``(paid, n, exact)``: fen paid by county, the next free row, and False (with nothing
        changed) when an amount or a total could pass the int64 range, for Python to pay.
    """
    n_pots = pots.size
    n_counties = demand.size
    totals = record[2]
    held = np.empty((n_pots, n_counties), dtype=np.int64)
    for s in range(n_pots):
        for c in range(n_counties):
            held[s, c] = store[pots[s], u, c]
    take, paying, paid, rest, exact = spend_shares(held, demand)
    if not exact:
        return paid, n, False
    sums = np.zeros(n_pots, dtype=np.int64)
    for s in range(n_pots):
        for c in range(n_counties):
            sums[s] += take[s, c]  # each at most what the county's pot holds
        if sums[s] > _MAX_FEN - totals[codes[s], SPENT]:
            return paid, n, False
    unpaid = 0
    if sector_code >= 0:
        for c in range(n_counties):
            if rest[c] > _MAX_FEN - unpaid:
                return paid, n, False
            unpaid += rest[c]
        if unpaid > _MAX_FEN - max(totals[sector_code, RECEIVED], totals[sector_code, SPENT]):
            return paid, n, False
    for s in range(n_pots):
        if paying[s]:
            for c in range(n_counties):
                store[pots[s], u, c] -= take[s, c]
            n = _book(record, n, (codes[s], use_code, SPENT, year, month), take[s], sums[s])
    if sector_code >= 0 and unpaid:
        n = _book(record, n, (sector_code, 0, RECEIVED, year, month), rest, unpaid)
        n = _book(record, n, (sector_code, use_code, SPENT, year, month), rest, unpaid)
        for c in range(n_counties):
            paid[c] += rest[c]
    return paid, n, True


@_jit
def ledger_charge(
    store: np.ndarray,
    pots: np.ndarray,
    codes: np.ndarray,
    u: int,
    use_code: int,
    demand_yuan: np.ndarray,
    sector_code: int,
    year: int,
    month: int,
    record: Record,
    n: int,
) -> tuple[np.ndarray, int, int, bool]:
    """A measure's charge (``Measure.charge_totals``): yuan to fen, :func:`ledger_spend`, shares.

    Each county's demand in yuan is rounded to the nearest fen (``np.rint`` of yuan x 100, as
    :func:`model.engine.funding.to_fen`); nothing is paid or recorded when every demand rounds
    to 0. Arguments after ``demand_yuan`` as :func:`ledger_spend`.

    Returns:
        ``(share, fen, n, exact)``: the share of each county's demand paid (1 where paid in full
        or nothing was asked, paid / demand where short), the fen paid in all, the next free row,
        and False (nothing changed) when a demand is not finite or too large for int64, or
        :func:`ledger_spend` leaves the payment to Python.
    """
    n_counties = demand_yuan.size
    share = np.ones(n_counties)
    demand = np.zeros(n_counties, dtype=np.int64)
    asked = False
    wanted = 0  # what may be paid in all: the positive demands (paid never passes them)
    for c in range(n_counties):
        fen = np.rint(demand_yuan[c] * 100.0)
        if not (-9.2e18 < fen < 9.2e18):  # NaN, infinite or past int64: numpy's cast decides
            return share, 0, n, False
        demand[c] = np.int64(fen)
        asked |= demand[c] != 0
        if demand[c] > 0:
            if demand[c] > _MAX_FEN - wanted:  # the total paid could pass int64: Python pays
                return share, 0, n, False
            wanted += demand[c]
    if not asked:
        return share, 0, n, True
    paid, n, exact = ledger_spend(
        store, pots, codes, u, use_code, demand, sector_code, year, month, record, n
    )
    if not exact:
        return share, 0, n, False
    total = 0
    for c in range(n_counties):
        total += paid[c]
        if paid[c] != demand[c]:
            share[c] = paid[c] / demand[c]
    return share, total, n, True


@_jit
def split_fen(total: int, weights: np.ndarray) -> np.ndarray:
    """:func:`model.engine.funding.split_fen`: ``total`` fen over ``weights`` (largest remainder).

    numpy's steps in its order: the quotas ``total * w / w.sum()`` (a pairwise sum, as numpy's,
    so at most :data:`PAIRWISE_BLOCK` weights), their floors, then one more fen to each of the
    ``rest`` largest remainders, ties to the lower index (``base[order[:rest]] += 1``).
    """
    n = weights.size
    base = np.zeros(n, dtype=np.int64)
    whole = numpy_sum(weights)
    if total == 0 or whole <= 0:
        return base
    left = np.empty(n)
    floors = 0
    for i in range(n):
        quota = total * weights[i] / whole
        base[i] = np.int64(np.floor(quota))
        left[i] = -(quota - base[i])
        floors += base[i]
    rest = total - floors
    order = np.argsort(left, kind="mergesort")
    last = max(n + rest, 0) if rest < 0 else min(rest, n)
    for j in range(last):
        base[order[j]] += 1
    return base


@_jit
def ledger_receive(
    store: np.ndarray,
    pot: int,
    code: int,
    by_county: np.ndarray,
    leak_share: float,
    weights: np.ndarray,
    year: int,
    month: int,
    record: Record,
    n: int,
) -> tuple[int, bool]:
    """:meth:`model.engine.funding.Ledger.receive` in one pass.

    ``by_county`` fen arrive in pot ``store[pot]`` (source ``code``): recorded as received, the
    floor of ``leak_share`` of each county's leaks, and the rest is split over the uses by
    ``weights`` (:func:`split_fen`); each county's leak is split alike and recorded, county by
    county and use by use. Returns ``(next free row, exact)``; when a total would pass int64
    nothing changes and ``exact`` is False (the ledger's Python then says so). The buffers must
    have room for ``1 + by_county.size * weights.size`` more rows.
    """
    heads, amounts, totals, seen = record
    n_c, n_uses = by_county.size, weights.size
    leaked = np.zeros(n_c, dtype=np.int64)
    received = np.int64(0)
    leak_total = np.int64(0)
    limit = 2.0**62
    for c in range(n_c):  # every check before the first change
        fen = by_county[c]
        loss = fen * leak_share
        if abs(fen) >= 2**62 or not abs(loss) < limit:
            return n, False
        leaked[c] = np.int64(np.floor(loss))
        received += fen
        leak_total += leaked[c]
        if abs(received) >= 2**62 or abs(leak_total) >= 2**62:
            return n, False
    for kind, total in ((RECEIVED, received), (LEAKED, leak_total)):
        now = totals[code, kind]
        if (total > 0 and now > _MAX_FEN - total) or (total < 0 and now < -_MAX_FEN - 1 - total):
            return n, False
    any_fen = False
    for c in range(n_c):
        any_fen |= by_county[c] != 0
    if any_fen:
        heads[n, 0], heads[n, 1], heads[n, 2], heads[n, 3], heads[n, 4] = (
            code,
            0,
            RECEIVED,
            year,
            month,
        )
        for c in range(n_c):
            amounts[n, c] = by_county[c]
        n += 1
    totals[code, RECEIVED] += received
    seen[code, RECEIVED] = True
    for c in range(n_c):
        if by_county[c] == 0:
            continue
        kept = split_fen(by_county[c] - leaked[c], weights)
        for u in range(n_uses):
            store[pot, u, c] += kept[u]
        if leaked[c] == 0:
            continue
        lost = split_fen(leaked[c], weights)
        for u in range(n_uses):
            if lost[u] == 0:
                continue
            heads[n, 0], heads[n, 1], heads[n, 2], heads[n, 3], heads[n, 4] = (
                code,
                u + 1,
                LEAKED,
                year,
                month,
            )
            amounts[n, :] = 0
            amounts[n, c] = lost[u]
            totals[code, LEAKED] += lost[u]
            n += 1
    seen[code, LEAKED] = True
    return n, True


@_jit
def ledger_reallocate(
    store: np.ndarray,
    pots: np.ndarray,
    codes: np.ndarray,
    county: int,
    out_fen: np.ndarray,
    in_weights: np.ndarray,
    year: int,
    month: int,
    record: Record,
    n: int,
) -> tuple[int, int, bool]:
    """:meth:`model.engine.funding.Ledger.reallocate` of one county in one pass.

    ``out_fen[u]`` is what use ``u`` gives up, taken from the pots ``store[pots[s]]`` in
    proportion to what each holds for it in ``county`` (:func:`split_fen`); each pot's money
    moved is split over the uses by ``in_weights``, and both sides are recorded, pot by pot
    (moved out, then moved in, use by use), as the ledger records them. Returns ``(moved, next
    free row, exact)``; when a use gives up more than it holds or a total would pass int64,
    nothing changes and ``exact`` is False (the ledger's Python then says what is wrong).
    The buffers must have room for ``2 * pots.size * out_fen.size`` more rows.
    """
    heads, amounts, totals, seen = record
    n_pots, n_uses = pots.size, out_fen.size
    taken = np.zeros((n_pots, n_uses), dtype=np.int64)
    held = np.empty(n_pots)
    for u in range(n_uses):
        fen = out_fen[u]
        if fen <= 0:
            continue
        whole = 0
        for k in range(n_pots):
            h = store[pots[k], u, county]
            held[k] = h
            whole += h
        if fen > whole:
            return 0, n, False
        share = split_fen(fen, held)
        for k in range(n_pots):
            taken[k, u] = share[k]
    sums = np.zeros(n_pots, dtype=np.int64)
    received = np.zeros((n_pots, n_uses), dtype=np.int64)
    for k in range(n_pots):  # every check before the first change
        for u in range(n_uses):
            sums[k] += taken[k, u]
        if not np.any(taken[k]):
            continue
        received[k] = split_fen(sums[k], in_weights)
        given = 0
        for u in range(n_uses):
            given += received[k, u]
        if (
            sums[k] < 0
            or given != sums[k]
            or totals[codes[k], REALLOCATED_OUT] > _MAX_FEN - sums[k]
            or totals[codes[k], REALLOCATED_IN] > _MAX_FEN - sums[k]
        ):
            return 0, n, False
    moved = 0
    for k in range(n_pots):
        if not np.any(taken[k]):
            continue
        for u in range(n_uses):
            store[pots[k], u, county] += received[k, u] - taken[k, u]
        for kind, fen in ((REALLOCATED_OUT, taken[k]), (REALLOCATED_IN, received[k])):
            booked = False
            for u in range(n_uses):
                if fen[u] == 0:
                    continue
                heads[n, 0], heads[n, 1], heads[n, 2] = codes[k], u + 1, kind
                heads[n, 3], heads[n, 4] = year, month
                amounts[n, :] = 0
                amounts[n, county] = fen[u]
                totals[codes[k], kind] += fen[u]
                n += 1
                booked = True
            if booked:
                seen[codes[k], kind] = True
        moved += sums[k]
    return moved, n, True


@_jit
def ledger_take(
    store: np.ndarray,
    pots: np.ndarray,
    codes: np.ndarray,
    u: int,
    use_code: int,
    county: np.ndarray,
    unit_fen: int,
    unit_cost: float,
    unlimited: int,
    unmet_fen: np.ndarray,
    sector_code: int,
    year: int,
    month: int,
    record: Record,
    n: int,
) -> tuple[np.ndarray, int, int, int, bool]:
    """``Measure.take_within_budget`` in one pass: who fits the budget, and their charge.

    Candidates come in priority order with their ``county``; each costs ``unit_fen`` against
    the budget (what the pots of the use hold, or ``unlimited`` fen when that is not negative:
    a measure paid by a sector budget), and a county
    takes the candidates whose cumulative cost in it fits (:func:`select_within_budget
    <model.engine.funding.select_within_budget>`); the others' cost is added to ``unmet_fen``.
    Those taken are charged ``unit_cost`` yuan each (summed by county in their order, as
    ``np.bincount`` does) through :func:`ledger_charge`. Arguments from ``sector_code`` as
    :func:`ledger_spend`.

    Returns:
        ``(mask, taken, fen, n, exact)``: the candidates taken, how many, the fen paid, the
        next free row, and False (nothing changed) when :func:`ledger_charge` leaves the
        charge to numpy's or Python's arithmetic.
    """
    n_counties = unmet_fen.size
    for i in range(county.size):  # a county code out of range: numpy's path says so
        if county[i] < 0 or county[i] >= n_counties:
            return np.zeros(county.size, dtype=np.bool_), 0, 0, n, False
    budget = np.zeros(n_counties, dtype=np.int64)
    for c in range(n_counties):
        if unlimited >= 0:
            budget[c] = unlimited
        else:
            for p in pots:
                budget[c] += store[p, u, c]
    running = np.zeros(n_counties, dtype=np.int64)
    mask = np.zeros(county.size, dtype=np.bool_)
    demand = np.zeros(n_counties)
    unmet = np.zeros(n_counties, dtype=np.int64)
    taken = 0
    for i in range(county.size):
        c = county[i]
        running[c] += unit_fen
        if running[c] <= budget[c]:
            mask[i] = True
            demand[c] += unit_cost
            taken += 1
        else:
            unmet[c] += unit_fen
    if not taken:
        for c in range(n_counties):
            unmet_fen[c] += unmet[c]
        return mask, 0, 0, n, True
    _, fen, n, exact = ledger_charge(
        store, pots, codes, u, use_code, demand, sector_code, year, month, record, n
    )
    if exact:
        for c in range(n_counties):
            unmet_fen[c] += unmet[c]
    return mask, taken, fen, n, exact


#: Positions in the counts :func:`household_screen` returns.
SCREEN_FIELDS = (
    "unknown_group", "unknown_dibao", "register_mismatch", "unknown_status", "exit_year_mismatch",
    "unregistered_exited", "negative_jobs", "jobs_over_workers", "jobs_without_labour",
    "empty_households", "people", "registered_people", "registered_households",
    "registered_not_exited_people",
)  # fmt: skip


@_jit
def household_screen(
    group: np.ndarray,
    dibao_class: np.ndarray,
    registered: np.ndarray,
    status: np.ndarray,
    exit_year: np.ndarray,
    size: np.ndarray,
    jobs: np.ndarray,
    workers: np.ndarray,
    codes: np.ndarray,
) -> np.ndarray:
    """The counts of the monthly household invariants in one pass (:data:`SCREEN_FIELDS`).

    ``codes``: the number of groups, the largest dibao class, the codes non-poor, poor and
    no labour capacity, the lowest and highest status code of a registered household, the code
    exited.
    """
    n_groups, dibao_max, non_poor, poor, no_labour, status_lo, status_hi, exited = (
        codes[0],
        codes[1],
        codes[2],
        codes[3],
        codes[4],
        codes[5],
        codes[6],
        codes[7],
    )
    # one local count per field (counts in an array would be stored to memory every household)
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = people = reg_people = reg_households = 0
    reg_not_exited_people = 0
    for i in range(group.size):
        g = group[i]
        reg = registered[i]
        st = status[i]
        has_exit_year = exit_year[i] != 0
        j = jobs[i]
        w = workers[i]
        s = size[i]
        d = dibao_class[i]
        c0 += (g < 0) | (g >= n_groups)
        c1 += (d < 0) | (d > dibao_max)
        c2 += reg != (g != non_poor)
        is_poor = st == poor
        c3 += reg & ((st < status_lo) | (st > status_hi))
        c4 += reg & (is_poor == has_exit_year)
        c5 += (not reg) & ((not is_poor) | has_exit_year)
        c6 += (j < 0) | (w < 0)
        c7 += j > w
        c8 += (g == no_labour) & (j > 0)
        c9 += s < 1
        people += s
        reg_people += s * reg
        reg_households += reg
        reg_not_exited_people += s * (reg & (st != exited))
    out = np.empty(14, dtype=np.int64)
    for k, count in enumerate(
        (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, people, reg_people, reg_households,
         reg_not_exited_people)
    ):  # fmt: skip
        out[k] = count
    return out


@_jit
def all_finite(values: np.ndarray) -> bool:
    """Whether no value is NaN or infinite (``x - x`` is 0 exactly for a finite ``x``)."""
    bad = False
    for i in range(values.size):
        x = values[i]
        bad |= (x - x) != 0.0
    return not bad


def warm() -> None:
    """Load every kernel for the dtypes of the household arrays, by calling it on empty ones.

    A kernel is loaded from numba's cache (or compiled, the first time on a machine) at its
    first call for a set of argument types; :mod:`model.engine.kernels` calls this once per
    process, so that the monthly step never waits for it. The dtypes are those
    :mod:`model.engine.population` gives the households; were one to change, the kernel would
    compile at its first real call instead (slower, with the same results).
    """
    f8, i8 = np.zeros(0), np.zeros(0, dtype=np.int64)
    flag, small = np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int8)
    people = np.zeros(0, dtype=np.int16)
    social_payments(
        flag, flag, small, 0.0, 0.0, flag, small, people, f8, f8, f8, f8, 0.0, 0.0, 0.0, small,
        1, f8, f8,
    )  # fmt: skip
    base_flows(small, f8, f8, f8, f8, f8, small, small, f8, f8, f8, f8)
    trial_owners(small, i8)  # jobs
    trial_owners(people, i8)  # job seekers
    runs(i8)
    lose_jobs(small, f8, i8)
    take_jobs(i8, small, f8, np.zeros(0, dtype=np.float32), 0.0, 0.0, 0.0)
    seeker_trials(people, np.zeros(0, dtype=np.float32))
    triage_queue(i8, small, i8, i8, flag, f8, 0.0)
    county_places(i8, small, 0, 0, f8)
    county_queue(i8, small, 0, 0, f8, flag, f8, 0.0, *stream(np.random.default_rng(0)))
    numpy_sum(f8)
    month_flows(f8, f8, f8, f8, f8, f8, f8, np.zeros((4, 0)))
    spend_shares(np.zeros((0, 0), dtype=np.int64), i8)
    group = i8.copy()  # the household groups' indices are read-only
    group.flags.writeable = False
    fixed_flag = flag.copy()
    fixed_flag.flags.writeable = False
    start = np.zeros(0, dtype=np.int32)
    industry_incomes(
        group, group, group, start, flag, start, 0, 0, 0, 0.0, 0.0, f8, people, f8, f8, f8
    )
    pupil_subsidies(group, small, small, 0.0, 1)
    add_paid_share(f8, i8, f8, f8, small)
    finance_incomes(group, start, flag, flag, 0, 0, 0.0, 0.0, f8, f8, f8)
    not_started(group, start)  # the groups (read-only)
    not_started(i8, start)  # the job seekers
    posts_lost(flag, small, small, small)
    health_claims(group, f8, flag, f8, 0.0, 0.0, 0.0, 0.0, small, 1, f8, f8)
    health_paid(i8, f8, small, f8, f8, f8, f8)
    housing_month(group, start, 0, flag, False)
    share_pools(group, start, small, flag)
    with_job_seekers(group, small, small, small, fixed_flag)
    dibao_candidates(group, f8, f8, people, small, flag, 0.0)
    register_counts(group, people, small, 0, small, small)
    social_and_ill_counts(small, flag, small)
    add_own_share(f8, i8, 0.0)
    household_screen(small, small, flag, small, people, people, small, small, i8)
    heads, seen = np.zeros((0, 5), dtype=np.int64), np.zeros((0, 0), dtype=bool)
    store, totals = np.zeros((0, 0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int64)
    record = (heads, totals, totals, seen)
    ledger_spend(store, i8, i8, 0, 0, i8, -1, 0, 0, record, 0)
    ledger_charge(store, i8, i8, 0, 0, f8, -1, 0, 0, record, 0)
    for county in (i8, small):  # the villages' counties, the households'
        ledger_take(store, i8, i8, 0, 0, county, 0, 0.0, -1, i8, -1, 0, 0, record, 0)
    ledger_screen(np.zeros((0, 6), dtype=np.int64), store, i8)
    ledger_reallocate(store, i8, i8, 0, i8, f8, 0, 0, record, 0)
    ledger_receive(store, 0, 0, i8, 0.0, f8, 0, 0, record, 0)
    all_finite(f8)
    all_finite(np.zeros(0, dtype=np.float32))
    compiled_draws.warm()
    rng = np.random.default_rng(0)  # kept alive while its addresses are used; nothing is drawn
    draws = numpy_stream(rng)
    if draws is not None:
        f4 = np.zeros(0, dtype=np.float32)
        labour_market(draws, small, f8, small, small, fixed_flag, f4, f4, 0.0, 0.0, 0.0, 0.0, 0.0)
        illness(draws, small, f8, f8, flag, 0, 0.0, 0.0)
        placement_finds(draws, i8, f8, f4, flag, 0.0, 0.0, 0.0)
        loan_month(draws, group, start, flag, f8, 0, 0.0)
        project_failures(draws, group, start, 0, f8, 0.0, flag)
        social_enrolment(draws, group, small, flag, flag, people, small, 0.0)
        dibao_take_up(draws, i8, i8, 0.0, 0.0, flag, flag, small)
        skill_courses_done(draws, start, 0, f8, 0.0, flag, f4, 0.0)
        education_month(draws, group, flag, f8, 0.0, start, 0, f4, 0.0, small, False)
        placement_jobs(draws, i8, small, f8, f4, people, 0.0, 0.0, 0.0, 0.0, 0.0)
