"""The model registry: versions, promotions, the timeline and retraining decisions (SPEC §8).

Promotion is one transaction holding row locks on every version of the model (taken in
id order, so two promotions never deadlock): promoting to production archives the
model's previous production version, and every move is a ModelStageChange. The API, the
admin and the pages call these functions; nothing else changes a stage.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from predictions.choices import UNREGISTERED_STAGE, DecisionAction, Stage, TriggerReason
from predictions.models import (
    HealthSnapshot,
    ModelStageChange,
    ModelVersion,
    Prediction,
    RetrainingDecision,
)

# Snapshots shown on a timeline: the most recent ones (a monitor writes one a minute).
TIMELINE_SNAPSHOTS = 200


class RegistryError(ValueError):
    """A registry request that cannot be carried out as asked (the API answers 400)."""


class UnknownVersion(RegistryError):
    """The request names a version that is not registered (the API answers 400, SPEC §8)."""


# --- Versions ------------------------------------------------------------------------
def register_version(data: dict, by: str = "", now=None) -> ModelVersion:
    """Register a version (stage ``registered``), recorded as the first timeline event.

    ``data`` holds ModelVersion fields; a ``stage`` other than registered is reached by a
    promotion in the same transaction, so it is recorded and archives as usual.
    """
    now = now or timezone.now()
    fields = dict(data)
    stage = fields.pop("stage", None) or Stage.REGISTERED
    if stage not in Stage.values:
        raise RegistryError(f"Unknown stage {stage!r}; choose from {', '.join(Stage.values)}.")
    with transaction.atomic():
        version = ModelVersion.objects.create(stage=Stage.REGISTERED, **fields)
        ModelStageChange.objects.create(
            version=version, from_stage="", to_stage=Stage.REGISTERED, changed_at=now,
            changed_by=by, note="registered",
        )
        if stage != Stage.REGISTERED:
            version = promote(version.version, stage, by, now=now)
    return version


def promote(version: str, to_stage: str, by: str, note: str = "", now=None) -> ModelVersion:
    """Move ``version`` to ``to_stage``; to production archives the model's previous one
    and records when and by whom the version was promoted.

    Raises ModelVersion.DoesNotExist for an unknown version, RegistryError for an
    unknown stage. Moving a version to the stage it is in changes nothing.
    """
    if to_stage not in Stage.values:
        raise RegistryError(
            f"Unknown stage {to_stage!r}; choose from {', '.join(Stage.values)}."
        )
    with transaction.atomic():
        model_name = ModelVersion.objects.values_list("model_name", flat=True).get(
            version=version
        )
        # Lock every version of the model, in id order: concurrent promotions queue up.
        siblings = list(
            ModelVersion.objects.select_for_update().filter(model_name=model_name).order_by("pk")
        )
        target = next((v for v in siblings if v.version == version), None)
        if target is None:  # moved to another model while we waited for the locks
            raise RegistryError(f"{version} changed model during the promotion; try again.")
        if target.stage == to_stage:
            return target
        now = now or timezone.now()
        if to_stage == Stage.PRODUCTION:
            for previous in siblings:
                if previous.pk != target.pk and previous.stage == Stage.PRODUCTION:
                    _move(previous, Stage.ARCHIVED, by, f"replaced by {target.version}", now)
        _move(target, to_stage, by, note, now)
        if to_stage == Stage.PRODUCTION:
            # promoted_at/by record the last move to production; other moves keep them.
            target.promoted_at, target.promoted_by = now, by
            ModelVersion.objects.filter(pk=target.pk).update(promoted_at=now, promoted_by=by)
    return target


def _move(version: ModelVersion, to_stage: str, by: str, note: str, now) -> None:
    ModelStageChange.objects.create(
        version=version, from_stage=version.stage, to_stage=to_stage, changed_at=now,
        changed_by=by, note=note,
    )
    ModelVersion.objects.filter(pk=version.pk).update(stage=to_stage, updated_at=now)
    version.stage = to_stage


def versions_overview(versions: list[str] | None = None, stage: str | None = None,
                      model_name: str | None = None) -> list[dict]:
    """Registered and seen-but-unregistered versions with their prediction figures.

    Four queries whatever the number of versions or predictions: the registry, one
    GROUP BY over the predictions, and two for the latest snapshot of each version.
    """
    registered = ModelVersion.objects.order_by()
    predictions = Prediction.objects.order_by()
    if versions is not None:
        registered = registered.filter(version__in=versions)
        predictions = predictions.filter(model_version__in=versions)
    registry = {v.version: v for v in registered}
    seen = {
        row["model_version"]: row
        for row in predictions.values("model_version").annotate(
            num_predictions=Count("id"),
            num_with_outcome=Count("id", filter=Q(actual_outcome__isnull=False)),
            first_seen=Min("timestamp"),
            last_seen=Max("timestamp"),
        )
    }
    names = sorted(set(registry) | set(seen))
    latest = latest_snapshots(names)
    overview = []
    for name in names:
        registered_version = registry.get(name)
        figures = seen.get(name, {})
        entry = {field: None for field in REGISTRY_FIELDS}
        if registered_version is not None:
            entry.update({field: getattr(registered_version, field) for field in REGISTRY_FIELDS})
        entry.update(
            version=name,
            stage=registered_version.stage if registered_version else UNREGISTERED_STAGE,
            registered=registered_version is not None,
            num_predictions=figures.get("num_predictions", 0),
            num_with_outcome=figures.get("num_with_outcome", 0),
            first_seen=figures.get("first_seen"),
            last_seen=figures.get("last_seen"),
            latest_snapshot=latest.get(name),
        )
        overview.append(entry)
    if stage:
        overview = [entry for entry in overview if entry["stage"] == stage]
    if model_name:
        overview = [entry for entry in overview if entry["model_name"] == model_name]
    return overview


REGISTRY_FIELDS = (
    "model_name", "algorithm", "accuracy", "precision", "recall", "f1_score", "roc_auc",
    "brier_score", "hyperparameters", "feature_names", "training_samples", "mlflow_run_id",
    "model_path", "metadata_path", "reference_start", "reference_end", "promoted_at",
    "promoted_by", "created_at", "updated_at",
)


def latest_snapshots(versions: list[str]) -> dict[str, HealthSnapshot]:
    """The newest snapshot of each version (two queries: the newest times, their rows)."""
    if not versions:
        return {}
    newest = (
        HealthSnapshot.objects.filter(model_version__in=versions)
        .values("model_version")
        .annotate(at=Max("timestamp"))
        .order_by()
    )
    wanted = Q(pk__in=[])
    for row in newest:
        wanted |= Q(model_version=row["model_version"], timestamp=row["at"])
    latest = {}
    for snapshot in HealthSnapshot.objects.filter(wanted).order_by("id"):
        latest[snapshot.model_version] = snapshot  # ties on the time: the last stored
    return latest


def version_exists(version: str) -> bool:
    """Registered, or carried by a prediction, a snapshot or a decision."""
    return (
        ModelVersion.objects.filter(version=version).exists()
        or Prediction.objects.filter(model_version=version).exists()
        or HealthSnapshot.objects.filter(model_version=version).exists()
        or RetrainingDecision.objects.filter(model_version=version).exists()
    )


# --- Timeline ------------------------------------------------------------------------
def timeline(version: str) -> list[dict]:
    """Stage changes, decisions and (recent) snapshots of ``version``, oldest first."""
    events = []
    for change in ModelStageChange.objects.filter(version__version=version):
        events.append({
            "at": change.changed_at, "kind": "stage_change", "id": change.pk,
            "from_stage": change.from_stage, "to_stage": change.to_stage,
            "by": change.changed_by, "note": change.note,
        })
    for decision in RetrainingDecision.objects.filter(model_version=version):
        events.append({
            "at": decision.timestamp, "kind": "decision", "id": decision.pk,
            "action": decision.action, "trigger_reason": decision.trigger_reason,
            "by": decision.recorded_by, "action_ref": decision.action_ref_id,
        })
    recent_snapshots = HealthSnapshot.objects.filter(model_version=version).order_by(
        "-timestamp", "-id"
    )[:TIMELINE_SNAPSHOTS]
    for snapshot in recent_snapshots:
        metrics = snapshot.metrics or {}
        events.append({
            "at": snapshot.timestamp, "kind": "snapshot", "id": snapshot.pk,
            "accuracy": snapshot.accuracy, "num_predictions": snapshot.num_predictions,
            "degradation_detected": snapshot.degradation_detected,
            "feature_drift_ratio": metrics.get("feature_drift_ratio"),
        })
    # At one moment, a decision comes before the promotion it caused.
    order = {"decision": 0, "stage_change": 1, "snapshot": 2}
    events.sort(key=lambda event: (event["at"], order[event["kind"]], event["id"]))
    return events


# --- Retraining decisions --------------------------------------------------------------
def record_decision(data: dict, by: str, now=None) -> RetrainingDecision:
    """Record the pipeline's decision; ``apply`` with promote puts the candidate in production.

    Both happen in one transaction. RegistryError when ``apply`` is asked of a reject or
    the candidate of an applied promotion is not registered (nothing stored).
    """
    fields = dict(data)
    apply = bool(fields.pop("apply", False))
    candidate = fields.get("model_version")
    if apply and fields.get("action") != DecisionAction.PROMOTE:
        raise RegistryError('"apply" only goes with a "promote" decision.')
    with transaction.atomic():
        if apply and not ModelVersion.objects.filter(version=candidate).exists():
            raise UnknownVersion(
                f"Candidate {candidate!r} is not registered: register it before applying."
            )
        fields.setdefault("timestamp", now or timezone.now())
        decision = RetrainingDecision.objects.create(recorded_by=by, **fields)
        if apply:
            promote(
                candidate, Stage.PRODUCTION, by,
                note=f"retraining decision {decision.pk} ({decision.trigger_reason})",
                now=decision.timestamp,
            )
    return decision


def decision_summary(decisions) -> dict:
    """Counts of a queryset of decisions: total, by action and by trigger (one query)."""
    counts = decisions.order_by().aggregate(
        total=Count("id"),
        **{f"action_{a}": Count("id", filter=Q(action=a)) for a in DecisionAction.values},
        **{f"trigger_{t}": Count("id", filter=Q(trigger_reason=t)) for t in _triggers()},
    )
    return {
        "total": counts["total"],
        "by_action": {a: counts[f"action_{a}"] for a in DecisionAction.values},
        "by_trigger": {t: counts[f"trigger_{t}"] for t in _triggers()},
    }


def _triggers():
    return TriggerReason.values
