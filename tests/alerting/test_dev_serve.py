"""`python3 scripts/dev.py serve` (the README's first command) runs the web server and the
monitor together, and Ctrl-C or SIGTERM stops both."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, subprocess_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def running(pid: int) -> bool:
    """Whether a process of that id is alive (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def heartbeat(db_path):
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT passes FROM alerting_monitorheartbeat").fetchone()
    except sqlite3.Error:
        return None


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_the_monitor_beside_the_web_server_and_stops_both(tmp_path, stop_signal):
    db_path = tmp_path / "serve.db"
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {**subprocess_env(), "DATABASE_URL": f"sqlite:///{db_path}",
           "DEV_PYTHON": sys.executable,
           # 5 s: "late" means no pass for 15 s, which a loaded CI machine never reaches by
           # accident, while the first pass still runs at once.
           "MONITORING_MONITOR_INTERVAL_SECONDS": "5",
           "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        serve = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "serve", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        pids = None
        while time.monotonic() < deadline:
            found = re.search(r"web server pid (\d+), monitor pid (\d+)", log_path.read_text())
            if found and heartbeat(db_path):
                pids = int(found[1]), int(found[2])
                break
            assert serve.poll() is None, log_path.read_text()
            time.sleep(0.3)
        assert pids, f"no monitor heartbeat:\n{log_path.read_text()}"
        web_pid, monitor_pid = pids
        body = b""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                            timeout=30) as answer:
                    body = answer.read()
            except OSError:
                time.sleep(0.3)
        assert b'"status": "ok"}' in body, log_path.read_text()  # the monitor's status

        os.kill(serve.pid, stop_signal)
        assert serve.wait(timeout=60) == 0, log_path.read_text()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            running(monitor_pid) or group_members(web_pid) or group_members(monitor_pid)
        ):
            time.sleep(0.1)
        assert not running(web_pid) and not running(monitor_pid)
        assert group_members(web_pid) == []  # runserver's autoreloader child too
        assert group_members(monitor_pid) == []
        assert "stopped the web server and the monitor" in log_path.read_text()
    finally:
        if serve.poll() is None:
            serve.kill()
