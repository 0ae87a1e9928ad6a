"""Targets as ratios of the same run's raw limits, and the Markdown table."""
from __future__ import annotations

RSS_LIMIT_MB = 300
RSS_FLAT_FACTOR = 1.25  # the large file may use at most 25 % more memory than the small one


def _get(results, *keys):
    value = results
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


def _target(name, measured, limit, ratio, goal, met, note=""):
    return {"target": name, "measured": measured, "limit": limit, "ratio": ratio,
            "goal": goal, "met": met, "note": note}


def _ratio_target(name, value, base, goal, unit="rows/s", note=""):
    if value is None or base is None:
        return _target(name, _fmt(value, unit), _fmt(base, unit), None,
                       "—" if goal is None else f"≥ {goal}×", None, note or "not available")
    ratio = value / base
    if goal is None:
        return _target(name, _fmt(value, unit), _fmt(base, unit), ratio, "—", None, note)
    return _target(name, _fmt(value, unit), _fmt(base, unit), ratio, f"≥ {goal}×",
                   ratio >= goal, note)


def _best(*values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _fmt(value, unit):
    if value is None:
        return "n/a"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "ms":
        return f"{value * 1e3:.2f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value}"


def targets(results: dict) -> list[dict]:
    out = []
    copy = _get(results, "raw_pg", "copy", "rows_per_s")
    out.append(_ratio_target(
        "REST batch ingestion, PostgreSQL (4 clients × 1000/request) vs raw COPY",
        _get(results, "rest_pg", "batch", "rows_per_s"), copy, 0.5))
    for group, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        out.append(_ratio_target(
            f"REST single POSTs, {label} (8 clients) vs raw single-row commits "
            "(best of 1 and 8 connections)",
            _get(results, f"rest_{group}", "single", "rows_per_s"),
            _best(_get(results, f"raw_{group}", "single_commit_1", "rows_per_s"),
                  _get(results, f"raw_{group}", "single_commit_8", "rows_per_s")), 0.3))
    for group, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        out.append(_ratio_target(
            f"monitoring_client, {label}: single log_prediction calls (4 threads) "
            "vs REST batch",
            _get(results, f"rest_{group}", "client", "rows_per_s"),
            _get(results, f"rest_{group}", "batch", "rows_per_s"), 0.5))
    out.append(_ratio_target(
        "REST batch ingestion, SQLite (4 clients × 1000/request) vs raw executemany",
        _get(results, "rest_sqlite", "batch", "rows_per_s"),
        _get(results, "raw_sqlite", "executemany", "rows_per_s"), None,
        note="no target in the issue; for comparison"))
    for entry in _get(results, "metrics", "endpoints") or []:
        api, sql = entry["api_p50"], entry["sql_p50"]
        name = (f"metrics/{entry['metric']}/ p50, window {entry['window_minutes']} min "
                f"vs raw SQL p50")
        if api is None:
            out.append(_target(name, f"HTTP {entry['api_status']}", _fmt(sql, "ms"), None,
                               "≤ 2× raw + 5 ms", None, "endpoint not available"))
            continue
        limit = 2 * sql + 0.005
        out.append(_target(name, _fmt(api, "ms"), _fmt(sql, "ms"), api / sql,
                           "≤ 2× raw + 5 ms", api <= limit, f"limit {limit * 1e3:.2f} ms"))
    imported = _get(results, "import")
    if imported and imported.get("large"):
        large, small = imported["large"], imported["small"]
        out.append(_ratio_target(
            f"import_legacy of {large['lines']:,} lines vs raw COPY",
            large["lines_per_s"], copy, 0.5, unit="rows/s"))
        rss = large["peak_rss_mb"]
        out.append(_target("import_legacy peak RSS", f"{rss:.0f} MB", f"{RSS_LIMIT_MB} MB",
                           None, f"< {RSS_LIMIT_MB} MB", rss < RSS_LIMIT_MB))
        flat = rss <= small["peak_rss_mb"] * RSS_FLAT_FACTOR
        out.append(_target(
            f"import_legacy RSS flat ({small['lines']:,} → {large['lines']:,} lines)",
            f"{rss:.0f} MB", f"{small['peak_rss_mb']:.0f} MB", rss / small["peak_rss_mb"],
            f"≤ {RSS_FLAT_FACTOR}×", flat))
    else:
        out.append(_target("import_legacy vs raw COPY, peak RSS, flat", "n/a", "n/a", None,
                           "≥ 0.5×, < 300 MB, flat", None, "not available"))
    scans = _get(results, "legacy", "scans")
    endpoints = _get(results, "metrics", "endpoints")
    if scans and endpoints:
        worst = None
        for entry in endpoints:
            if entry["api_p50"] is None:
                continue
            scan = scans[str(entry["window_minutes"])]["seconds"]
            ratio = scan / entry["api_p50"]
            if worst is None or ratio < worst[0]:
                worst = (ratio, entry, scan)
        if worst:
            ratio, entry, scan = worst
            out.append(_target(
                f"metrics vs the legacy file store at {results['legacy']['lines']:,} lines "
                f"(slowest: {entry['metric']}, {entry['window_minutes']} min)",
                _fmt(entry["api_p50"], "ms"), _fmt(scan, "s"), ratio, "≥ 500× faster",
                ratio >= 500, "legacy scan time / endpoint p50"))
    else:
        out.append(_target("metrics vs the legacy file store", "n/a", "n/a", None,
                           "≥ 500× faster", None, "not available"))
    drift = _get(results, "drift")
    if drift:
        bound = 3 * drift["floor_s"] + drift["read_s"]
        out.append(_target(
            "drift report vs 3 × compute floor + read", _fmt(drift["total_s"], "s"),
            _fmt(bound, "s"), drift["total_s"] / bound if bound else None, "≤ 3× floor + read",
            drift["total_s"] <= bound,
            f"read {drift['read_s']:.2f} s, compute {drift['compute_s']:.2f} s, "
            f"floor {drift['floor_s']:.2f} s"))
    else:
        out.append(_target("drift report vs 3 × floor + read", "n/a", "n/a", None,
                           "≤ 3× floor + read", None, "not available"))
    return out


def _met(flag):
    return {True: "**met**", False: "**MISSED**", None: "—"}[flag]


def markdown(results: dict) -> str:
    env = results.get("environment", {})
    size = results["sizes"]
    lines = [
        f"## Benchmark run {env.get('date', '')}",
        "",
        f"Machine: {env.get('cpu')} · {env.get('cores')} cores · {env.get('memory_gb')} GB · "
        f"{env.get('os')}",
        f"Versions: Python {env.get('python')}, Django {env.get('django')}, DRF "
        f"{env.get('djangorestframework')}, gunicorn {env.get('gunicorn')} (2 sync workers), "
        f"psycopg2 {env.get('psycopg2')}, PostgreSQL {env.get('postgresql')} "
        f"(synchronous_commit={env.get('postgresql_synchronous_commit')}), "
        f"SQLite {env.get('sqlite')} (WAL, synchronous=NORMAL); commit {env.get('git_commit')}",
        f"Sizes (scale {size['scale']}): {size['ingest_rows']:,} rows for batch ingestion, "
        f"{size['single_posts']:,} single POSTs, {size['metric_rows']:,} predictions for the "
        f"metrics and the legacy file, {size['import_lines']:,} lines for import_legacy. "
        f"Run took {results.get('total_seconds', 0):.0f} s; load average (1, 5, 15 min) "
        f"{env.get('load_average_at_start')} at start, {env.get('load_average_at_end')} at end.",
        "",
        "### Targets",
        "",
        "| target | measured | raw limit / bound | ratio | goal | result |",
        "|---|---|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        ratio = "—" if t["ratio"] is None else f"{t['ratio']:.3g}"
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['measured']} | {t['limit']} | {ratio} | "
                     f"{t['goal']} | {_met(t['met'])}{note} |")
    metrics = results.get("metrics")
    if metrics:
        scans = _get(results, "legacy", "scans") or {}
        lines += [
            "",
            f"### Metric endpoints at {metrics['rows']:,} predictions (version "
            f"{metrics['version']}, {metrics['repeat']} requests each, one keep-alive client)",
            "",
            "| endpoint | window | rows of v1 in window | raw SQL p50 | API p50 | API p95 | "
            "≤ 2×raw+5 ms | legacy scan | × faster than legacy |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in metrics["endpoints"]:
            scan = scans.get(str(e["window_minutes"]), {}).get("seconds")
            faster = (f"{scan / e['api_p50']:,.0f}×" if scan and e["api_p50"] else "n/a")
            ok = None if e["api_p50"] is None else e["api_p50"] <= 2 * e["sql_p50"] + 0.005
            lines.append(
                f"| {e['metric']} | {e['window_minutes']} min | {e['rows_in_window']:,} | "
                f"{e['sql_p50'] * 1e3:.2f} ms | {_fmt(e['api_p50'], 'ms')} | "
                f"{_fmt(e['api_p95'], 'ms')} | {_met(ok)} | {_fmt(scan, 's')} | {faster} |")
    lines += ["", "### Raw limits and ingestion", "", "| measurement | rows | seconds | rows/s |",
              "|---|---|---|---|"]
    for group, label in (("raw_pg", "raw PostgreSQL"), ("raw_sqlite", "raw SQLite"),
                         ("rest_pg", "REST PostgreSQL"), ("rest_sqlite", "REST SQLite")):
        for key, value in (results.get(group) or {}).items():
            if isinstance(value, dict) and "rows_per_s" in value:
                lines.append(f"| {label}: {key} | {value['rows']:,} | {value['seconds']:.2f} | "
                             f"{value['rows_per_s']:,.0f} |")
    if metrics:
        lines.append(f"| COPY of the metric dataset into predictions_prediction | "
                     f"{metrics['rows']:,} | {metrics['load_copy_seconds']:.2f} | "
                     f"{metrics['load_copy_rows_per_s']:,.0f} |")
    imported = results.get("import")
    if imported:
        for label in ("small", "large"):
            m = imported.get(label)
            if m:
                lines.append(f"| import_legacy ({label}, peak RSS {m['peak_rss_mb']:.0f} MB) | "
                             f"{m['lines']:,} | {m['seconds']:.2f} | {m['lines_per_s']:,.0f} |")
    for group in ("rest_pg", "rest_sqlite"):
        g = results.get(group)
        if g and g.get("stored_rows") != g.get("expected_rows"):
            lines.append(f"\n**{group}: stored {g.get('stored_rows')} rows, expected "
                         f"{g.get('expected_rows')}** (statuses: "
                         f"{g.get('batch', {}).get('statuses')}, "
                         f"{g.get('single', {}).get('statuses')})")
    if results.get("errors"):
        lines += ["", "### Steps that failed", ""]
        for step, error in results["errors"].items():
            lines.append(f"- {step}: `{error.splitlines()[0][:300]}`")
    return "\n".join(lines) + "\n"
