"""The same workloads on another revision and on this checkout, one after the other, side by side.

Machines differ by a factor of two or more, and an aim set in milliseconds on one machine says
little on another: to tell what the code gained, run an earlier revision's benchmark and this
checkout's on the same machine, in turn. This script checks the revision out in a temporary git
worktree, runs its ``benchmarks/run_benchmarks.py --only ...`` (with its own ``model`` package
first on the path, and an editable install's finder taken out, so that each side imports its
own code only), then this checkout's, ``--rounds`` times alternately so that a slow spell of the
machine falls on both, and prints every figure the two share with the ratio this / revision
(below 1: this checkout is faster; no ratio between CPU and wall-clock figures). Each workload
keeps its least figure over the rounds (noise only adds time) and each fit of the month is
redone from those runs. Each side's compiled kernels, where it has them, are loaded into numba's
cache first. The revision must have ``run_benchmarks.py`` with ``--only`` and ``--out`` (from
commit ``f7d7a84``, where issue 18's workloads begin).

``--also`` names workloads run on this checkout only (those the revision does not know), such as
the compiled-kernel runs that this checkout's fit of many-run work needs; their figures and fits
are printed for this checkout alone.

Usage::

    python benchmarks/against.py f7d7a84                     # W1 scale 0.1, W1, W4, naive Mesa
    python benchmarks/against.py f7d7a84 --only "W1 scale 0.1,W1" --rounds 2 --json cmp.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ONLY = "W1 scale 0.1,W1,W4,naive"
DEFAULT_ALSO = "W1 scale 0.1 compiled kernels,W1 scale 0.005 compiled kernels"

#: per-household-month figures first (CPU where a side recorded it), then whole-job wall times
FIGURES = (
    ("cpu_ns_per_household_month", "CPU ns per household-month"),
    ("ns_per_household_month", "ns per household-month"),
    ("wall_s", "wall s"),
)


#: the fit each side's many-run work is described by, first found: the compiled kernels' (which
#: every run of a many-run job loads), else the CPU fit of the only engine an older revision had
MANY_RUN_FITS = ("cost_model_compiled_cpu", "cost_model_cpu", "cost_model")


def _main_key(row: dict[str, Any]) -> str | None:
    """The key of a workload row's main figure (:data:`FIGURES`), None if it has none."""
    return next((key for key, _ in FIGURES if row.get(key) is not None), None)


