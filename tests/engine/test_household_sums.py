"""The exact people count of a mask, against hand counts and a plain gather."""

import numpy as np

from model.engine.households import people_where


def test_people_where_counts_the_members_of_the_households_kept():
    size = np.array([3, 1, 4, 1, 5], dtype=np.int16)
    mask = np.array([True, False, True, False, True])
    assert people_where(size, mask) == 3 + 4 + 5
    assert people_where(size, np.zeros(5, dtype=bool)) == 0
    assert isinstance(people_where(size, mask), int)


def test_people_where_equals_the_gather_on_scattered_masks_without_overflow():
    rng = np.random.default_rng(3)
    size = rng.integers(1, 30_000, 600_000).astype(np.int16)  # totals far beyond int16 and int32
    mask = rng.random(size.size) < 0.3
    expected = sum(int(s) for s in size[mask].tolist())
    assert expected > 2**31  # more than an int32 total holds
    assert people_where(size, mask) == expected
