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
        # Issue 16's target: the whole report, reading included, within 3 × numpy/scipy.
        out.append(_target(
            "drift report (read included) vs 3 × scipy/numpy floor", _fmt(drift["total_s"], "s"),
            _fmt(3 * drift["floor_s"], "s"), drift["total_s"] / (3 * drift["floor_s"])
            if drift["floor_s"] else None, "≤ 3× floor", drift["total_s"] <= 3 * drift["floor_s"],
            f"{drift.get('table_rows', 'n/a')} rows in the table; numbers read packed "
            "(binary COPY), the rest from other_features; bounded by the two scans a side "
            "(count, read) and the statistics"))
    else:
        out.append(_target("drift report vs 3 × floor + read", "n/a", "n/a", None,
                           "≤ 3× floor + read", None, "not available"))
    segments = _get(results, "segments")
    if segments:
        out.append(_target(
            f"segments over {segments['rows']:,} rows vs the same SQL raw",
            _fmt(segments["service_s"], "s"),
            _fmt(max(e["floor_s"] for e in segments["keys"].values()), "s"),
            segments["ratio_to_floor"], "≤ 1.5× raw SQL", segments["ratio_to_floor"] <= 1.5,
            f"worst segments over every key {segments['worst_s']:.2f} s"))
    if "volume" in results:
        out += volume_targets(results)
    if "peers" in results:
        out += peers_targets(results)
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
    lines += volume_markdown(results)
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


# --- The volume curve and the peers (bench/volume.py, bench/peers.py) ----------------------
FAST_LIMIT_S = 0.015
FLAT_FACTOR = 1.5
OUTCOMES_GOAL = 20_000
SCAN_OF = {"performance": "latency_percentiles", "classification": "roc_auc"}


def _rows_label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def aggregate_answers(stage: dict) -> dict:
    """(figure, window) → p50 of what the aggregates answer at one stage.

    Accuracy, calibration and the series are answered from the aggregates alone (API p50).
    Performance and classification make the very same ``window_sums`` call for all their
    other figures, then scan for theirs (latency percentiles, ROC AUC): that call's
    in-process p50 is what the aggregates cost them (an API p50 less a scan of seconds
    would be noise).
    """
    out = {}
    for e in stage["endpoints"]:
        if e["metric"] not in SCAN_OF:
            out[(e["metric"], e["window"])] = e["api_p50"]
    for window, seconds in stage.get("sums_p50", {}).items():
        out[("performance/classification without their scans: window_sums in-process",
             window)] = seconds
    series = stage["series"]
    out[(f"series 1h ({series['points']} points)", "aligned")] = series["api_p50"]
    return out


def volume_targets(results: dict) -> list[dict]:
    vol = results.get("volume")
    if not vol or not vol.get("stages"):
        return [_target("volume curve (SPEC §9)", "n/a", "n/a", None, "—", None,
                        "not available")]
    stages = vol["stages"]
    first, last = stages[0], stages[-1]
    labels = " / ".join(_rows_label(s["target_rows"]) for s in stages)
    out = []
    answers = [aggregate_answers(s) for s in stages]
    for key in answers[0]:
        values = [a.get(key) for a in answers]
        name = f"volume: {key[0]}, 30 days {key[1]}, p50 at {labels} rows"
        if any(v is None for v in values):
            out.append(_target(name, "n/a", "—", None, "≤ 15 ms, flat", None, "failed"))
            continue
        flat = values[-1] / values[0] if values[0] else None
        met = all(v <= FAST_LIMIT_S for v in values) and flat is not None and (
            flat <= FLAT_FACTOR)
        out.append(_target(
            name, " / ".join(f"{v * 1e3:.1f} ms" for v in values), "15 ms", flat,
            f"≤ 15 ms each, last ≤ {FLAT_FACTOR}× first", met,
            f"ratio = {_rows_label(last['target_rows'])} / "
            f"{_rows_label(first['target_rows'])}"))
    for figure in ("latency_percentiles", "roc_auc"):
        for window in ("aligned", "unaligned"):
            worst = None
            for stage in stages:
                scan = next(s for s in stage["scans"]
                            if s["figure"] == figure and s["window"] == window)
                ratio = scan["engine_p50"] / (2 * scan["sql_p50"] + 0.005)
                if worst is None or ratio > worst[0]:
                    worst = (ratio, stage, scan)
            ratio, stage, scan = worst
            out.append(_target(
                f"volume: {figure.replace('_', ' ')} (scans rows), 30 days {window}, worst "
                f"stage ({_rows_label(stage['target_rows'])})",
                _fmt(scan["engine_p50"], "ms"), _fmt(scan["sql_p50"], "ms"),
                scan["engine_p50"] / scan["sql_p50"], "≤ 2× raw + 5 ms", ratio <= 1,
                f"limit {(2 * scan['sql_p50'] + 0.005) * 1e3:.1f} ms; engine part in-process"))
    outcomes = vol.get("outcomes")
    if outcomes:
        out.append(_target(
            f"bulk outcomes, PostgreSQL ({outcomes['clients']} clients × {outcomes['batch']}"
            f"/request, {last['table_rows']:,}-row table)",
            _fmt(outcomes["rows_per_s"], "rows/s"), f"{OUTCOMES_GOAL:,} rows/s",
            outcomes["rows_per_s"] / OUTCOMES_GOAL, f"≥ {OUTCOMES_GOAL:,} rows/s",
            outcomes["rows_per_s"] >= OUTCOMES_GOAL and outcomes["all_ok"],
            "" if outcomes["all_ok"] else f"statuses {outcomes['statuses']}"))
    return out


