"""alerts.jsonl: each alert linked to the rule that wrote it; colliding ids kept apart; an
acknowledgment that arrived since an earlier import applied; then the rules' cooldowns
rebuilt from the alert history."""
from __future__ import annotations

import re
from pathlib import Path

from django.db import transaction
from django.db.models import F, Max, Q

from alerting.choices import AlertStatus, Severity
from alerting.models import Alert, AlertRule, RuleCooldown
from alerting.rules import alert_title
from legacy.importing.context import ImportRun
from legacy.importing.fields import collect, epoch_field, number_field, text_field
from legacy.importing.records import REFUSED, Record
from legacy.importing.report import MAX_LISTED_REJECTIONS, FileReport
from predictions.storage import one_line

ALERT_CORE = ("timestamp", "severity", "title", "message", "metric_name", "metric_value",
              "threshold", "component", "model_version")
ALERTS_PER_TRANSACTION = 1000
IMPORT = "import"  # who resolved the legacy alerts merged into one incident


def alert_row(record: dict) -> dict | str:
    """An alerts.jsonl record → Alert fields (rule left to the caller), or the reason."""
    acknowledged = record.get("acknowledged", False)
    severity = record.get("severity")
    checks = [
        ("alert_id", text_field(record, "alert_id", Alert._meta.get_field("alert_id").max_length)),
        ("timestamp", epoch_field(record, "timestamp")),
        ("severity", (None, severity) if severity in Severity.values else (
            f"severity: must be one of {', '.join(Severity.values)}, got {severity!r}", None)),
        ("title", text_field(record, "title", 255)),
        ("message", text_field(record, "message", 10**6, required=False)),
        ("metric_name", text_field(record, "metric_name", 64, required=False)),
        ("metric_value", number_field(record, "metric_value", required=False)),
        ("threshold", number_field(record, "threshold", required=False)),
        ("component", text_field(record, "component", 64, required=False)),
        ("model_version", text_field(record, "model_version", 64, required=False)),
        ("acknowledged", (None, acknowledged) if isinstance(acknowledged, bool) else (
            f"acknowledged: must be true or false, got {acknowledged!r}", None)),
        ("acknowledged_at", epoch_field(record, "acknowledged_at", required=False)),
        ("acknowledged_by", text_field(record, "acknowledged_by", 150, required=False)),
    ]
    problems, row = collect(checks)
    if problems:
        return "; ".join(problems)
    if row["acknowledged"]:
        row["status"] = AlertStatus.ACKNOWLEDGED
    return row


def same_alert(stored: Alert, row: dict) -> bool:
    return all(getattr(stored, name) == row[name] for name in ALERT_CORE)


def match_rule(rules: list[AlertRule], row: dict) -> AlertRule | None:
    """The rule that fired a legacy alert: same metric and component, the title it
    writes, and (when several fit) the same threshold and severity."""
    fitting = [
        rule for rule in rules
        if rule.metric_name == row["metric_name"]
        and rule.component == row["component"]
        and alert_title(rule.component, rule.metric_name) == row["title"]
        and (not rule.model_version or rule.model_version == row["model_version"])
    ]
    if len(fitting) > 1:
        fitting = [
            rule for rule in fitting
            if rule.threshold == row["threshold"] and rule.severity == row["severity"]
        ] or fitting
    return fitting[0] if len(fitting) == 1 else None


def import_alerts(run: ImportRun, path: Path, counts: FileReport) -> None:
    rules = list(AlertRule.objects.all())
    batch: list[Record] = []
    for number, raw, record in run.json_lines(path, counts):
        row = alert_row(record)
        if isinstance(row, str):
            run.reject(counts, number, raw, row)
            continue
        row["rule"] = match_rule(rules, row)
        batch.append(Record(number, raw, row))
        if len(batch) >= min(run.batch_size, ALERTS_PER_TRANSACTION):
            _flush(run, batch, counts)
            batch = []
    if batch:
        _flush(run, batch, counts)


def _flush(run: ImportRun, batch: list[Record], counts: FileReport) -> None:
    watermark = run.watermarks[Alert]
    with transaction.atomic():
        for record in batch:
            _import_alert(run, record, counts, watermark)


