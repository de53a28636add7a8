"""When the compiled kernels run instead of numpy: large populations, with numba installed.

A few passes cost most of a large month in numpy, which makes a temporary array per operation:
social security's payments, the month's base flows, the labour market's draws, step 7's
bookkeeping, accountability's triage, the ledger's split of a payment over its sources, the
months of industry, finance and education's subsidies, social security's candidates, the
market-access uplift, the monthly record's counts, the households with a job seeker and the
screens of the monthly invariants (whose numpy checks then run only to describe a failure),
and the queues' draws without replacement (:mod:`model.engine.draws`, on the model's own stream).
The month's passes that draw (the labour market, illness, placements, loans and defaults,
projects failing, social support taken up, training and vocational courses ending, children
returning to school) call numpy's own uniform and geometric draws on the model's stream from
the compiled code, so they take the same numbers. :mod:`model.engine.compiled_kernels` does
each in one compiled loop with the same arithmetic in the same order, so results are
bit-identical either way.

A lone small run keeps numpy: loading numba takes about a second, more than a whole run at
population scale 0.05 in numpy (the monthly cost there is the number of numpy calls, not their
length); jobs of :data:`MANY_RUNS` runs or more load them in every worker.
The compiled kernels run when the population has at least :data:`COMPILED_FROM` households (or
the process has loaded them already, as the workers of a job of :data:`MANY_RUNS` runs or more
do), numba can load them (it is installed, and can compile and cache them), and the environment
variable ``SHAOGUAN_ABM_KERNELS`` is not ``numpy`` (``compiled`` uses them at every size, and
says why when they cannot be loaded). The first large run on a machine compiles them (a few
seconds) into numba's cache beside the module; later processes load them from there.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

#: Households from which the compiled kernels run (full-scale Shaoguan has 171,920).
COMPILED_FROM = 50_000

#: Runs from which a job of many runs loads the compiled kernels in every worker (ensembles,
#: budget comparisons and attributions by their runs; sweeps:
#: :class:`model.experiments.sweep.ModelEvaluator`; model choices by particles x generations
#: and calibrations by particles x (generations + 1), which pyabc exceeds many times over:
#: :class:`model.experiments.calibration.Simulator`). Each worker pays the load once, about
#: 1 s of CPU from numba's cache; a small run then costs about 1 ms a month instead of about
#: 3.5 ms (scales 0.01 to 0.05), so a worker recovers the load after six or seven runs of five
#: years, and a job of this many runs on two workers gives each about eight.
MANY_RUNS = 16

#: Environment variable choosing the kernels: ``auto`` (the default), ``numpy`` or ``compiled``.
KERNELS_ENV = "SHAOGUAN_ABM_KERNELS"

_CHOICES = ("auto", "numpy", "compiled")


def choice() -> str:
    """The kernels ``SHAOGUAN_ABM_KERNELS`` asks for (``auto`` when unset).

    Raises:
        ValueError: For a value other than ``auto``, ``numpy`` or ``compiled``.
    """
    value = os.environ.get(KERNELS_ENV, "auto").strip().lower() or "auto"
    if value not in _CHOICES:
        raise ValueError(f"{KERNELS_ENV}={value!r}: use one of {', '.join(_CHOICES)}")
    return value


#: Why the compiled kernels could not be loaded in this process (empty until tried, or loaded).
unavailable = ""


@functools.cache
def _compiled_module() -> ModuleType | None:
    global unavailable
    try:
        from model.engine import compiled_kernels

        compiled_kernels.warm()
    except ImportError as err:  # numba missing: numpy does the work, with the same results
        unavailable = f"numba is not installed ({err})"
        return None
    except (RuntimeError, OSError) as err:  # e.g. numba finds no writable folder for its cache
        unavailable = f"numba could not load them ({type(err).__name__}: {err})"
        return None
    return compiled_kernels


def many_runs(runs: int) -> bool:
    """Whether a job of ``runs`` runs loads the kernels in every worker (:data:`MANY_RUNS`)."""
    return runs >= MANY_RUNS


def load() -> ModuleType | None:
    """Import and load the compiled kernels now, as building a large model would.

    For a process about to build large models (a benchmark, a worker) that wants the cost
    (about a second of CPU from numba's cache, and about 140 MB of memory for numba's
    compiler) paid up front.
    Returns ``None`` when numba is missing or ``SHAOGUAN_ABM_KERNELS=numpy``.
    """
    return None if choice() == "numpy" else _compiled_module()


def loaded() -> bool:
    """Whether this process has loaded the compiled kernels (then every run uses them)."""
    return _compiled_module.cache_info().currsize > 0 and _compiled_module() is not None


def compiled_for(n: int) -> ModuleType | None:
    """The compiled kernels to use for ``n`` households, or ``None`` for numpy.

    ``auto`` uses them from :data:`COMPILED_FROM` households, and at every size in a process
    that has loaded them already (the cost is paid; the results are the same).

    Raises:
        RuntimeError: When ``SHAOGUAN_ABM_KERNELS=compiled`` and the kernels cannot be loaded
            (numba missing, or unable to compile or cache them: ``auto`` falls back to numpy).
    """
    wanted = choice()
    if wanted == "numpy" or (wanted == "auto" and n < COMPILED_FROM and not loaded()):
        return None
    module = _compiled_module()
    if module is None and wanted == "compiled":
        raise RuntimeError(
            f"{KERNELS_ENV}=compiled, but the compiled kernels cannot be used: "
            f"{unavailable or 'numba is not installed'}"
        )
    return module
