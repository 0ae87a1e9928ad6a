"""What one model version's page shows beside its metrics: registry, drift, actions.

The page (``/models/<version>/``, and ``/registry/<version>/`` leads there) gathers
everything about one version; this module fetches the parts that are not the metric
window itself: its registry entry and timeline, its latest drift report, its open
alerts and the actions proposed for it.
"""
from __future__ import annotations

from django.db.models import Q

from alerting.models import AgentAction, Alert
from predictions.choices import STAGE_BADGES, UNREGISTERED_STAGE
from predictions.drift_charts import psi_chart, psi_history_context
from predictions.models import DriftReport, ModelVersion
from predictions.registry import REGISTRY_FIELDS, timeline

OPEN_ALERTS = 10
ACTIONS = 10
RECENT_REPORTS = 5
TIMELINE_SNAPSHOTS = 10  # the newest snapshots in the timeline; stage changes all shown
# (training figure of the registry, its name): shown beside the live figure of the range.
TRAINING_METRICS = (
    ("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
    ("f1_score", "F1 score"), ("roc_auc", "ROC AUC"), ("brier_score", "Brier score"),
)


def registry_entry(version: str) -> dict:
    """The version's registry entry (stage, training figures), with the stage's badge.

    One row: the prediction counts the registry list shows would scan the version's
    predictions on every (self-)refresh, and the page has its range's figures anyway.
    """
    registered = ModelVersion.objects.filter(version=version).first()
    entry = {field: getattr(registered, field, None) for field in REGISTRY_FIELDS}
    entry.update(version=version, registered=registered is not None,
                 stage=registered.stage if registered else UNREGISTERED_STAGE)
    entry["badge"] = STAGE_BADGES.get(entry["stage"], "delivery-pending")
    return entry


def training_beside_live(entry: dict, figures: dict | None) -> list[dict]:
    """[{name, training, live}] for the metrics the registry keeps from training."""
    figures = figures or {}
    return [
        {"name": name, "training": entry.get(key), "live": figures.get(key)}
        for key, name in TRAINING_METRICS
    ]


def short_timeline(version: str) -> list[dict]:
    """The timeline, newest first: every stage change and decision, the last snapshots."""
    events = timeline(version)
    snapshots = [e for e in events if e["kind"] == "snapshot"][-TIMELINE_SNAPSHOTS:]
    kept = [e for e in events if e["kind"] != "snapshot"] + snapshots
    kept.sort(key=lambda e: e["at"], reverse=True)
    return kept


def latest_drift(version: str) -> dict:
    """The latest drift report with its PSI chart, the few before it, and each feature's
    PSI per day over the last 30 days (SPEC §13)."""
    reports = list(
        DriftReport.objects.filter(model_version=version).order_by("-created_at", "-id")
        [:RECENT_REPORTS]
    )
    latest = reports[0] if reports else None
    return {
        "latest_report": latest,
        "psi_chart": psi_chart(latest) if latest else None,
        "recent_reports": reports,
        **psi_history_context(version),
    }


def open_alerts(version: str) -> list[Alert]:
    return list(Alert.objects.unresolved().filter(model_version=version)[:OPEN_ALERTS])


def version_actions(version: str) -> list[AgentAction]:
    """Actions answering this version's alerts or naming it in their parameters."""
    return list(
        AgentAction.objects.filter(
            Q(alert__model_version=version) | Q(parameters__model_version=version)
        ).select_related("alert").order_by("-created_at", "-id")[:ACTIONS]
    )