def peers_targets(results: dict) -> list[dict]:
    peers = results.get("peers")
    if not peers or peers.get("skipped"):
        note = (peers or {}).get("skipped", "not run")
        return [_target("metrics/classification/ vs Evidently and NannyML", "n/a", "n/a",
                        None, "≥ 10× / faster", None, f"skipped: {note[:200]}")]
    ours = peers["ours"]["p50"]
    evidently, nannyml = peers["evidently"]["p50"], peers["nannyml"]["p50"]
    where = (f"{peers['target_rows']:,} rows in a {peers['table_rows']:,}-row table, "
             f"{peers['rows']:,} labelled")
    return [
        _target(f"metrics/classification/ vs Evidently's five-metric report ({where})",
                _fmt(ours, "ms"), _fmt(evidently, "ms"), evidently / ours, "≥ 10× faster",
                evidently / ours >= 10, "ratio = Evidently / ours"),
        _target(f"metrics/classification/ vs NannyML realized performance ({where})",
                _fmt(ours, "ms"), _fmt(nannyml, "ms"), nannyml / ours, "faster (> 1×)",
                nannyml / ours > 1, "ratio = NannyML / ours"),
    ]


def volume_markdown(results: dict) -> list[str]:
    vol = results.get("volume")
    lines = []
    if vol and vol.get("stages"):
        stages = vol["stages"]
        heads = [_rows_label(s["target_rows"]) for s in stages]
        lines += [
            "", f"### Volume curve (SPEC §9): version `{vol['version']}` beside "
            f"{stages[0]['other_rows']:,} predictions of other versions, 30 days", "",
            "| stage | rows of the version | table rows | COPY (rows added) | "
            "rebuild_rollups | VACUUM ANALYZE |", "|---|---|---|---|---|---|",
        ]
        for s in stages:
            load = s["load"]
            copied = load.get("table", load["target"])
            lines.append(
                f"| {_rows_label(s['target_rows'])} | {s['target_rows']:,} | "
                f"{s['table_rows']:,} | {copied['rows']:,} in "
                f"{copied['seconds']:.1f} s | {load['rebuild_seconds']:.1f} s | "
                f"{load['vacuum_seconds']:.1f} s |")
        lines += ["", "p50 of the API (gunicorn, one keep-alive client) beside the same "
                  "figures in raw SQL over the rows:", "",
                  "| endpoint | window | " + " | ".join(f"{h} API | {h} raw SQL" for h in heads)
                  + " | API last/first |",
                  "|---|---|" + "---|---|" * len(stages) + "---|"]
        keys = [(e["metric"], e["window"]) for e in stages[0]["endpoints"]]
        for metric, window in keys:
            cells, apis = [], []
            for s in stages:
                e = next(x for x in s["endpoints"]
                         if x["metric"] == metric and x["window"] == window)
                apis.append(e["api_p50"])
                cells.append(f"{_fmt(e['api_p50'], 'ms')} | {_fmt(e['sql_p50'], 'ms')}")
            flat = f"{apis[-1] / apis[0]:.2f}×" if None not in apis else "n/a"
            lines.append(f"| {metric} | {window} | {' | '.join(cells)} | {flat} |")
        series = [s["series"] for s in stages]
        flat = (f"{series[-1]['api_p50'] / series[0]['api_p50']:.2f}×"
                if series[0]["api_p50"] and series[-1]["api_p50"] else "n/a")
        lines.append(f"| series 1h ({series[0]['points']} points) | aligned | " + " | ".join(
            f"{_fmt(x['api_p50'], 'ms')} | {_fmt(x['sql_p50'], 'ms')}" for x in series)
            + f" | {flat} |")
        lines += ["", "The parts that scan rows, timed in-process (engine) beside their raw SQL,"
                  " and the sums (aggregates + edge hours):", "",
                  "| part | window | " + " | ".join(f"{h} engine | {h} raw SQL" for h in heads)
                  + " |", "|---|---|" + "---|---|" * len(stages)]
        for figure in ("latency_percentiles", "roc_auc"):
            for window in ("aligned", "unaligned"):
                cells = []
                for s in stages:
                    x = next(y for y in s["scans"]
                             if y["figure"] == figure and y["window"] == window)
                    cells.append(f"{_fmt(x['engine_p50'], 'ms')} | {_fmt(x['sql_p50'], 'ms')}")
                lines.append(f"| {figure} | {window} | {' | '.join(cells)} |")
        for window in ("aligned", "unaligned"):
            lines.append(f"| sums | {window} | " + " | ".join(
                f"{_fmt(s['sums_p50'][window], 'ms')} | —" for s in stages) + " |")
        queries = stages[-1].get("queries", {}).get("aligned", {})
        if queries:
            lines += ["", "Queries per answer (aligned window): " + ", ".join(
                f"{name.replace('_metrics', '')} {q['total']} ({q['reading_predictions']} "
                f"reading predictions_prediction)" for name, q in queries.items()) + "."]
        outcomes = vol.get("outcomes")
        if outcomes:
            lines += ["", f"Bulk outcomes: {outcomes['rows']:,} in batches of "
                      f"{outcomes['batch']} from {outcomes['clients']} clients in "
                      f"{outcomes['seconds']:.2f} s = {outcomes['rows_per_s']:,.0f} rows/s "
                      f"(statuses {outcomes['statuses']}); rebuild_rollups of one of those "
                      f"versions afterwards: \"{outcomes.get('rebuild_check')}\""]
    peers = results.get("peers")
    if peers and not peers.get("skipped"):
        lines += [
            "", f"### Against the peers ({peers['target_rows']:,} rows of one version over 30 "
            f"days in a {peers['table_rows']:,}-row table; {peers['rows']:,} labelled)", "",
            "| contender | p50 | runs | ROC AUC | F1 |", "|---|---|---|---|---|",
            f"| our GET metrics/classification/ (HTTP, whole answer) | "
            f"{_fmt(peers['ours']['p50'], 'ms')} | {peers['ours']['runs']} | "
            f"{peers['ours']['values']['roc_auc']} | {peers['ours']['values']['f1_score']} |",
            f"| Evidently {peers['versions']['evidently']} Report (5 metrics), in memory | "
            f"{_fmt(peers['evidently']['p50'], 'ms')} | {peers['evidently']['runs']} | "
            f"{peers['evidently']['values'].get('RocAuc')} | "
            f"{peers['evidently']['values'].get('F1Score')} |",
            f"| NannyML {peers['versions']['nannyml']} realized performance (calculate; "
            f"fit {peers['nannyml']['fit_p50'] * 1e3:.0f} ms apart), in memory | "
            f"{_fmt(peers['nannyml']['p50'], 'ms')} | {peers['nannyml']['runs']} | "
            f"{peers['nannyml']['values'].get('roc_auc')} | "
            f"{peers['nannyml']['values'].get('f1')} |",
            "", f"Reading those rows into pandas took {peers['read_seconds'] * 1e3:.0f} ms "
            f"(not counted for the peers). Same ROC AUC everywhere: {peers['same_roc_auc']}.",
        ]
    elif peers:
        lines += ["", f"### Against the peers: skipped ({peers['skipped']})"]
    return lines
