"""Crash-safe results folders: where a run may write, and one writer per folder at a time.

A run writes its results into a temporary folder beside the destination and renames it into
place when complete (:meth:`model.results.outputs.RunResult.write`), so a results folder is either
complete or absent. This module adds what makes that safe around it:

* :func:`check_output_folder` refuses a destination that is a regular file, that lies under a
  regular file, or that is a folder holding anything other than an earlier run's results
  (results never replace other files);
* :func:`output_lock` makes two runs with the same destination exclusive: the first creates
  the lock file ``.<name>.lock`` beside the destination atomically (``O_CREAT | O_EXCL``),
  records its process id in it, holds it until it has finished and then removes it; a second
  run refuses with :class:`OutputBusy`. A lock left by a process that no longer runs (killed,
  power cut) is taken over, with a notice. While it holds the lock a run also removes the
  temporary folders that a killed run left beside the destination;
* :func:`results_path_for` builds the default ``results/<scenario>/...`` path and refuses a
  scenario name that would lead outside the results folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

try:  # POSIX: a lock holder also holds an advisory lock, released by the kernel when it dies
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

#: Scenario names usable as a folder name (the same pattern the scenario schema enforces).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")

#: A lock whose holder is not found running and that is at least this old is stale (seconds).
#: A younger lock without a readable holder is being created right now.
STALE_AFTER_SECONDS = 10.0

#: The file that marks a results folder (written last, by :meth:`RunResult.write`).
MANIFEST = "manifest.json"


class OutputError(Exception):
    """A results destination that cannot be used (bad input: exit code 2)."""


class OutputBusy(Exception):
    """Another live run is writing the same results folder (exit code 4)."""


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def lock_path(out: Path) -> Path:
    """The lock file of a results folder: ``.<name>.lock`` beside it."""
    return out.parent / f".{out.name}.lock"


def temp_prefixes(out: Path) -> tuple[str, str]:
    """Name prefixes of the temporary folders a write uses beside ``out`` (new and old)."""
    return f".{out.name}.tmp-", f".{out.name}.old-"


def results_path_for(root: str | Path, name: str, *parts: str) -> Path:
    """``root/name/parts...``, refusing a name or part that would leave ``root``.

    Args:
        root: The results folder, e.g. ``results``.
        name: A scenario name (letters, digits, ``_``, ``.``, ``-``; no ``..``).
        *parts: Further path components (e.g. a run id), checked the same way.

    Raises:
        OutputError: If a component is not a plain name or the path escapes ``root``.
    """
    root = Path(root)
    for part in (name, *parts):
        if not NAME_PATTERN.match(part) or ".." in part:
            raise OutputError(
                f"results path: expected a plain name (letters, digits, '_', '.', '-', no '..') "
                f"for a folder under {root}, found {part!r}"
            )
    path = root.joinpath(name, *parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise OutputError(f"results path: {path} leads outside {root}")
    return path


def check_output_location(out: str | Path) -> Path:
    """Refuse a destination where no results folder can be made; return it as a ``Path``.

    Every command with ``--out`` calls this before any work starts. The destination is a
    folder, or lies where one can really be made: its names fit the file system (with the lock
    and temporary names a write adds beside it) and its first existing ancestor is a writable
    folder that takes a new folder (a probe folder is made and removed at once), so ``/proc/x``
    or a read-only mount is refused. What the folder may already hold is the command's
    business (:func:`check_output_folder` for one run's results).

    Raises:
        OutputError: If ``out`` has a NUL byte or a name too long, is or lies under a regular
            file, or lies where no folder can be created.
    """
    out = Path(out)
    if "\0" in str(out):
        raise OutputError(f"--out {out!r}: expected a folder path, found a NUL byte in it")
    try:
        _check_names(out)
        if out.exists() or out.is_symlink():
            if not out.is_dir():
                raise OutputError(
                    f"--out {out}: expected a results folder (new, or written by an earlier "
                    f"run), found an existing file"
                )
            return out
        _check_can_create(out)
    except OSError as err:
        raise OutputError(
            f"--out {out}: expected a folder that can be written, found "
            f"{err.strerror or type(err).__name__}"
        ) from None
    return out


def check_output_folder(out: str | Path) -> Path:
    """Refuse a results destination a run must not write to; return it as a ``Path``.

    A destination may be absent (it is created, where :func:`check_output_location` finds
    that one can be) or a folder an earlier run wrote (it is replaced when the new run
    completes). An empty folder is also accepted.

    Raises:
        OutputError: If ``out`` is refused by :func:`check_output_location`, or is a folder
            with other content than results.
    """
    out = check_output_location(out)
    if not out.is_dir():
        return out
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as err:
        raise OutputError(f"--out {out}: cannot read the folder: {err.strerror}") from None
    if entries and MANIFEST not in entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise OutputError(
            f"--out {out}: expected a new folder or an earlier results folder (with "
            f"{MANIFEST}), found a folder with other files ({shown}); results never "
            f"replace other files"
        )
    return out


#: Longest suffix a write adds to the folder's name beside it: ``.<name>.tmp-`` + 16 hex digits.
_ADDED_TO_NAME = len(".") + len(".tmp-") + 16


def _check_names(out: Path) -> None:
    """Refuse names the file system cannot hold (with the suffixes a write adds)."""
    folder = next((a for a in out.absolute().parents if a.exists()), Path("/"))
    try:
        name_max = int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        name_max = 255
    for part in out.parts:
        size = len(os.fsencode(part)) + (_ADDED_TO_NAME if part == out.name else 0)
        if size > name_max:
            raise OutputError(
                f"--out {out}: expected folder names of at most {name_max - _ADDED_TO_NAME} "
                f"bytes, found one of {len(os.fsencode(part))}"
            )


def _check_can_create(out: Path) -> None:
    """Refuse a new folder whose first existing ancestor will not take one."""
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(
            f"--out {out}: expected a folder path, found {ancestor} is an existing file"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: expected a writable folder, found {ancestor} read-only")
    probe = ancestor / f".probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as err:
        raise OutputError(
            f"--out {out}: expected a place where a folder can be created, found {ancestor} "
            f"refuses new folders ({err.strerror})"
        ) from None
    finally:  # also when Ctrl-C or SIGTERM lands between making the probe and removing it
        with contextlib.suppress(OSError):
            probe.rmdir()


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the folders created, outermost first."""
    missing = []
    node = folder
    while not node.exists():
        missing.append(node)
        if node == node.parent:
            break
        node = node.parent
    created = []
    for node in reversed(missing):
        try:
            node.mkdir()
        except FileExistsError:
            continue
        created.append(node)
    return created


def _remove_if_empty(folders: list[Path]) -> None:
    for node in reversed(folders):
        try:
            node.rmdir()
        except OSError:
            return


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True


def _read_holder(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        holder = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    pid = holder.get("pid", "?")
    host = holder.get("host")
    started = holder.get("started_utc")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    since = f", started {started}" if started else ""
    return f"process {pid}{where}{since}"


@dataclass
class _Hold:
    fd: int
    thread: int
    depth: int = 1


#: Lock files this process holds, by absolute path. A hold belongs to one thread, which may
#: nest holds (a run holds its folder and the writer takes it again); other threads are refused
#: like other processes.
_HELD: dict[Path, _Hold] = {}
_HELD_GUARD = threading.Lock()


def _try_create(lock: Path) -> int | None:
    """Create the lock file exclusively and record this process in it; None if it exists."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    except FileExistsError:
        return None
    if fcntl is not None:
        # the file is ours (O_EXCL); wait out a competitor that opened it to inspect it
        fcntl.flock(fd, fcntl.LOCK_EX)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:500],
    }
    os.write(fd, json.dumps(holder).encode("utf-8"))
    return fd


def _take_over_if_stale(lock: Path, out: Path, notify: Callable[[str], None]) -> None:
    """Remove ``lock`` if its holder is gone; raise :class:`OutputBusy` if it is alive."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return  # removed meanwhile: try to create it again
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                raise OutputBusy(
                    f"--out {out}: another run ({_describe(holder)}) is writing this results "
                    f"folder; wait for it to finish or choose another --out (lock file {lock})"
                ) from None
        holder = _read_holder(fd)
        age = time.time() - os.fstat(fd).st_mtime
        pid = holder.get("pid")
        if holder.get("host", socket.gethostname()) != socket.gethostname():
            alive = True  # a process id of another machine says nothing here
        else:
            alive = isinstance(pid, int) and _process_alive(pid)
        if fcntl is not None and holder and age >= STALE_AFTER_SECONDS:
            alive = False  # nobody holds the advisory lock: the recorded process is not ours
        if alive or (not holder and age < STALE_AFTER_SECONDS):
            raise OutputBusy(
                f"--out {out}: another run ({_describe(holder)}) is writing this results "
                f"folder; wait for it to finish or choose another --out (lock file {lock})"
            )
        try:
            if os.stat(lock).st_ino != os.fstat(fd).st_ino:
                return  # replaced meanwhile: try again
        except FileNotFoundError:
            return
        os.unlink(lock)
        notify(
            f"note: {out}: taking over the lock left by {_describe(holder)}, which is no "
            f"longer running (lock file {lock})"
        )
    finally:
        os.close(fd)


def _remove_leftovers(out: Path, notify: Callable[[str], None]) -> None:
    """Remove temporary folders beside ``out`` that a killed run left (the lock is held)."""
    prefixes = temp_prefixes(out)
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefixes) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            notify(f"note: removed {entry}, left by an interrupted run")


@contextmanager
def output_lock(
    out: str | Path,
    notify: Callable[[str], None] = _notice,
    attempts: int = 3,
    check: Callable[[Path], object] | None = None,
) -> Iterator[Path]:
    """Hold the results folder ``out`` for one run; nested holds in one process are free.

    Checks the destination (:func:`check_output_folder`), creates missing parent folders,
    creates the lock file, removes temporary folders a killed run left, and on exit removes
    the lock file and any parent folders it created that stayed empty.

    Args:
        out: The results folder.
        notify: Receives one-line notices (a stale lock taken over, leftovers removed);
            printed on standard error by default.
        attempts: How often to retry when another process removes a stale lock meanwhile.
        check: What the destination may hold, raising :class:`OutputError` otherwise
            (default :func:`check_output_folder`; many-run commands also accept the folder
            of an interrupted job they resume).

    Yields:
        ``out`` as a ``Path``.

    Raises:
        OutputError: If ``out`` cannot be a results folder.
        OutputBusy: If another live run holds the lock.
    """
    check = check or check_output_folder
    out = check_output_location(out)
    check(out)
    lock = lock_path(out)
    key = lock.absolute()
    me = threading.get_ident()
    with _HELD_GUARD:
        hold = _HELD.get(key)
        if hold is not None and hold.thread == me:
            hold.depth += 1
        elif hold is not None:
            raise OutputBusy(
                f"--out {out}: another run in this process is writing this results folder"
            )
    if hold is not None:
        try:
            yield out
        finally:
            hold.depth -= 1
        return
    created: list[Path] = []
    held = False
    completed = False
    try:
        # Ctrl-C or SIGTERM arriving while the lock is being taken would leave it behind:
        # they are held back until the lock is registered, then raised inside this try.
        with _signals_deferred():
            created = _make_parents(out.parent)
            fd = None
            for _ in range(attempts):
                fd = _try_create(lock)
                if fd is not None:
                    break
                _take_over_if_stale(lock, out, notify)
            if fd is None:
                raise OutputBusy(f"--out {out}: could not take the lock file {lock}; try again")
            with _HELD_GUARD:
                _HELD[key] = _Hold(fd=fd, thread=me)
            held = True
        check(out)  # it may have changed while we waited
        _remove_leftovers(out, notify)
        yield out
        completed = True
    finally:
        if held:
            with _signals_deferred():
                _release(lock, key)
        if not completed:
            _remove_if_empty(created)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) and SIGTERM until the block ends, then deliver them.

    Works at the level of Python's handlers (a signal mask would not do: the C handler may run
    in any thread of the process). Signal handlers exist in the main thread only; elsewhere
    the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def record(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: installed outside Python; leave it alone
            previous[signum] = signal.signal(signum, record)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])  # now handled as it would have been


def _release(lock: Path, key: Path) -> None:
    with _HELD_GUARD:
        fd = _HELD.pop(key).fd
    try:
        if os.stat(lock).st_ino == os.fstat(fd).st_ino:
            os.unlink(lock)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)
