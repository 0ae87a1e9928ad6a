"""Schema components shared by every app's API, so each has one name in the OpenAPI document.

``declare_error_answers`` (a drf-spectacular postprocessing hook) adds the error answers
every operation can give and its own declaration left out, so that a generated client
knows each status it may meet: 400 (a bad parameter or body), 401, 403 (writes), 404
(a path naming an object, or a page past the last).
"""
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The error document every endpoint answers with: {"detail": "…"}."""

    detail = serializers.CharField()


# Text may not hold NUL (PostgreSQL cannot store it); a required text field DRF trims may
# not be only whitespace either.
NO_NUL = "^[^\\u0000]*$"
NOT_EMPTY = "^[^\\u0000]+$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


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
# Bodies whose validator refuses a key it does not know (a typo is not dropped silently).
CLOSED_BODIES = {"CustomMetricInputRequest"}
SAFE_METHODS = {"get", "head"}


def _answer(schema, description):
    return {"content": {"application/json": {"schema": schema}}, "description": description}


def declare_error_answers(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Detail",
        {"type": "object", "properties": {"detail": {"type": "string"}},
         "required": ["detail"]},
    )
    for name in CLOSED_BODIES & set(result["components"]["schemas"]):
        result["components"]["schemas"][name]["additionalProperties"] = False
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
