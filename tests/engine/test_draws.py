"""The compiled draws without replacement against numpy's: the same values and the same stream.

Each case runs numpy's ``Generator.choice(pool, size, replace=False)`` or ``permutation`` on one
generator and the compiled twin on another seeded alike, several calls in a row (so that a half
of a 64-bit draw is left waiting in the bit generator between calls), and compares the values
and the generators' whole state after them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from model.engine import draws

compiled_kernels = pytest.importorskip("model.engine.compiled_kernels")

BIT_GENERATORS = (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox,
                  np.random.SFC64)  # fmt: skip


def _same_state(a: np.random.Generator, b: np.random.Generator) -> None:
    """The two generators' whole states are equal (a buffered half word included)."""
    np.testing.assert_equal(a.bit_generator.state, b.bit_generator.state)


def _twins(bit_generator: type, seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.Generator(bit_generator(seed)), np.random.Generator(bit_generator(seed))


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS)
def test_choice_without_replacement_draws_as_numpy_does(bit_generator):
    rng = np.random.default_rng(31)
    # Floyd's algorithm (pools up to 10,000, or small shares), the tail shuffle (over 10,000 and
    # more than a fiftieth), and the edges between them
    cases = [(1, 1), (2, 1), (2, 2), (7, 3), (100, 99), (3_000, 5), (10_000, 9_000),
             (10_001, 200), (10_001, 201), (30_000, 600), (30_000, 601), (30_000, 30_000),
             (50_000, 3)]  # fmt: skip
    cases += [(int(n), int(rng.integers(1, n + 1))) for n in rng.integers(1, 40_000, 30)]
    # a pool of millions, where about one bounded draw in 2,000 is rejected and drawn again
    cases += [(2_000_000, 50_000)]
    for seed in range(3):
        numpy_rng, compiled_rng = _twins(bit_generator, seed)
        function, state = compiled_kernels.stream(compiled_rng)
        for n, size in cases:
            if n > 100_000:
                pool = np.arange(n, dtype=np.int64) * 2
            else:
                pool = np.sort(rng.choice(10**7, n, replace=False)).astype(np.int64)
            expected = numpy_rng.choice(pool, size=size, replace=False)
            got = compiled_kernels.choice_without_replacement(function, state, pool, size)
            np.testing.assert_array_equal(got, expected, err_msg=f"{n} choose {size}")
            assert got.dtype == expected.dtype
        _same_state(compiled_rng, numpy_rng)
    # by hand: every household of the pool once when all are taken, in numpy's order
    numpy_rng, compiled_rng = _twins(bit_generator, 9)
    pool = np.arange(5, dtype=np.int64) * 10
    function, state = compiled_kernels.stream(compiled_rng)
    got = compiled_kernels.choice_without_replacement(function, state, pool, 5)
    assert sorted(got.tolist()) == [0, 10, 20, 30, 40]
    assert got.tolist() == numpy_rng.choice(pool, 5, replace=False).tolist()


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS)
def test_permutation_draws_as_numpy_does(bit_generator):
    numpy_rng, compiled_rng = _twins(bit_generator, 4)
    function, state = compiled_kernels.stream(compiled_rng)
    for n in (0, 1, 2, 3, 17, 256, 5_000, 70_000):
        pool = np.arange(n, dtype=np.int64) * 3 + 1
        expected = numpy_rng.permutation(pool)
        got = compiled_kernels.permutation(function, state, pool)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(pool, np.arange(n) * 3 + 1)  # the pool is left as it was
    _same_state(compiled_rng, numpy_rng)


def test_a_models_draws_follow_its_generator_and_fall_back_to_numpy():
    def model(rng, compiled):
        return SimpleNamespace(households=SimpleNamespace(kernels=compiled), rng=rng)

    pool = np.arange(0, 20_000, 7, dtype=np.int64)
    numpy_rng, compiled_rng = _twins(np.random.PCG64, 5)
    m = model(compiled_rng, compiled_kernels)
    np.testing.assert_array_equal(
        draws.choice_without_replacement(m, pool, 40), numpy_rng.choice(pool, 40, replace=False)
    )
    np.testing.assert_array_equal(draws.permutation(m, pool), numpy_rng.permutation(pool))
    _same_state(compiled_rng, numpy_rng)
    # another generator put in the model's place is the one drawn from
    numpy_rng, m.rng = _twins(np.random.PCG64, 6)
    np.testing.assert_array_equal(
        draws.choice_without_replacement(m, pool, 9), numpy_rng.choice(pool, 9, replace=False)
    )
    _same_state(m.rng, numpy_rng)
    # pools of another dtype, and models without the compiled kernels, draw through numpy
    numpy_rng, compiled_rng = _twins(np.random.PCG64, 7)
    for m, values in ((model(compiled_rng, compiled_kernels), pool.astype(np.int32)),
                      (model(compiled_rng, None), pool)):  # fmt: skip
        got = draws.choice_without_replacement(m, values, 11)
        np.testing.assert_array_equal(got, numpy_rng.choice(values, 11, replace=False))
        assert got.dtype == values.dtype


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS)
def test_success_positions_and_uniforms_draw_as_numpy_does(bit_generator):
    from model.engine.dynamics import success_positions

    numpy_rng, compiled_rng = _twins(bit_generator, 12)
    stream = compiled_kernels.numpy_stream(compiled_rng)
    if stream is None:
        pytest.skip("numpy does not export its draws on this platform")
    rng = np.random.default_rng(5)
    # numpy's geometric switches from a search to an inversion below p = 1/3
    chances = [1e-6, 0.004, 0.2, 1 / 3 - 1e-12, 1 / 3, 0.5, 0.999, 0.0, 1.0, 1.5, -0.1]
    cases = [(trials, p) for trials in (0, 1, 7, 500, 40_000) for p in chances]
    random_cases = zip(rng.integers(0, 3_000, 200), rng.random(200), strict=True)
    cases += [(int(t), float(p)) for t, p in random_cases]
    for trials, p in cases:
        expected = success_positions(numpy_rng, trials, p)
        got = compiled_kernels.compiled_draws.success_positions(stream, trials, p)
        np.testing.assert_array_equal(got, expected, err_msg=f"{trials} trials at {p}")
        assert got.dtype == expected.dtype
        assert compiled_kernels.compiled_draws.uniform(stream) == numpy_rng.random()
    _same_state(compiled_rng, numpy_rng)
    # by hand: every trial succeeds at p = 1, none at p = 0, and nothing is drawn for either
    ones = compiled_kernels.compiled_draws.success_positions(stream, 4, 1.0)
    assert ones.tolist() == [0, 1, 2, 3]
    assert compiled_kernels.compiled_draws.success_positions(stream, 4, 0.0).size == 0
    _same_state(compiled_rng, numpy_rng)
    with pytest.raises(ValueError, match="NaN"):
        success_positions(numpy_rng, 10, float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        compiled_kernels.compiled_draws.success_positions(stream, 10, float("nan"))