def figures(results: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Each workload's main figure in a ``results.json``: (what it is, value), lower is better.

    A single-run workload gives its CPU time per household-month (its wall time where CPU was
    not recorded), a many-run workload (W2, W4) its wall time; each fit of the month
    (``cost_model*``) gives its fixed part and its part per household, and the fit of
    :data:`MANY_RUN_FITS` is also given under one name on both sides. A fit's unit says whether
    it is of CPU or of wall-clock time.
    """
    out: dict[str, tuple[str, float]] = {}
    for row in results.get("workloads", []):
        key = _main_key(row)
        if key is not None:
            out[row["workload"]] = (dict(FIGURES)[key], float(row[key]))

    def fit_figures(fit: dict[str, Any], key: str) -> tuple[tuple[str, float], tuple[str, float]]:
        clock = "CPU" if key.endswith("_cpu") else "wall clock"
        return (
            (f"ms a month ({clock})", float(fit["fixed_ms_per_month"])),
            (f"ns a household-month ({clock})", float(fit["marginal_ns_per_household_month"])),
        )

    # the fit of the month as many-run work runs it: the compiled kernels' where a side has them
    many_run = next((k for k in MANY_RUN_FITS if isinstance(results.get(k), dict)), None)
    if many_run is not None:
        fixed, marginal = fit_figures(results[many_run], many_run)
        out["fixed part of a many-run month"] = fixed
        out["many-run month, per household"] = marginal
    for name, fit in sorted(results.items()):
        if name.startswith("cost_model") and isinstance(fit, dict):
            over = ", ".join(fit.get("fixed_share", {}))
            fixed, marginal = fit_figures(fit, name)
            out[f"{name} fixed ({over})"] = fixed
            out[f"{name} per household ({over})"] = marginal
    return out


def _affine_cost() -> Any:
    """This checkout's ``run_benchmarks.affine_cost`` (the same fit on both sides)."""
    spec = importlib.util.spec_from_file_location(
        "run_benchmarks_fit", Path(__file__).with_name("run_benchmarks.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.affine_cost


def least_rows(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's results over its rounds: each workload's least figure, and the fits redone.

    Noise only adds time, so each workload keeps the row of its least main figure; a least
    fitted part would not mean the same (a slow large run lowers the fixed part), so each fit
    of the last round is computed again (``affine_cost``) from the rows kept, over the same
    workloads. With one round the results are returned as they are.
    """
    if len(rounds) == 1:
        return rounds[0]
    kept: dict[str, dict[str, Any]] = {}
    for results in rounds:
        for row in results.get("workloads", []):
            key = _main_key(row)
            name = row["workload"]
            if key is not None and (name not in kept or row[key] < kept[name][key]):
                kept[name] = row
    out = {**rounds[-1], "workloads": list(kept.values())}
    affine_cost = _affine_cost()
    for name, fit in rounds[-1].items():
        if not (name.startswith("cost_model") and isinstance(fit, dict)):
            continue
        seconds = "cpu_simulation_s" if name.endswith("_cpu") else "simulation_s"
        rows = [kept.get(w) for w in fit.get("fixed_share", {})]
        if len(rows) > 1 and all(r is not None and seconds in r for r in rows):
            out[name] = affine_cost(rows, seconds)
    return out


def compare(
    theirs: dict[str, tuple[str, float]], ours: dict[str, tuple[str, float]]
) -> list[dict[str, Any]]:
    """Rows of the figures: both sides' values and this / revision where both have one.

    No ratio where the units differ (CPU time on one side, wall clock on the other), and the
    unit then names both.
    """
    rows = []
    for name in [*theirs, *(n for n in ours if n not in theirs)]:
        units = {side[name][0] for side in (theirs, ours) if name in side}
        a = theirs[name][1] if name in theirs else None
        b = ours[name][1] if name in ours else None
        comparable = len(units) == 1 and a is not None and b is not None and a > 0
        rows.append(
            {
                "figure": name,
                "unit": " / ".join(sorted(units)),
                "revision": a,
                "this": b,
                "ratio": b / a if comparable else None,
            }
        )
    return rows


#: Fills numba's cache of a side's compiled kernels, where it has them, before anything is timed
#: (a new worktree starts with an empty cache, and W4's workers would otherwise compile them).
WARM_KERNELS = """
try:
    from model.engine import kernels
except ImportError:  # a revision from before the compiled kernels
    pass
else:
    kernels.load()
"""

#: ``sitecustomize`` of each side's processes: an editable install of the package (``pip
#: install -e``) resolves ``model.X`` to this checkout's files for any module a side lacks;
#: without its finder a side imports its own package only.
NO_EDITABLE_FINDER = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                    and "editable" not in getattr(f, "__name__", "").lower()]
"""


def _env(root: Path, shim: Path) -> dict[str, str]:
    """The environment of ``root``'s processes: its own package first, no editable finder."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(root)])}


def _run(root: Path, shim: Path, *args: str) -> subprocess.CompletedProcess:
    """``python args...`` in ``root`` with :func:`_env`'s environment, output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=root, env=_env(root, shim), capture_output=True, text=True, check=False,
    )  # fmt: skip


def _check_package(root: Path, shim: Path) -> None:
    """Refuse to time a side whose ``model`` package is not its own."""
    found = _run(root, shim, "-c", "import model; print(model.__file__)")
    path = Path(found.stdout.strip() or "?").resolve()
    if found.returncode != 0 or not path.is_relative_to(root.resolve()):
        raise SystemExit(
            f"error: the benchmark of {root} would import model from {path}, not its own "
            f"({found.stderr.strip() or 'no error'})"
        )


def _warm(root: Path, shim: Path) -> None:
    proc = _run(root, shim, "-c", WARM_KERNELS)
    if proc.returncode != 0:
        raise SystemExit(f"error: loading the compiled kernels of {root} failed:\n{proc.stderr}")


def _bench(root: Path, shim: Path, only: str, out: Path) -> dict[str, Any]:
    """Run ``root``'s benchmark on the workloads ``only``, with ``root``'s package first."""
    cmd = [str(root / "benchmarks" / "run_benchmarks.py"), "--only", only]
    proc = _run(root, shim, *cmd, "--out", str(out))
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} in {root} failed:\n{proc.stderr.strip()}")
    return json.loads(out.read_text())


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:,.3f}" if value < 10 else f"{value:,.1f}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}" + (f"  (1 / {1 / ratio:.2f})" if ratio > 0 else "")


