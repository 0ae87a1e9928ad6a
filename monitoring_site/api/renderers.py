"""JSON written by orjson: the API's answers byte for byte as DRF's encoder writes them.

A 720-point series is ~300 KB of floats; the standard library spends ~5 ms writing their
reprs, orjson ~0.2 ms. Anything orjson does not know (Decimal, lazy strings, non-text
keys) or a pretty-printed answer (the ``indent`` media parameter) goes to DRF's renderer.
"""
import orjson
from rest_framework.renderers import JSONRenderer

# DRF escapes the two JavaScript line terminators (valid JSON, but not valid JavaScript).
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, with orjson doing the writing whenever it can."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            # UTC as "Z", as DRF writes it; NaN and infinities (never in an answer) as null.
            body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in body:
            body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(
                _PARAGRAPH_SEPARATOR, b"\\u2029")
        return body
