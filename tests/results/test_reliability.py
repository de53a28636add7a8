"""Crash-safe results folders, one writer per folder, and loading that never executes code."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.results.outputs import ResultsError, read_results
from model.results.safety import (
    OutputBusy,
    OutputError,
    lock_path,
    output_lock,
    results_path_for,
)
from tests.conftest import BASELINE, CLI, ROOT

PACKAGE = ROOT / "model"


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Poll until ``condition()`` holds; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def main_in_process(argv, capsys, monkeypatch, cwd: Path) -> tuple[int, str]:
    """Run the command line in this process (quicker than a fresh interpreter)."""
    from model.commands.cli import main

    monkeypatch.chdir(cwd)
    code = main(list(argv))
    return code, capsys.readouterr().err


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


#: A run long enough to be interrupted in the middle: full population, 15 simulated years.
LONG_RUN = ("run", str(BASELINE), "--quiet", "--set", "calendar.end_year=2030")
SHORT_RUN = ("run", str(BASELINE), "--quiet", "--population-scale", "0.01")


# ---------------------------------------------------------------------------------------------
# interrupted runs


def test_killed_run_leaves_no_results_and_a_rerun_succeeds(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    proc = start_cli(*LONG_RUN, "--out", str(out), cwd=tmp_path)
    wait_for(lock_path(out).exists, proc)  # the run holds its folder from start to end
    time.sleep(0.5)  # inside the simulation
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert not out.exists()
    assert names(tmp_path) == [".res.lock"]  # only the dead run's lock is left
    # the rerun takes the stale lock over, says so, and completes
    code, err = main_in_process([*SHORT_RUN, "--out", str(out)], capsys, monkeypatch, tmp_path)
    assert code == 0, err
    assert f"taking over the lock left by process {proc.pid}" in err
    assert "which is no longer running" in err
    assert names(tmp_path) == ["res"]
    assert read_results(out).manifest["population_scale"] == 0.01


KILL_WHILE_WRITING = textwrap.dedent(
    """
    import os, signal, sys
    import model.reporting.figures
    def die(*args, **kwargs):  # the run is killed while the results are being written
        os.kill(os.getpid(), signal.SIGKILL)
    model.reporting.figures.exits_vs_targets = die
    from model.commands.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_killed_while_writing_leaves_no_results_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_WRITING, *SHORT_RUN, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    # the half-written temporary folder and the lock are what a killed writer leaves
    left = names(tmp_path)
    assert left[0] == ".res.lock" and len(left) == 2 and left[1].startswith(".res.tmp-")
    half = tmp_path / left[1]
    assert "annual.parquet" in names(half) and "manifest.json" not in names(half)
    # a later run removes them and completes
    code, err = main_in_process([*SHORT_RUN, "--out", str(out)], capsys, monkeypatch, tmp_path)
    assert code == 0, err
    assert f"removed {half}, left by an interrupted run" in err
    assert names(tmp_path) == ["res"]
    read_results(out)


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_terminated_run_cleans_up(tmp_path, sig, code, word):
    out = tmp_path / "res"
    proc = start_cli(*LONG_RUN, "--out", str(out), cwd=tmp_path)
    wait_for(lock_path(out).exists, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert f"{word}; nothing was written" in err and "Traceback" not in err
    assert names(tmp_path) == []  # no results, no lock, no temporary folder


def test_replacing_an_earlier_run_is_all_or_nothing(tmp_path, small_result, capsys, monkeypatch):
    out = small_result.write(tmp_path / "res", figure=False)
    first = (out / "manifest.json").read_text()
    proc = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_WRITING, *SHORT_RUN, "--out", str(out)],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL
    assert (out / "manifest.json").read_text() == first  # the earlier run is intact
    code, err = main_in_process([*SHORT_RUN, "--out", str(out)], capsys, monkeypatch, tmp_path)
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["population_scale"] == 0.01
    assert names(tmp_path) == ["res"]


# ---------------------------------------------------------------------------------------------
# one writer per results folder

HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from model.results.safety import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.read()
    """
)


@contextlib.contextmanager
def held_by_another_process(out: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the results folder ``out`` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.communicate(input="", timeout=60)


def test_second_run_on_the_same_folder_refuses(tmp_path, capsys, monkeypatch):
    from model.commands.cli import EXIT_BUSY, main

    out = tmp_path / "res"
    with held_by_another_process(out) as holder:
        monkeypatch.chdir(tmp_path)
        code = main([*SHORT_RUN, "--out", str(out)])
        err = capsys.readouterr().err
        assert code == EXIT_BUSY == 4
        assert f"another run (process {holder.pid}, started " in err
        assert "is writing this results folder" in err and str(lock_path(out)) in err
        assert not out.exists()
        # the API refuses too
        with pytest.raises(OutputBusy):
            with output_lock(out):
                pass
    assert names(tmp_path) == []  # the holder removed its lock
    assert main([*SHORT_RUN, "--out", str(out)]) == 0


@pytest.mark.parametrize(
    "command",
    [
        ("run", str(BASELINE), "--replicates", "2", "--workers", "1"),
        ("sweep", str(BASELINE), "--method", "morris", "--samples", "2", "--workers", "1",
         "--param", "dynamics.job_finding_rate"),
    ],
    ids=["ensemble", "sweep"],
)  # fmt: skip
def test_many_run_commands_refuse_a_folder_another_command_writes(
    tmp_path, capsys, monkeypatch, command
):
    from model.commands.cli import EXIT_BUSY, main

    out = tmp_path / "res"
    argv = [*command, "--quiet", "--population-scale", "0.005", "--out", str(out)]
    with held_by_another_process(out) as holder:
        monkeypatch.chdir(tmp_path)
        assert main(argv) == EXIT_BUSY
        err = capsys.readouterr().err
        assert f"another run (process {holder.pid}, started " in err
        assert not out.exists()  # nothing ran, nothing was written
    assert main(argv) == 0  # free again: the command runs and releases the folder
    assert (out / "manifest.json").is_file()
    assert not lock_path(out).exists()


def test_lock_of_another_host_is_respected_while_fresh(tmp_path):
    out = tmp_path / "res"
    lock_path(out).write_text(json.dumps({"pid": dead_pid(), "host": "another-machine"}))
    with pytest.raises(OutputBusy, match="on another-machine"):
        with output_lock(out):
            pass


def test_out_of_memory_is_reported(tmp_path, capsys, monkeypatch):
    import model.results.recording as recording
    from model.commands.cli import EXIT_NO_MEMORY

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(recording, "RecordedModel", no_memory)
    code, err = main_in_process([*SHORT_RUN, "--out", "res"], capsys, monkeypatch, tmp_path)
    assert code == EXIT_NO_MEMORY == 5
    assert "out of memory; try a smaller --population-scale; nothing was written" in err
    assert names(tmp_path) == []


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "res"
    pid = dead_pid()
    lock_path(out).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    notices = []
    with output_lock(out, notify=notices.append):
        assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()
    assert len(notices) == 1 and f"lock left by process {pid}" in notices[0]
    assert not lock_path(out).exists()


def test_old_lock_nobody_holds_is_stale_even_if_its_pid_was_reused(tmp_path):
    out = tmp_path / "res"
    lock = lock_path(out)
    lock.write_text(json.dumps({"pid": os.getppid()}))  # a live process that never locked it
    hour_ago = time.time() - 3600
    os.utime(lock, (hour_ago, hour_ago))
    notices = []
    with output_lock(out, notify=notices.append):
        pass
    assert "taking over" in notices[0]


def test_fresh_lock_of_a_live_process_is_respected(tmp_path):
    out = tmp_path / "res"
    lock_path(out).write_text(json.dumps({"pid": os.getppid()}))
    with pytest.raises(OutputBusy, match=f"process {os.getppid()}"):
        with output_lock(out):
            pass
    assert lock_path(out).exists()  # not ours to remove


def test_nested_holds_in_one_process(tmp_path, small_result):
    out = tmp_path / "res"
    with output_lock(out):
        small_result.write(out, figure=False)  # the writer takes the same lock again
        assert lock_path(out).exists()
    assert names(tmp_path) == ["res"]


def test_two_writers_never_interleave(tmp_path, small_result):
    """Writers racing for one folder: each either writes a complete folder or is refused."""
    out = tmp_path / "res"
    results, errors = [], []
    start = threading.Barrier(4)

    def writer():
        start.wait()
        try:
            results.append(small_result.write(out, figure=False))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) + len(errors) == 4 and results
    assert all(isinstance(e, OutputBusy) for e in errors), errors
    assert names(tmp_path) == ["res"]
    read_results(out)


def test_failed_run_removes_the_folders_it_created(tmp_path):
    out = tmp_path / "a" / "b" / "res"
    with pytest.raises(RuntimeError):
        with output_lock(out):
            assert (tmp_path / "a" / "b").is_dir()
            raise RuntimeError("the run failed")
    assert names(tmp_path) == []


def test_output_folder_of_other_files_is_never_replaced(tmp_path, small_result):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match="found a folder with other files"):
        small_result.write(docs, figure=False)
    assert names(docs) == ["thesis.txt"]


# ---------------------------------------------------------------------------------------------
# security

#: Calls that would execute code from data: unpickling, eval/exec, unsafe YAML, marshal.
FORBIDDEN = {
    "pickle load": r"\bpickle\.loads?\(|\bcPickle\b|\bdill\b|\bcloudpickle\b",
    "pandas read_pickle": r"\bread_pickle\(",
    "numpy allow_pickle": r"allow_pickle\s*=\s*True",
    "eval": r"(?<![\w.])eval\(",
    "exec": r"(?<![\w.])exec\(",
    "compile": r"(?<![\w.])compile\(",
    "yaml unsafe": r"yaml\.(unsafe_load|load)\(|yaml\.(Unsafe|Full)?Loader\b",
    "marshal": r"\bmarshal\.loads?\(",
    "shelve": r"\bshelve\.open\(",
    "__import__": r"__import__\(",
}


def test_package_never_executes_data():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    found = []
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if re.search(pattern, line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}")
    assert not found, "\n".join(found)


def test_forbidden_patterns_match_what_they_forbid():
    samples = {
        "pickle load": "x = pickle.load(f)",
        "pandas read_pickle": "pd.read_pickle(p)",
        "numpy allow_pickle": "np.load(p, allow_pickle=True)",
        "eval": "eval(text)",
        "exec": "exec(code)",
        "compile": "compile(src, 'f', 'exec')",
        "yaml unsafe": "yaml.load(stream, Loader=yaml.Loader)",
        "marshal": "marshal.loads(b)",
        "shelve": "shelve.open(p)",
        "__import__": "__import__(name)",
    }
    for what, pattern in FORBIDDEN.items():
        assert re.search(pattern, samples[what]), what
    assert not re.search(FORBIDDEN["eval"], "ast.literal_eval(x)")


PICKLE_PAYLOAD = textwrap.dedent(
    """
    import os, pickle, sys
    class Payload:
        def __reduce__(self):
            return (os.mkdir, (sys.argv[2],))
    with open(sys.argv[1], "wb") as f:
        pickle.dump(Payload(), f)
    """
)


def test_results_loading_does_not_unpickle(tmp_path, small_result):
    out = small_result.write(tmp_path / "res", figure=False)
    marker = tmp_path / "code_ran"
    subprocess.run(
        [sys.executable, "-c", PICKLE_PAYLOAD, str(out / "annual.parquet"), str(marker)],
        check=True,
    )
    with pytest.raises(ResultsError, match="annual.parquet: expected a Parquet table"):
        read_results(out)
    assert not marker.exists()


def test_scenario_loading_does_not_unpickle(tmp_path):
    from model.engine.scenario import ScenarioError, load_scenario

    marker = tmp_path / "code_ran"
    path = tmp_path / "s.toml"
    subprocess.run([sys.executable, "-c", PICKLE_PAYLOAD, str(path), str(marker)], check=True)
    with pytest.raises(ScenarioError, match="s.toml"):
        load_scenario(path)
    assert not marker.exists()


ESCAPING_NAMES = ["../../x", "../x", "/tmp/x", "x/../../y", "..", "."]


def test_scenario_name_cannot_leave_the_results_folder(tmp_path, capsys, monkeypatch):
    """Without --out the results go to results/<name>/...: a name with '..' is refused."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    for i, name in enumerate(ESCAPING_NAMES):
        scenario = work / f"s{i}.toml"
        scenario.write_text(f"name = {json.dumps(name)}\n")
        argv = ["run", str(scenario), "--population-scale", "0.01"]
        if i == 0:  # once through the real entry point
            proc = cli(*argv, cwd=work)
            code, err = proc.returncode, proc.stderr
        else:
            code, err = main_in_process(argv, capsys, monkeypatch, work)
        assert code == 2, err
        assert "name: expected text matching" in err and "Traceback" not in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "a",
        "a/b",
        *(f"a/b/s{i}.toml" for i in range(len(ESCAPING_NAMES))),
    ]


def test_results_path_refuses_names_that_bypassed_validation(tmp_path):
    from model.commands.run import default_out
    from model.engine.scenario import Scenario

    assert results_path_for(tmp_path, "baseline", "run1") == tmp_path / "baseline" / "run1"
    bypassed = Scenario.model_construct(name="../../x")  # no validation
    for name in (bypassed.name, "/etc", "a/b", "..", "x\x00y", ""):
        with pytest.raises(OutputError, match="expected a plain name"):
            default_out(name, seed=1)