def print_rows(rows: list[dict[str, Any]], label: str) -> None:
    """The comparison as a plain-text table."""
    head = ("figure", "unit", label, "this", f"this / {label}")
    cells = [
        (r["figure"], r["unit"], _fmt(r["revision"]), _fmt(r["this"]), _ratio(r["ratio"]))
        for r in rows
    ]
    widths = [max(len(c[k]) for c in [head, *cells]) for k in range(4)]
    for c in [head, *cells]:
        print(
            f"{c[0]:{widths[0]}}  {c[1]:{widths[1]}}  {c[2]:>{widths[2]}}  "
            f"{c[3]:>{widths[3]}}  {c[4]}".rstrip()
        )


def main(argv: list[str] | None = None) -> int:
    """Command line: run both sides, print the table, optionally write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision of this repository (commit, tag, branch)")
    parser.add_argument("--only", default=DEFAULT_ONLY, help="workloads run on both sides")
    parser.add_argument("--also", default=DEFAULT_ALSO, help="workloads run on this side only")
    parser.add_argument("--rounds", type=int, default=1, help="alternate rounds (default 1)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="do not load the compiled kernels first (for workloads that run none, e.g. import)",
    )
    a = parser.parse_args(argv)
    if a.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, found {a.rounds}")
    resolved = _git("rev-parse", "--verify", "--quiet", f"{a.revision}^{{commit}}")
    if resolved.returncode != 0:
        parser.error(f"revision: {a.revision!r} is no commit of {ROOT}")
    commit = resolved.stdout.strip()
    ours_only = ",".join(w for w in (a.only, a.also) if w)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="against-") as tmp:
        shim, tree = Path(tmp) / "shim", Path(tmp) / "tree"
        shim.mkdir()
        (shim / "sitecustomize.py").write_text(NO_EDITABLE_FINDER)
        added = _git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        if added.returncode != 0:
            raise SystemExit(f"error: git worktree add {commit[:7]} failed: {added.stderr.strip()}")
        try:
            if not a.no_warm:
                print("loading each side's compiled kernels, where it has them ...", flush=True)
            for root in (tree, ROOT):
                _check_package(root, shim)
                if not a.no_warm:
                    _warm(root, shim)
            theirs, ours = [], []
            for k in range(a.rounds):
                print(f"round {k + 1} of {a.rounds}: {commit[:7]} ...", flush=True)
                theirs.append(_bench(tree, shim, a.only, Path(tmp) / f"theirs{k}.json"))
                print(f"round {k + 1} of {a.rounds}: this checkout ...", flush=True)
                ours.append(_bench(ROOT, shim, ours_only, Path(tmp) / f"ours{k}.json"))
        finally:
            if _git("worktree", "remove", "--force", str(tree)).returncode != 0:
                _git("worktree", "prune")  # the folder goes with the temporary directory
    rows = compare(figures(least_rows(theirs)), figures(least_rows(ours)))
    if a.json:
        a.json.write_text(
            json.dumps({"revision": commit, "rounds": a.rounds, "rows": rows}, indent=1) + "\n"
        )
    if not rows:
        print(f"error: the workloads {ours_only!r} gave no figure to compare", file=sys.stderr)
        return 1
    print()
    print_rows(rows, commit[:7])
    load_end = os.getloadavg()
    print(
        f"\nleast of {a.rounds} round(s) each (fits redone from the least runs); load average "
        f"(1, 5, 15 min) {', '.join(f'{x:.1f}' for x in load_start)} at the start, "
        f"{', '.join(f'{x:.1f}' for x in load_end)} at the end, {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