def _import_alert(run: ImportRun, record: Record, counts: FileReport, watermark: int) -> None:
    row = record.row
    base_id = row["alert_id"]
    pattern = re.compile(re.escape(base_id) + r"(?:_(\d+))?")
    taken = {}
    for stored in Alert.objects.filter(
        Q(alert_id=base_id) | Q(alert_id__startswith=base_id + "_")
    ):
        if pattern.fullmatch(stored.alert_id):
            taken[stored.alert_id] = stored
    for stored in taken.values():
        if same_alert(stored, row):
            if not stored.acknowledged and row["acknowledged"]:
                # The legacy file was rewritten after an acknowledgment: apply it.
                Alert.objects.filter(pk=stored.pk, acknowledged=False).update(
                    acknowledged=True,
                    acknowledged_at=row["acknowledged_at"],
                    acknowledged_by=row["acknowledged_by"],
                    status=AlertStatus.ACKNOWLEDGED
                    if stored.status == AlertStatus.OPEN else stored.status,
                )
                counts.updated += 1
            elif stored.pk > watermark:
                counts.duplicates += 1
            else:
                counts.already_present += 1
            return
    alert_id = base_id
    suffix = 0
    while alert_id in taken:
        suffix += 1
        alert_id = f"{base_id}_{suffix}"
    if len(alert_id) > Alert._meta.get_field("alert_id").max_length:
        run.reject(counts, record.number, record.raw, f"alert_id {alert_id!r} is too long")
        return
    row = {**row, "alert_id": alert_id, **_merged_into_incident(row, alert_id)}
    try:
        with transaction.atomic():
            Alert.objects.create(**row)
    except REFUSED as exc:
        run.reject(counts, record.number, record.raw,
                   f"refused by the database: {one_line(exc)}")
        return
    counts.imported += 1
    renamed = run.report.renamed_alert_ids
    if alert_id != base_id and len(renamed) < MAX_LISTED_REJECTIONS:
        renamed.append({"file": counts.file, "line": record.number, "alert_id": base_id,
                        "stored_as": alert_id})


def _merged_into_incident(row: dict, alert_id: str) -> dict:
    """One incident per rule and version (SPEC §10): the legacy library fired a new alert
    after every cooldown; of a rule's open alerts for one version the newest stays open,
    carrying the others' occurrences, and the others are stored resolved by the import
    with a note naming it. Returns the fields that change on the alert being imported."""
    if row["rule"] is None:
        return {}
    incident = (
        Alert.objects.unresolved().select_for_update()
        .filter(rule=row["rule"], model_version=row["model_version"]).first()
    )
    if incident is None:
        return {"last_value": row["metric_value"], "last_seen_at": row["timestamp"]}
    merged = {"status": AlertStatus.RESOLVED, "resolved_by": IMPORT,
              "resolution_note": "merged into {}"}
    if row["timestamp"] >= incident.timestamp:  # the new one is the open incident
        Alert.objects.filter(pk=incident.pk).update(
            **{**merged, "resolution_note": merged["resolution_note"].format(alert_id)},
            resolved_at=row["timestamp"],
        )
        return {"occurrences": incident.occurrences + 1, "last_value": row["metric_value"],
                "last_seen_at": row["timestamp"]}
    Alert.objects.filter(pk=incident.pk).update(occurrences=F("occurrences") + 1)
    return {**merged, "resolution_note": merged["resolution_note"].format(incident.alert_id),
            "resolved_at": incident.timestamp}


def rebuild_cooldowns() -> int:
    """Cooldowns and ``last_triggered`` from the alert history: per (rule, version) the
    newest alert. Only moves them forward; returns how many cooldown rows changed."""
    changed = 0
    newest_per_rule: dict[int, object] = {}
    for entry in (
        Alert.objects.filter(rule__isnull=False)
        .values("rule_id", "model_version")
        .annotate(newest=Max("timestamp"))
        .order_by()
    ):
        rule_id, version, newest = entry["rule_id"], entry["model_version"], entry["newest"]
        cooldown, created = RuleCooldown.objects.get_or_create(
            rule_id=rule_id, model_version=version, defaults={"last_fired_at": newest}
        )
        if created:
            changed += 1
        else:
            changed += RuleCooldown.objects.filter(pk=cooldown.pk).filter(
                Q(last_fired_at__isnull=True) | Q(last_fired_at__lt=newest)
            ).update(last_fired_at=newest)
        if rule_id not in newest_per_rule or newest_per_rule[rule_id] < newest:
            newest_per_rule[rule_id] = newest
    # A pair with an open incident is firing; the engine then updates that incident.
    for rule_id, version, since in (
        Alert.objects.unresolved().filter(rule__isnull=False)
        .values_list("rule_id", "model_version", "timestamp")
    ):
        RuleCooldown.objects.filter(rule_id=rule_id, model_version=version).exclude(
            state="firing"
        ).update(state="firing", since=since)
    for rule_id, newest in newest_per_rule.items():
        AlertRule.objects.filter(pk=rule_id).filter(
            Q(last_triggered__isnull=True) | Q(last_triggered__lt=newest)
        ).update(last_triggered=newest)
    return changed
