"""Keys an ingested item may not carry: a 400 naming each one, and the field meant (SPEC §11).

A misspelled field (``ts``, ``latency``) used to be dropped with a 201, and the prediction
stored without its time or latency. So an item with a key its endpoint does not know is
invalid, its message giving the key's path and the closest known field.
``MONITORING_INGEST_STRICT=false`` ignores unknown keys instead, for clients that send
extras on purpose. Only the REST batches ask: the legacy importer reads its own formats.
"""
from __future__ import annotations

import difflib
import json

from django.conf import settings


def ingest_is_strict() -> bool:
    """Whether ingestion refuses unknown keys (MONITORING_INGEST_STRICT, default true)."""
    return settings.MONITORING_INGEST_STRICT


def has_unknown(raw, known) -> bool:
    """Whether ``raw`` (an item as sent) holds a key not in ``known``; cheap, for hot loops."""
    return type(raw) is dict and not raw.keys() <= known


def closest_field(key: str, known) -> str | None:
    """The known field ``key`` most likely meant, or None when none is close."""
    lowered = key.strip().lower()
    if not lowered:
        return None
    for name in known:
        if name.lower() == lowered:
            return name
    started = [name for name in known if name.startswith(lowered)]  # predicted → …_outcome
    if started:
        return min(started, key=len)
    close = difflib.get_close_matches(lowered, list(known), n=1, cutoff=0.6)
    if close:
        return close[0]
    # An abbreviation: the key's letters in order, from the field's first (ts → timestamp).
    abbreviated = [
        name for name in known if name[0] == lowered[0] and _letters_in_order(lowered, name)
    ]
    return min(abbreviated, key=len) if abbreviated else None


def _letters_in_order(short: str, name: str) -> bool:
    rest = iter(name)
    return all(letter in rest for letter in short)


def field_path(index: int, key: str) -> str:
    """Where the key sits in the body, e.g. ``items[3].ts``."""
    if key.isidentifier():
        return f"items[{index}].{key}"
    return f"items[{index}][{json.dumps(key, ensure_ascii=False)}]"


def unknown_field_errors(raw: dict, known, index: int) -> dict[str, str]:
    """{key: message} for each key of ``raw`` outside ``known`` (a sequence, in order)."""
    errors = {}
    for key in raw:
        if key in known:
            continue
        meant = closest_field(key, known)
        hint = (f"did you mean {meant}?" if meant
                else f"the fields are {', '.join(known)}.")
        errors[key] = f"Unknown field {field_path(index, key)}; {hint}"
    return errors
