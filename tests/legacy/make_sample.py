#!/usr/bin/env python3
# ruff: noqa  (a verbatim copy of shared/legacy/make_sample.py, kept as the generator wrote it)
"""Write a legacy monitoring data directory, defects included, for development and tests.

Usage: make_sample.py OUT_DIR [--predictions N] [--seed S]

Besides the legacy files it writes MANIFEST.json: how many records of each file are valid,
duplicated or defective, so an importer's report can be checked against it.
"""
import argparse
import json
import math
import random
from pathlib import Path

VERSIONS = ["v1.0", "v1.1", "v2.0"]
START = 1767225600.0  # 2026-01-01T00:00:00Z


def prediction(rng, i, ts):
    version = VERSIONS[i % len(VERSIONS)]
    predicted = rng.randint(0, 1)
    return {
        "timestamp": ts,
        "model_version": version,
        "prediction_id": f"pred_{i:07d}",
        "predicted_outcome": predicted,
        "confidence": round(rng.uniform(0.5, 1.0), 6),
        "features": {"grid_position": rng.randint(1, 20), "qualifying_gap": round(rng.random(), 4)},
        "metadata": {"race": f"round_{i % 24 + 1}"},
    }


def write_lines(path, records):
    with open(path, "w") as f:
        for rec in records:
            f.write(rec if isinstance(rec, str) else json.dumps(rec))
            f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--predictions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}

    # predictions.jsonl: valid records, exact repeats, conflicting repeats, defects
    lines, valid = [], []
    for i in range(args.predictions):
        rec = prediction(rng, i, START + i * 30.0)
        valid.append(rec)
        lines.append(rec)
    exact = [dict(r) for r in rng.sample(valid, max(1, len(valid) // 100))]
    conflicting = []
    for r in rng.sample(valid, max(1, len(valid) // 200)):
        c = dict(r)
        c["confidence"] = round(1.5 - c["confidence"], 6) if c["confidence"] < 1.0 else 0.5
        conflicting.append(c)
    defects = [
        "",  # blank line
        "{not json",
        json.dumps({**prediction(rng, 10**6, START), "confidence": 1.7}),
        json.dumps({k: v for k, v in prediction(rng, 10**6 + 1, START).items() if k != "model_version"}),
        json.dumps({**prediction(rng, 10**6 + 2, START), "predicted_outcome": "yes"}),
        json.dumps({**prediction(rng, 10**6 + 3, START)}).replace('"confidence": ', '"confidence": NaN, "x": '),
    ]
    lines += exact + conflicting
    for d in defects:
        lines.insert(rng.randrange(len(lines)), d)
    truncated = json.dumps(prediction(rng, 10**6 + 4, START))[:40]
    write_lines(out / "predictions.jsonl", lines)
    with open(out / "predictions.jsonl", "a") as f:
        f.write(truncated)  # crash mid-append: no newline
    manifest["predictions.jsonl"] = {
        "valid_unique": len(valid),
        "exact_repeats": len(exact),
        "conflicting_repeats": len(conflicting),
        "blank_lines": 1,
        "defective_lines": len(defects) - 1 + 1,  # the non-blank defects and the truncated tail
    }

    # metrics.jsonl
    metrics = [
        {"timestamp": START + h * 3600.0, "metric_name": name, "value": round(rng.random(), 4),
         "window_size": 500, "threshold": 0.7 if name == "accuracy" else None,
         "status": rng.choice(["normal", "warning", "alert"])}
        for h in range(48) for name in ("accuracy", "avg_confidence")
    ]
    write_lines(out / "metrics.jsonl", metrics)
    manifest["metrics.jsonl"] = {"valid_unique": len(metrics)}

    # health_snapshots.jsonl
    snaps = []
    for h in range(24):
        for v in VERSIONS:
            acc = round(0.8 - 0.01 * h + rng.uniform(-0.02, 0.02), 4)
            snaps.append({
                "timestamp": START + h * 3600.0, "model_version": v, "accuracy": acc,
                "precision": round(acc - 0.02, 4), "recall": round(acc - 0.03, 4),
                "f1_score": round(acc - 0.025, 4), "roc_auc": None if h == 0 else round(acc + 0.05, 4),
                "expected_calibration_error": round(rng.uniform(0.01, 0.1), 4),
                "num_predictions": rng.randint(100, 900), "prediction_accuracy_trend": round(rng.uniform(-5, 5), 2),
                "degradation_detected": h > 20,
            })
    write_lines(out / "health_snapshots.jsonl", snaps)
    manifest["health_snapshots.jsonl"] = {"valid_unique": len(snaps)}

    # alert_rules.json
    rules = [
        {"rule_id": "low_accuracy", "metric_name": "accuracy", "metric_type": "threshold", "threshold": 0.7,
         "comparison": "<", "severity": "warning", "component": "performance", "enabled": True,
         "cooldown_minutes": 60, "channels": ["console", "file"], "conditions": {"min_value": 0.0}},
        {"rule_id": "calibration_drift", "metric_name": "expected_calibration_error", "metric_type": "threshold",
         "threshold": 0.15, "comparison": ">", "severity": "critical", "component": "degradation", "enabled": True,
         "cooldown_minutes": 120, "channels": ["console"], "conditions": {}},
        {"rule_id": "disabled_rule", "metric_name": "f1_score", "metric_type": "threshold", "threshold": 0.5,
         "comparison": "<", "severity": "info", "component": "performance", "enabled": False,
         "cooldown_minutes": 30, "channels": ["console"], "conditions": {}},
    ]
    (out / "alert_rules.json").write_text(json.dumps(rules, indent=2))
    manifest["alert_rules.json"] = {"valid_unique": len(rules)}

    # alerts.jsonl, with one id collision
    alerts = []
    for k in range(30):
        ts = START + 3600.0 * k + 0.5
        rule = rules[k % 2]
        value = round(rule["threshold"] - 0.05 if rule["comparison"] == "<" else rule["threshold"] + 0.05, 4)
        acked = k % 3 == 0
        alerts.append({
            "timestamp": ts, "alert_id": f"alert_{int(ts * 1000)}", "severity": rule["severity"],
            "title": f"{rule['component'].upper()}: {rule['metric_name']} Alert",
            "message": f"{rule['metric_name']} is {value:.4f} ({rule['comparison']} {rule['threshold']:.4f})",
            "metric_name": rule["metric_name"], "metric_value": value, "threshold": rule["threshold"],
            "component": rule["component"], "model_version": VERSIONS[k % len(VERSIONS)],
            "acknowledged": acked, "acknowledged_at": ts + 600.0 if acked else None,
            "acknowledged_by": "oncall@example.com" if acked else None,
        })
    twin = dict(alerts[-1])
    twin["model_version"] = VERSIONS[0] if twin["model_version"] != VERSIONS[0] else VERSIONS[1]
    alerts.append(twin)  # same alert_id, different alert
    write_lines(out / "alerts.jsonl", alerts)
    manifest["alerts.jsonl"] = {"valid_unique": len(alerts) - 1, "colliding_ids": 1}

    with open(out / "alert_log.txt", "w") as f:
        for a in alerts:
            f.write(f"[{a['timestamp']}] [{a['severity']}] {a['title']}\n  {a['message']}\n\n")

    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
