"""alert_rules.json: one small JSON array, loaded whole; each element counts as a "line"."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from alerting.choices import MetricType
from alerting.models import AlertRule
from legacy.formats import BYTE_ORDER_MARK
from legacy.importing.context import ImportRun
from legacy.importing.records import REFUSED
from legacy.importing.report import FileReport
from legacy.parsing import describe_errors
from predictions.storage import one_line

RULE_EXTRAS = ("name", "description", "model_version")
RULE_COMPARED = (
    "metric_name", "threshold", "comparison", "severity", "component",
    "enabled", "cooldown_minutes", "channels", "conditions", *RULE_EXTRAS,
)


def rule_from_record(record) -> AlertRule | str:
    """An alert_rules.json element → an unsaved, validated AlertRule, or the reason."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("rule_id"), str) or not record["rule_id"]:
        return "rule_id: missing"
    known = {f.name for f in AlertRule._meta.concrete_fields} | {"metric_type"}
    unknown = sorted(set(record) - known)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    # The legacy metric_type is checked but not kept: nothing ever read it.
    if record.get("metric_type", MetricType.THRESHOLD) not in MetricType.values:
        return f"metric_type: must be one of {', '.join(MetricType.values)}"
    values = {
        "enabled": True, "cooldown_minutes": 60, "channels": ["console"], "conditions": {},
    }
    values.update({k: v for k, v in record.items() if k not in (
        "id", "last_triggered", "created_at", "updated_at", "metric_type")})
    if not isinstance(values["enabled"], bool):
        return "enabled: must be true or false"
    try:
        rule = AlertRule(**values)
        rule.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return describe_errors(exc.message_dict)
    except (TypeError, ValueError) as exc:
        return one_line(exc)
    return rule


def same_rule(stored: AlertRule, rule: AlertRule) -> bool:
    return all(getattr(stored, name) == getattr(rule, name) for name in RULE_COMPARED)


def import_rules(run: ImportRun, path: Path, counts: FileReport) -> None:
    raw = path.read_bytes().removeprefix(BYTE_ORDER_MARK)
    if not raw.strip():
        return  # an empty file: no rules
    try:
        rules = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        counts.lines += 1
        run.reject(counts, 1, raw.replace(b"\n", b" "), f"not a JSON array: {exc}")
        return
    if not isinstance(rules, list):
        counts.lines += 1
        run.reject(counts, 1, raw.replace(b"\n", b" "), "not a JSON array")
        return
    seen: dict[str, int] = {}
    for number, record in enumerate(rules, 1):
        counts.lines += 1
        verbatim = json.dumps(record).encode()
        rule = rule_from_record(record)
        if isinstance(rule, str):
            run.reject(counts, number, verbatim, rule)
            continue
        if rule.rule_id in seen:
            first = seen[rule.rule_id]
            existing = AlertRule.objects.get(rule_id=rule.rule_id)
            if same_rule(existing, rule):
                counts.duplicates += 1
            else:
                run.reject(counts, number, verbatim,
                           f"rule_id {rule.rule_id!r} was first defined in element "
                           f"{first} with different content (the first stands)")
            continue
        seen[rule.rule_id] = number
        existing = AlertRule.objects.filter(rule_id=rule.rule_id).first()
        if existing is None:
            try:
                with transaction.atomic():
                    rule.save()
            except REFUSED as exc:
                run.reject(counts, number, verbatim,
                           f"refused by the database: {one_line(exc)}")
                seen.pop(rule.rule_id)
                continue
            counts.imported += 1
        elif same_rule(existing, rule):
            counts.already_present += 1
        else:
            run.reject(counts, number, verbatim,
                       f"rule_id {rule.rule_id!r} is already stored with different "
                       "settings (the stored rule stands; edit it in the admin)")
