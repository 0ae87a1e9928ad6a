"""How fast `manage.py import_legacy` streams a large predictions.jsonl, and in how much memory.

    measure_import(num_lines, workdir) -> {lines, seconds, lines_per_s, peak_rss_mb, …}

The file holds the same synthetic predictions the raw COPY benchmark inserts (bench.data),
as legacy lines. The import runs as its own process (so its peak RSS is its own, read from
``os.wait4``) against a fresh PostgreSQL database ``<prefix>_import`` made through
BENCH_PG_URL, or against ``database_url`` when one is given (its bench rows are deleted
afterwards). Run alone:

    .venv/bin/python -m bench.import_legacy 1000000 [DATABASE_URL]

or only write the file, to time or measure an import by hand:

    .venv/bin/python -m bench.import_legacy --write 1000000 DATA_DIR
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import data, db

PREFIX = "legacy_bench_"


def write_predictions(path: Path, num_lines: int) -> None:
    """num_lines legacy prediction lines, written as they are generated (flat memory)."""
    with path.open("w", encoding="utf-8") as out:
        for row in data.rows(num_lines, prefix=PREFIX, seed=6):
            out.write(data.as_legacy_line(row))
            out.write("\n")


def _run_import(database_url: str, data_dir: Path, rejects: Path) -> tuple[dict, float, float]:
    """(report, seconds, peak RSS in MB) of one import_legacy process."""
    args = [sys.executable, str(db.ROOT / "manage.py"), "import_legacy", str(data_dir),
            "--json", "--skip-checks", "--rejects", str(rejects)]
    env = {**os.environ, "DATABASE_URL": database_url}
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=db.ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    # Read the pipes before waiting, so a full pipe cannot stall the child.
    stdout, stderr = process.stdout.read(), process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"import_legacy failed:\n{stderr.decode()[-3000:]}")
    return json.loads(stdout), seconds, usage.ru_maxrss / 1024  # KiB on Linux


def measure_import(num_lines: int, workdir: Path, database_url: str | None = None,
                   db_prefix: str = "bench") -> dict:
    """Import a num_lines predictions.jsonl; lines, seconds, lines/s and peak RSS."""
    workdir = Path(workdir)
    data_dir = workdir / "legacy"
    data_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(data_dir / "predictions.jsonl", num_lines)
    own_database = database_url is None
    if own_database:
        database_url = db.recreate_pg(f"{db_prefix}_import")
    try:
        db.migrate(database_url)
        report, seconds, peak_rss_mb = _run_import(
            database_url, data_dir, workdir / "import_rejects.jsonl"
        )
    finally:
        if own_database:
            db.drop_pg(f"{db_prefix}_import")
        else:
            _delete_bench_rows(database_url)
    counts = report["files"]["predictions.jsonl"]
    return {
        "lines": num_lines,
        "imported": counts["imported"],
        "rejected": counts["rejected"],
        "seconds": seconds,
        "import_seconds": report["seconds"],  # inside the command, without start-up
        "lines_per_s": num_lines / seconds,
        "peak_rss_mb": peak_rss_mb,
        "file_mb": (data_dir / "predictions.jsonl").stat().st_size / 2**20,
    }


def _delete_bench_rows(database_url: str) -> None:
    if not database_url.startswith(("postgres", "pgsql")):
        return  # a SQLite file given by the caller is the caller's to remove
    conn = db.pg_connect(database_url)
    with conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM predictions_prediction WHERE prediction_id LIKE %s",
                       (PREFIX + "%",))
    conn.close()


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:2] == ["--write"]:
        folder = Path(sys.argv[3])
        folder.mkdir(parents=True, exist_ok=True)
        write_predictions(folder / "predictions.jsonl", int(sys.argv[2]))
        sys.exit(0)
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    url = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure_import(lines, Path(tmp), database_url=url), indent=2))
