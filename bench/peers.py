"""Against the peers: our ``metrics/classification/`` beside Evidently and NannyML.

The data their comparison uses: 100,000 predictions of one version over 30 days in a
1,000,000-row table (scaled by --scale), loaded as the volume step loads it. Our side: p50
of the whole ``GET metrics/classification/`` answer over the 30 days through gunicorn,
exact ROC AUC included. Their side (``bench/peers_compute.py``, run by the interpreter of
a separate venv: see bench/requirements-peers.txt): the same window's labelled rows read
into pandas first, then only the computation timed, in memory. Skipped with a note when
that venv is missing or the peers do not import.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench import db, volume
from bench.server import gunicorn

BASE_TARGET = 100_000
SCRIPT = Path(__file__).with_name("peers_compute.py")
CANDIDATES = (db.ROOT / ".venv-peers" / "bin" / "python",)
# Found, not imported (importing evidently takes seconds): an import failure shows later.
CHECK = ("import importlib.util as u, sys; missing = [m for m in ('evidently', 'nannyml', "
         "'pandas', 'sklearn', 'psycopg2') if u.find_spec(m) is None]; "
         "sys.exit('missing: ' + ', '.join(missing) if missing else 0)")
# Peer runs are long (hundreds of ms each): fewer repeats than the endpoints get.
MAX_PEER_REPEAT = 7


def find_python(explicit: str | None) -> tuple[str | None, str]:
    """The peers' interpreter, or None and why not."""
    choices = [explicit or os.environ.get("BENCH_PEERS_PYTHON")] if (
        explicit or os.environ.get("BENCH_PEERS_PYTHON")) else [str(p) for p in CANDIDATES]
    for python in choices:
        if not Path(python).exists():
            continue
        done = subprocess.run([python, "-c", CHECK], capture_output=True, text=True,
                              check=False, timeout=300)
        if done.returncode == 0:
            return python, ""
        return None, f"{python} lacks the peers: {done.stderr.strip()[-500:]}"
    return None, (f"no peers venv ({', '.join(choices)} missing); create it with "
                  "`python3 -m venv .venv-peers && .venv-peers/bin/pip install -r "
                  "bench/requirements-peers.txt`")


def measure_peers(scale: float, *, db_prefix: str, repeat: int, work, python=None) -> dict:
    python, why = find_python(python)
    if python is None:
        print(f"    peers skipped: {why}", flush=True)
        return {"skipped": why}
    target = max(1000, round(BASE_TARGET * scale))
    others = 9 * target
    name = f"{db_prefix}_peers"
    url = db.recreate_pg(name)
    end = volume.span_end()
    load = volume.load_dataset(url, target, end)
    token = db.make_token(url, "bench-reader", [])
    start, stop = volume.windows(end)["aligned"]
    with gunicorn(url, workers=2, log_dir=work) as port:
        ours = volume.time_get(port, token, volume.metric_path("classification", start, stop),
                               repeat)
    args = {"url": url, "version": volume.TARGET_VERSION, "start": start.isoformat(),
            "end": stop.isoformat(), "repeat": max(3, min(repeat, MAX_PEER_REPEAT))}
    done = subprocess.run([python, str(SCRIPT), json.dumps(args)], capture_output=True,
                          text=True, check=False, timeout=1800)
    db.drop_pg(name)
    if done.returncode != 0:
        raise RuntimeError(f"peers_compute failed:\n{done.stderr[-3000:]}")
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    answer = ours["answer"] or {}
    result = {
        "target_rows": target, "table_rows": target + others, "python": python,
        "load_seconds": load["table"]["seconds"],
        "ours": {"p50": ours["p50"], "runs": len(ours["samples"]), "status": ours["status"],
                 "values": {k: answer.get(k) for k in
                            ("precision", "recall", "f1_score", "roc_auc",
                             "num_with_outcome")}},
        **theirs,
    }
    result["same_roc_auc"] = _close(answer.get("roc_auc"), theirs["evidently"]["values"].get(
        "RocAuc")) and _close(answer.get("roc_auc"), theirs["nannyml"]["values"].get("roc_auc"))
    print(f"    classification/ p50 {_ms(ours['p50'])} on {theirs['rows']:,} labelled rows; "
          f"Evidently {_ms(theirs['evidently']['p50'])}, NannyML "
          f"{_ms(theirs['nannyml']['p50'])}; same ROC AUC: {result['same_roc_auc']}",
          flush=True)
    return result


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-9


def _ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f} ms"
