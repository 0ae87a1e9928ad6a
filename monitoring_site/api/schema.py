"""What the OpenAPI document shares across apps: the error component, tags, strict inputs.

Operations are grouped by tag (SPEC §11), in the order of ``SPECTACULAR_SETTINGS["TAGS"]``
with ingestion first: what a model service calls is what a newcomer looks for first.
"""
from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

API_PREFIX = "/api/v1/"
# (method or None for any, path under /api/v1/ it starts with, tag); the first match wins.
TAG_RULES = (
    ("POST", "predictions/", "ingestion"),  # a batch, and one outcome
    ("POST", "outcomes/", "ingestion"),
    ("POST", "metrics/custom/", "ingestion"),
    (None, "predictions/", "predictions"),
    (None, "metrics/", "metrics"),
    (None, "health-snapshots/", "metrics"),
    (None, "alerts/", "alerts"),
    (None, "alert-rules/", "rules"),
    (None, "silences/", "silences"),
    (None, "model-versions/", "registry"),
    (None, "retraining-decisions/", "registry"),
    (None, "drift-reports/", "drift"),
    (None, "actions/", "actions"),
)
# Input components that refuse keys they do not define while ingestion is strict.
STRICT_INPUTS = ("PredictionInput", "OutcomeItem", "CustomMetricInput")


class DetailSerializer(serializers.Serializer):
    """The error document every endpoint answers with: {"detail": "…"}."""

    detail = serializers.CharField()


def tag_of(method: str, path: str) -> str | None:
    """The tag of an operation by its method and path, or None when no rule says."""
    if not path.startswith(API_PREFIX):
        return None
    relative = path.removeprefix(API_PREFIX)
    if not relative:
        return "api"
    for rule_method, start, tag in TAG_RULES:
        if rule_method in (None, method) and relative.startswith(start):
            return tag
    return None


class TaggedAutoSchema(AutoSchema):
    """drf-spectacular's schema, tagging operations by ``TAG_RULES`` (not by "v1")."""

    def get_tags(self):
        tag = tag_of(self.method, self.path)
        return [tag] if tag else super().get_tags()


def strict_inputs(result, generator, request, public):
    """Postprocessing hook: ingested items allow no other keys while ingestion is strict."""
    if settings.MONITORING_INGEST_STRICT:
        components = result.get("components", {}).get("schemas", {})
        for name in STRICT_INPUTS:
            if name in components:
                components[name]["additionalProperties"] = False
    return result
