"""JSON bodies whose values have the types the OpenAPI document states.

DRF's fields coerce: ``{"model_version": 0}`` becomes "0", ``"1.5"`` a float, ``1`` a
boolean. A client generated from the document sends the stated types, so anything else
is a mistake worth a 400 naming the field, not a guess. Only the JSON types are checked
here; the serializers still check everything else (required, ranges, choices) with
their own messages.
"""
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from monitoring_site.api.contract import contract

JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _type_name(value) -> str:
    if value is None:
        return "null"
    for name, types in JSON_TYPES.items():
        if isinstance(value, types) and not (isinstance(value, bool) and name != "boolean"):
            return name
    return type(value).__name__


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "aeiou" else f"a {type_name}"


def type_errors(value, schema, where, resolve) -> dict:
    """{path: message} for each value whose JSON type the schema does not allow."""
    schema = resolve(schema)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            branches = [type_errors(value, s, where, resolve) for s in schema[combinator]]
            if all(branches):
                return branches[0]
            return {}
    if value is None and schema.get("nullable"):
        return {}
    errors = {}
    for part in schema.get("allOf", []):
        errors.update(type_errors(value, part, where, resolve))
    if value is None:
        if "type" not in schema or errors:
            return errors
        return {where: f"May not be null; give {_a(schema['type'])}."}
    expected = schema.get("type")
    if expected in JSON_TYPES:
        actual = _type_name(value)
        fits = actual == expected or (
            expected == "number" and actual == "integer"
        ) or (expected == "integer" and isinstance(value, float) and value.is_integer())
        if not fits:
            return {where: f"Give {_a(expected)}, not {_a(actual)}."}
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None and not resolve(sub).get("readOnly"):
                errors.update(type_errors(item, sub, f"{where}.{key}" if where else key,
                                          resolve))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors.update(type_errors(item, schema["items"], f"{where}.{index}" if where
                                      else str(index), resolve))
    return errors


class StrictJSONParser(JSONParser):
    """JSON, then the JSON types checked against the operation's documented body."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        request = (parser_context or {}).get("request")
        operation = contract().operation(request) if request is not None else None
        body = (operation or {}).get("requestBody", {}).get("content", {})
        schema = body.get("application/json", {}).get("schema")
        if schema is not None:
            errors = type_errors(data, schema, "", contract().resolve)
            if errors:
                raise ValidationError(
                    {path or "non_field_errors": [message] for path, message in errors.items()}
                )
        return data
