#!/usr/bin/env python3
"""The project's entry point from a fresh clone: needs only Python 3.11+.

    python3 scripts/dev.py serve   # venv, install, migrate, admin user, serve on 127.0.0.1:8000
    python3 scripts/dev.py test    # venv, install dev requirements, run the whole test suite
    python3 scripts/dev.py manage ARGS…   # any manage.py command inside the venv

The virtual environment lives in .venv and is refreshed only when a requirements file
changes (a hash of them is kept in .venv/requirements.sha256).
"""
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(requirements: str) -> None:
    """Create .venv and install `requirements` into it unless already up to date."""
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


def serve(extra_args: list[str]) -> int:
    ensure_venv("requirements.txt")
    manage("migrate", "--noinput")
    manage("ensure_admin")
    address = extra_args[0] if extra_args else "127.0.0.1:8000"
    print(f"\nServing on http://{address}/  (admin: http://{address}/admin/, Ctrl-C stops)\n",
          flush=True)
    try:
        return manage("runserver", address, check=False).returncode
    except KeyboardInterrupt:
        return 0


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
