"""numpy's draws, compiled, from the model's own bit generator.

``Generator.choice(pool, size, replace=False)`` and ``Generator.permutation(pool)`` cost about
12 and 2 µs a call in numpy whatever their size, most of it the call itself; the measures' queues
make several a month. The kernels here repeat numpy's algorithms step by step (Floyd's algorithm
with its hash set, or a tail shuffle for a large share of a large pool, then a shuffle; the
Fisher-Yates shuffle of ``permutation``) and draw every number through the bit generator's own
``next_uint32`` (its C function, called with its state), so they consume the same stream and
return the same households in the same order, and the generator is left in the same state (the
tests compare both, on several bit generators). Imported through
:mod:`model.engine.compiled_kernels`; :func:`model.engine.draws.choice_without_replacement`
and :func:`model.engine.draws.permutation` decide which draws a model uses.
"""

from __future__ import annotations

import ctypes
import functools

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: holding the GIL, as numpy holds the generator's lock while it draws
_jit = numba.njit(cache=True)

#: Pools this long or longer are left to numpy (its draws switch to 64-bit numbers there).
LONGEST_POOL = 2**32 - 1


@intrinsic
def _next_uint32(typingctx, function, state):  # noqa: ANN001, ANN202
    """``function(state)``: a bit generator's ``next_uint32``, both given as addresses."""
    sig = types.uint32(types.intp, types.intp)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        address, pointer = args
        void_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.IntType(32), [void_p])
        call = builder.inttoptr(address, fnty.as_pointer())
        return builder.call(call, [builder.inttoptr(pointer, void_p)])

    return sig, codegen


@intrinsic
def _uniform(typingctx, function, bitgen):  # noqa: ANN001, ANN202
    """``function(bitgen)``: numpy's ``random_standard_uniform``, both given as addresses."""
    sig = types.float64(types.intp, types.intp)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        address, pointer = args
        void_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.DoubleType(), [void_p])
        call = builder.inttoptr(address, fnty.as_pointer())
        return builder.call(call, [builder.inttoptr(pointer, void_p)])

    return sig, codegen


@intrinsic
def _geometric(typingctx, function, bitgen, p):  # noqa: ANN001, ANN202
    """``function(bitgen, p)``: numpy's ``random_geometric``, both given as addresses."""
    sig = types.int64(types.intp, types.intp, types.float64)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        address, pointer, chance = args
        void_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.IntType(64), [void_p, ir.DoubleType()])
        call = builder.inttoptr(address, fnty.as_pointer())
        return builder.call(call, [builder.inttoptr(pointer, void_p), chance])

    return sig, codegen


@_jit
def uniform(draws: tuple[int, int, int]) -> float:
    """One number of ``Generator.random()`` from the stream ``draws`` (:func:`numpy_stream`)."""
    return _uniform(draws[1], draws[2])


@_jit
def success_positions(draws: tuple[int, int, int], trials: int, p: float) -> np.ndarray:
    """:func:`model.engine.dynamics.success_positions` on the stream ``draws``: the same numbers.

    As many geometric gaps as numpy draws in one call (``expected + 6 sqrt(expected) + 10``),
    again while the last position falls short of ``trials``; the positions below ``trials``.
    ``p`` NaN raises ``ValueError`` as numpy's ``geometric`` does.
    """
    if trials <= 0 or p <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(trials)
    if p != p:
        raise ValueError("p < 0, p > 1 or p is NaN")
    expected = trials * p
    gaps = int(expected + 6 * np.sqrt(expected) + 10)
    positions = np.empty(gaps, dtype=np.int64)
    last = np.int64(-1)
    found = 0
    while True:
        if found + gaps > positions.size:
            grown = np.empty(positions.size + gaps, dtype=np.int64)
            grown[:found] = positions[:found]
            positions = grown
        for _ in range(gaps):
            last += _geometric(draws[0], draws[2], p)
            positions[found] = last
            found += 1
        if last >= trials:
            break
    below = found
    while below > 0 and positions[below - 1] >= trials:
        below -= 1
    return positions[:below].copy()


@_jit
def _bounded(function: int, state: int, high: int) -> np.uint64:
    """Numpy's ``random_bounded_uint64(bitgen, 0, high, 0, False)`` for ``high < 2**32 - 1``.

    Lemire's method on 32-bit draws: a draw times ``high + 1``, its high word, with rejection of
    the few low words that would bias it.
    """
    if high == 0:
        return np.uint64(0)
    low_word = np.uint64(0xFFFFFFFF)
    excl = np.uint64(high) + np.uint64(1)
    m = np.uint64(_next_uint32(function, state)) * excl
    leftover = m & low_word
    if leftover < excl:
        threshold = (low_word - np.uint64(high)) % excl
        while leftover < threshold:
            m = np.uint64(_next_uint32(function, state)) * excl
            leftover = m & low_word
    return m >> np.uint64(32)


