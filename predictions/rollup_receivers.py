"""Keep the hourly aggregates exact for single-row ORM writes (the admin, fixtures, scripts).

The bulk write paths (ingest, outcomes, import) add their deltas themselves and send no
model signals; a save or delete through the ORM lands here instead, and the hours it
touched (the old one too, when an edit moved a prediction) are recomputed from their rows.
"""
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from predictions import rollups
from predictions.models import PerformanceMetric, Prediction


def _hour(row) -> int:
    # A timestamp given as text is stored parsed; read it the same way.
    return rollups.epoch_hour(type(row)._meta.get_field("timestamp").to_python(row.timestamp))


def _prediction_hour(row) -> tuple[str, int]:
    return row.model_version, _hour(row)


def _metric_hour(row) -> tuple[str, str, int]:
    return row.metric_name, row.model_version, _hour(row)


def _remember_stored_hour(sender, instance, raw=False, **kwargs):
    instance._stored_hour = None
    if raw or instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).first()
    if stored is not None:
        hour_of = _prediction_hour if sender is Prediction else _metric_hour
        instance._stored_hour = hour_of(stored)


def _recompute(sender, instance, **kwargs):
    hour_of = _prediction_hour if sender is Prediction else _metric_hour
    hours = {hour_of(instance)}
    if getattr(instance, "_stored_hour", None):
        hours.add(instance._stored_hour)
    key = "prediction_hours" if sender is Prediction else "metric_hours"
    with transaction.atomic():
        rollups.recompute_hours(**{key: hours})


def connect() -> None:
    for model in (Prediction, PerformanceMetric):
        pre_save.connect(_remember_stored_hour, sender=model, dispatch_uid=f"rollup-pre-{model}")
        post_save.connect(_recompute, sender=model, dispatch_uid=f"rollup-save-{model}")
        post_delete.connect(_recompute, sender=model, dispatch_uid=f"rollup-delete-{model}")
