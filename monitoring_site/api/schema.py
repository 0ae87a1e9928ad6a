"""What the OpenAPI document shares across apps: the error component, tags, strict inputs,
the error answers.

Operations are grouped by tag (SPEC §11), in the order of ``SPECTACULAR_SETTINGS["TAGS"]``
with ingestion first: what a model service calls is what a newcomer looks for first.
``declare_error_answers`` (a drf-spectacular postprocessing hook) adds the error answers
every operation can give and its own declaration left out, so that a generated client
knows each status it may meet: 400 (a bad parameter or body), 401, 403 (writes), 404
(a path naming an object, or a page past the last).
"""
from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
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
            # COMPONENT_SPLIT_REQUEST names the request side "<name>Request".
            for component in (name, f"{name}Request"):
                if component in components:
                    components[component]["additionalProperties"] = False
    return result


# Text may not hold NUL (PostgreSQL cannot store it); a required text field DRF trims may
# not be only whitespace either.
NO_NUL = "^[^\\u0000]*$"
NOT_EMPTY = "^[^\\u0000]+$"
# What Python's str.strip() removes, spelled out: "\\s" means other characters in other
# regex dialects (ECMA's leaves out U+001C–U+001F and adds U+FEFF), and a client's
# validator must refuse exactly what DRF does.
PYTHON_WHITESPACE = (
    "\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000"
)
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{PYTHON_WHITESPACE}][^\\u0000]*$"


class CharFieldSchema(OpenApiSerializerFieldExtension):
    """A DRF text field's schema with the characters DRF refuses stated as a pattern."""

    target_class = "rest_framework.fields.CharField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if {"enum", "format"} & set(schema) or schema.get("pattern", NO_NUL) != NO_NUL:
            return schema  # a pattern of its own says more
        field = self.target
        if field.allow_blank:
            # drf-spectacular adds "or empty" beside a pattern: this one must not match "".
            schema["pattern"] = NOT_EMPTY
        elif field.trim_whitespace and direction == "request":
            schema["pattern"] = NOT_BLANK
        else:
            schema["pattern"] = NO_NUL
        return schema


class JSONFieldSchema(OpenApiSerializerFieldExtension):
    """Any JSON value; null only when the field allows it."""

    target_class = "rest_framework.fields.JSONField"

    def map_serializer_field(self, auto_schema, direction):
        if self.target.allow_null:
            return {"nullable": True}
        return {"not": {"type": "null"}} if direction == "request" else {}


DETAIL = {"$ref": "#/components/schemas/Detail"}
# A 400 names each bad field with its messages ({"field": ["…"]}), or gives a detail.
BAD_REQUEST = {"type": "object", "additionalProperties": {}}
PAGE_PARAMETERS = {"page", "cursor"}
SAFE_METHODS = {"get", "head"}


def _answer(schema, description):
    return {"content": {"application/json": {"schema": schema}}, "description": description}


def declare_error_answers(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Detail",
        {"type": "object", "properties": {"detail": {"type": "string"}},
         "required": ["detail"]},
    )
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            wanted = {
                # Any operation refuses a query parameter it does not declare.
                "400": _answer(BAD_REQUEST, "A bad parameter or body, by field."),
                "401": _answer(DETAIL, "Not authenticated."),
            }
            if method not in SAFE_METHODS:
                wanted["403"] = _answer(DETAIL, "No permission.")
            if "{" in path or query & PAGE_PARAMETERS:
                wanted["404"] = _answer(DETAIL, "No such object, or no such page.")
            if "requestBody" in operation:
                wanted["409"] = _answer(
                    BAD_REQUEST, "Conflicts with the stored rows: an id already taken, or a "
                    "referenced object that does not exist.")
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(
                    schema
                ):
                    schema["pattern"] = NO_NUL
            for status, answer in wanted.items():
                responses.setdefault(status, answer)
    return result