@_jit
def _mask(value: np.uint64) -> np.uint64:
    """The smallest mask of ones (``2**k - 1``) at or above ``value``."""
    mask = np.uint64(value)
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> np.uint64(shift)
    return mask


@_jit
def _interval(function: int, state: int, high: int) -> np.uint64:
    """Numpy's ``random_interval(bitgen, high)`` for ``high < 2**32``: masked rejection."""
    if high == 0:
        return np.uint64(0)
    mask = _mask(np.uint64(high))
    while True:
        value = np.uint64(_next_uint32(function, state)) & mask
        if value <= np.uint64(high):
            return value


@_jit
def _shuffle_int(function: int, state: int, n: int, first: int, data: np.ndarray) -> None:
    """Numpy's ``_shuffle_int``: swap ``data[i]`` with a bounded draw, ``i`` from ``n - 1`` down."""
    i = n - 1
    while i >= first:
        j = _bounded(function, state, i)
        data[j], data[i] = data[i], data[j]
        i -= 1


@_jit
def choice_without_replacement(
    function: int, state: int, pool: np.ndarray, size: int
) -> np.ndarray:
    """``Generator.choice(pool, size, replace=False)`` (``0 <= size <= pool.size``).

    A tail shuffle of the positions when the pool is over 10,000 and ``size`` above a fiftieth
    of it, Floyd's algorithm with a hash set otherwise, then a shuffle of the positions taken:
    numpy's steps and draws, in its order.
    """
    n = pool.size
    if n > 10000 and size > n // 50:
        positions = np.arange(n)
        _shuffle_int(function, state, n, max(n - size, 1), positions)
        positions = positions[n - size :]
    else:
        positions = np.empty(size, dtype=np.int64)
        mask = _mask(np.uint64(1.2 * size))
        empty = np.uint64(0xFFFFFFFFFFFFFFFF)
        seen = np.full(int(mask) + 1, empty, dtype=np.uint64)
        for j in range(n - size, n):
            value = _bounded(function, state, j)
            at = value & mask
            while seen[at] != empty and seen[at] != value:
                at = (at + np.uint64(1)) & mask
            if seen[at] == empty:  # a new position
                seen[at] = value
                positions[j - n + size] = value
            else:  # taken already: j itself, which no earlier draw could reach
                at = np.uint64(j) & mask
                while seen[at] != empty:
                    at = (at + np.uint64(1)) & mask
                seen[at] = j
                positions[j - n + size] = j
        _shuffle_int(function, state, size, 1, positions)
    out = np.empty(size, dtype=pool.dtype)
    for k in range(size):
        out[k] = pool[positions[k]]
    return out


@_jit
def permutation(function: int, state: int, pool: np.ndarray) -> np.ndarray:
    """``Generator.permutation(pool)`` of a one-dimensional pool: numpy's shuffle of a copy."""
    out = pool.copy()
    i = out.size - 1
    while i >= 1:
        j = _interval(function, state, i)
        out[j], out[i] = out[i], out[j]
        i -= 1
    return out


def stream(rng: np.random.Generator) -> tuple[int, int]:
    """The addresses of ``rng``'s bit generator's ``next_uint32`` and of its state.

    Valid while ``rng`` lives; the caller keeps ``rng`` alive as long as it uses them.
    """
    interface = rng.bit_generator.ctypes
    return ctypes.cast(interface.next_uint32, ctypes.c_void_p).value, interface.state_address


@functools.cache
def _numpy_functions() -> tuple[int, int] | None:
    """Addresses of numpy's ``random_geometric`` and ``random_standard_uniform``, or None."""
    from numpy.random import _generator

    try:
        library = ctypes.CDLL(_generator.__file__)
        geometric = library.random_geometric
        uniform = library.random_standard_uniform
    except (OSError, AttributeError):  # not exported on this platform: numpy draws instead
        return None
    address = ctypes.c_void_p
    return ctypes.cast(geometric, address).value, ctypes.cast(uniform, address).value


def numpy_stream(rng: np.random.Generator) -> tuple[int, int, int] | None:
    """The addresses :func:`success_positions` and :func:`uniform` draw with, or None.

    numpy's ``random_geometric`` and ``random_standard_uniform`` and ``rng``'s bit generator;
    None where numpy does not export its functions. Valid while ``rng`` lives; the caller
    keeps ``rng`` alive as long as it uses them.
    """
    functions = _numpy_functions()
    if functions is None:
        return None
    bitgen = ctypes.cast(rng.bit_generator.ctypes.bit_generator, ctypes.c_void_p).value
    return functions[0], functions[1], bitgen


def warm() -> None:
    """Load the draws for the household index arrays' dtype (nothing is drawn)."""
    function, state = stream(np.random.default_rng(0))
    pool = np.zeros(0, dtype=np.int64)
    choice_without_replacement(function, state, pool, 0)
    permutation(function, state, pool)
    rng = np.random.default_rng(0)  # kept alive while its addresses are used
    draws = numpy_stream(rng)
    if draws is not None:
        success_positions(draws, 0, 0.0)
        uniform(draws)
