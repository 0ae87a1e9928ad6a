"""The OpenAPI document as the API's contract, read once per process.

The checks that keep the API and its document in agreement (unknown query parameters,
JSON types of bodies) look the operation of a request up here, so neither keeps a list
of its own and a new endpoint is covered as soon as it is documented.
"""
import re
import threading

_lock = threading.Lock()
_contract = None


class Contract:
    def __init__(self, operations: dict, schemas: dict):
        self.operations = operations  # {(view callback, METHOD): operation}
        self.schemas = schemas  # components/schemas, for $ref

    def operation(self, request):
        """The documented operation of a request; None when not documented."""
        match = getattr(request, "resolver_match", None)
        if match is None:
            return None
        method = "GET" if request.method == "HEAD" else request.method
        return self.operations.get((match.func, method))

    def documents_view(self, request) -> bool:
        match = getattr(request, "resolver_match", None)
        return match is not None and any(key[0] is match.func for key in self.operations)

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema


def contract() -> Contract:
    global _contract
    if _contract is None:
        with _lock:
            if _contract is None:
                _contract = _read_document()
    return _contract


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _read_document() -> Contract:
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    # The document may rename path parameters ({pk} → {id}): match on the path's shape.
    paths = {_shape(path): item for path, item in document["paths"].items()}
    operations = {}
    for path, _regex, method, callback in generator.endpoints:
        operation = paths.get(_shape(path), {}).get(method.lower())
        if operation is not None:
            operations[callback, method] = operation
    return Contract(operations, document.get("components", {}).get("schemas", {}))
