#!/usr/bin/env python3
"""The project's entry point from a fresh clone: needs only Python 3.11+.

    python3 scripts/dev.py serve   # venv, install, migrate, admin user, serve on
                                   # 127.0.0.1:8000 and run the monitor beside it
    python3 scripts/dev.py test    # venv, install dev requirements, run the whole test suite
    python3 scripts/dev.py manage ARGS…   # any manage.py command inside the venv

The virtual environment lives in .venv and is refreshed only when a requirements file
changes (a hash of them is kept in .venv/requirements.sha256). DEV_PYTHON=/path/to/python
uses that interpreter (with the requirements already installed) instead of .venv.

``serve`` runs two children: the web server and the monitor loop (``manage.py
run_monitor``, every MONITORING_MONITOR_INTERVAL_SECONDS). Ctrl-C or SIGTERM stops both;
if either one ends, the other is stopped too.
"""
import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# How long a child is given to stop after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 10


def ensure_venv(requirements: str) -> None:
    """Create .venv and install `requirements` into it unless already up to date."""
    global PYTHON
    if os.environ.get("DEV_PYTHON"):
        PYTHON = Path(os.environ["DEV_PYTHON"])
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    req_files = sorted(ROOT.glob("requirements*.txt"))
    digest = hashlib.sha256(
        (requirements + "".join(f.read_text() for f in req_files)).encode()
    ).hexdigest()
    stamp = VENV / "requirements.sha256"
    installed = stamp.read_text().split() if stamp.exists() else []
    # A dev install also satisfies a runtime one.
    if digest in installed or (requirements == "requirements.txt" and _dev_digest() in installed):
        return
    print(f"Installing {requirements} …", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(ROOT / requirements)],
        check=True, cwd=ROOT,  # requirements-dev.txt names ./client relative to the root
    )
    stamp.write_text(" ".join([*installed, digest]))


def _dev_digest() -> str:
    req_files = sorted(ROOT.glob("requirements*.txt"))
    return hashlib.sha256(
        ("requirements-dev.txt" + "".join(f.read_text() for f in req_files)).encode()
    ).hexdigest()


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), str(ROOT / "manage.py"), *args], cwd=ROOT, check=check)


def start_child(*args: str) -> subprocess.Popen:
    """``manage.py *args`` in its own process group, so that stopping it stops its own
    children too (runserver's autoreloader)."""
    return subprocess.Popen(
        [str(PYTHON), str(ROOT / "manage.py"), *args], cwd=ROOT,
        start_new_session=(os.name != "nt"),
    )


def stop_child(child: subprocess.Popen) -> None:
    """SIGTERM the child's process group; SIGKILL it if it has not ended in time."""
    if child.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            if os.name == "nt":
                child.terminate() if sig == signal.SIGTERM else child.kill()
            else:
                os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def serve(extra_args: list[str]) -> int:
    ensure_venv("requirements.txt")
    manage("migrate", "--noinput")
    manage("ensure_admin")
    address = extra_args[0] if extra_args else "127.0.0.1:8000"
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    web = start_child("runserver", address)
    monitor = start_child("run_monitor")
    print(f"\nServing on http://{address}/  (admin: http://{address}/admin/, Ctrl-C stops)\n"
          f"web server pid {web.pid}, monitor pid {monitor.pid}\n", flush=True)
    ended = None
    try:
        while not stopping and ended is None:
            time.sleep(0.2)
            if web.poll() is not None:
                ended = "web server"
            elif monitor.poll() is not None:
                ended = "monitor"
    finally:
        for child in (monitor, web):
            stop_child(child)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        print("stopped the web server and the monitor", flush=True)
        return 0
    print(f"the {ended} stopped; stopped the other one too", flush=True)
    return 1


def test(extra_args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    # One test process per core (pytest-xdist), unless the caller chose (-n, -p no:xdist).
    parallel = [] if any(a.startswith(("-n", "-p")) for a in extra_args) else ["-n", "auto"]
    return subprocess.run(
        [str(PYTHON), "-m", "pytest", *parallel, *extra_args], cwd=ROOT
    ).returncode


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (runs before the venv exists)
        sys.exit("Python 3.11 or newer is needed.")
    if not argv or argv[0] not in ("serve", "test", "manage"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    if command == "test":
        return test(rest)
    ensure_venv("requirements.txt")
    return manage(*rest, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
