"""Numeric features packed as float64 when predictions are written (SPEC §13, issue 16).

A drift report reads thousands of ``features`` objects; decoding their numbers from JSON
text costs ten times the statistics. So every write path also stores, per prediction,
the values of its numeric features (JSON numbers: int or float, never bool) packed as
little-endian float64 in ``numeric_features``, in the order of a ``FeatureLayout``: the
sorted names of those features, and whether they are all of the row's keys; the other
keys (strings, booleans, nulls, …) go to ``other_features`` as a small JSON text. The
drift reader decodes a layout's rows with one ``numpy.frombuffer`` and the other keys
from that text, never from the ``features`` jsonb (whose numbers PostgreSQL formats as
text, and whose keys it extracts row by row: both slow). A row without numbers has the
empty layout; only rows written before packing existed have none (NULL).

A layout's primary key is a 63-bit hash of its names, so a parse worker can compute it
without the database; ``store_layouts`` inserts a batch's layouts (``ON CONFLICT DO
NOTHING``: concurrent writers agree) before its rows, and checks the stored names, so a
hash collision (never seen; 2⁻⁶³ a pair) leaves those rows unpacked instead of wrong.

Ints beyond ±2⁵³ are not exact in float64: such a key stays out of the row's layout (it
goes to ``other_features``). Rows with a NULL layout are read from the ``features`` JSON
(``manage.py pack_features`` backfills them).
"""
from __future__ import annotations

import hashlib
import json
from array import array
from operator import itemgetter
from typing import NamedTuple

EXACT_INT = 2**53
_LITTLE_ENDIAN = array("d", [1.0]).tobytes() == b"\x00\x00\x00\x00\x00\x00\xf0\x3f"


class Layout(NamedTuple):
    """The sorted names of a row's packed features; ``numbers_only`` when the row has no
    other key (the reader then skips its JSON)."""

    key: int
    names: tuple[str, ...]
    numbers_only: bool


_layouts: dict[tuple[tuple[str, ...], bool], Layout] = {}


def layout_of(names: tuple[str, ...], numbers_only: bool) -> Layout:
    """The layout of these sorted names (its key computed once per process)."""
    found = _layouts.get((names, numbers_only))
    if found is None:
        canonical = json.dumps([list(names), numbers_only], ensure_ascii=False)
        digest = hashlib.blake2b(canonical.encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big") >> 1  # 63 bits: a positive bigint
        found = _layouts.setdefault((names, numbers_only), Layout(key, names, numbers_only))
    return found


# (keys in order, their value types) → (layout, getter of its values, other keys): rows of
# one service repeat a handful of shapes, so most rows skip the sorting and the layout.
_shapes: dict[tuple, tuple] = {}
_MAX_SHAPES = 4096
_encode = json.JSONEncoder().encode  # json.dumps' C encoder without the per-call setup
_quote = json.encoder.encode_basestring_ascii  # a str as json.dumps writes it


def pack_features(features) -> tuple[Layout | None, bytes | None, str | None]:
    """(layout, packed float64 values, JSON text of the other keys or None) of a
    ``features`` object; (None, None, None) when it is not an object."""
    if type(features) is not dict:
        return None, None, None
    shape = (tuple(features), tuple(map(type, features.values())))
    known = _shapes.get(shape)
    if known is None:
        known = _shape(features, shape)
    layout, numbers_of, other_names, string_prefixes = known
    if numbers_of is None:
        values = array("d")
    else:
        numbers = numbers_of(features)
        if int in shape[1] and not all(-EXACT_INT <= value <= EXACT_INT for value in numbers):
            return _pack_slowly(features)  # an int not exact in float64: not packed
        values = array("d", numbers)
    if not _LITTLE_ENDIAN:  # pragma: no cover (every supported platform is little-endian)
        values.byteswap()
    if not other_names:
        others = None
    elif string_prefixes is not None:  # strings only: json.dumps' text, written directly
        others = "{" + ", ".join([
            prefix + _quote(features[name])
            for prefix, name in zip(string_prefixes, other_names, strict=True)
        ]) + "}"
    else:
        others = _encode({name: features[name] for name in other_names})
    return layout, values.tobytes(), others


def _shape(features: dict, shape: tuple) -> tuple:
    """The layout of a shape whose ints all fit (a row where one does not is packed by
    ``_pack_slowly``), cached."""
    numeric = [name for name, kind in zip(*shape, strict=True) if kind in (int, float)]
    names = tuple(sorted(numeric))
    other_names = tuple(name for name in features if name not in set(numeric))
    getter = None
    if len(names) == 1:
        only = names[0]
        getter = lambda values: (values[only],)  # noqa: E731 (itemgetter of one is no tuple)
    elif names:
        getter = itemgetter(*names)
    string_prefixes = None
    if other_names and all(kind is str for kind in shape[1] if kind not in (int, float)):
        string_prefixes = tuple(_quote(name) + ": " for name in other_names)
    known = (layout_of(names, not other_names), getter, other_names, string_prefixes)
    if len(_shapes) < _MAX_SHAPES:
        _shapes[shape] = known
    return known


def _pack_slowly(features: dict) -> tuple[Layout, bytes, str | None]:
    numbers, others = {}, None
    for name, value in features.items():
        kind = type(value)
        if kind is float or (kind is int and -EXACT_INT <= value <= EXACT_INT):
            numbers[name] = value
        elif others is None:
            others = {name: value}
        else:
            others[name] = value
    names = tuple(sorted(numbers))
    values = array("d", map(numbers.__getitem__, names))
    if not _LITTLE_ENDIAN:  # pragma: no cover
        values.byteswap()
    return (layout_of(names, others is None), values.tobytes(),
            None if others is None else _encode(others))


def unpack(layout_names: tuple[str, ...], packed: bytes, rows: int):
    """A (rows × names) float64 matrix of rows packed in one layout, concatenated."""
    import numpy as np

    return np.frombuffer(packed, dtype="<f8").reshape(rows, len(layout_names))


# --- storing layouts ------------------------------------------------------------------
def store_layouts(cursor, layouts, postgresql: bool) -> set[int]:
    """Insert ``layouts`` that are not stored yet (inside the caller's transaction); the
    keys whose stored names differ (a hash collision): rows of those must not be packed.

    ``cursor`` is a DB-API cursor taking %s placeholders (psycopg2's, or Django's).
    """
    from predictions.models import FeatureLayout

    layouts = {layout.key: layout for layout in layouts}
    if not layouts:
        return set()
    table = FeatureLayout._meta.db_table
    rows = [
        (layout.key, json.dumps(list(layout.names)), layout.numbers_only)
        for layout in layouts.values()
    ]
    values = ", ".join(["(%s, %s::jsonb, %s)" if postgresql else "(%s, %s, %s)"] * len(rows))
    insert = (f'INSERT INTO "{table}" ("id", "names", "numbers_only") VALUES {values} '
              'ON CONFLICT ("id") DO NOTHING')
    select = (f'SELECT "id", "names", "numbers_only" FROM "{table}" WHERE "id" IN '
              f"({', '.join(['%s'] * len(layouts))})")
    parameters = [value for row in rows for value in row]
    if postgresql:
        # One round trip: the SELECT sees the layouts stored before (to check their names),
        # not the ones this statement inserts.
        cursor.execute(f"WITH inserted AS ({insert}) {select}", [*parameters, *layouts])
    else:
        cursor.execute(insert, parameters)
        cursor.execute(select, list(layouts))
    clashing = set()
    for key, names, numbers_only in cursor.fetchall():
        if isinstance(names, str):
            names = json.loads(names)
        if tuple(names) != layouts[key].names or bool(numbers_only) != layouts[key].numbers_only:
            clashing.add(key)
    return clashing


def packed_for_save(features, using: str) -> tuple[int | None, bytes | None, str | None]:
    """(layout key, packed values, other keys' JSON) of one row saved through the ORM,
    its layout stored."""
    from django.db import connections

    layout, packed, others = pack_features(features)
    if layout is None:
        return None, None, None
    connection = connections[using]
    with connection.cursor() as cursor:
        if store_layouts(cursor, [layout], connection.vendor == "postgresql"):
            return None, None, None
    return layout.key, packed, others


def pack_instances(predictions, using: str = "default") -> None:
    """Fill the packed columns of unsaved Predictions, their layouts stored: for
    ``bulk_create``, which skips ``save``."""
    from django.db import connections

    packed = [pack_features(prediction.features) for prediction in predictions]
    connection = connections[using]
    with connection.cursor() as cursor:
        clashing = store_layouts(cursor, {layout for layout, _v, _o in packed if layout},
                                 connection.vendor == "postgresql")
    for prediction, (layout, values, others) in zip(predictions, packed, strict=True):
        if layout is None or layout.key in clashing:
            layout, values, others = None, None, None
        prediction.feature_layout_id = None if layout is None else layout.key
        prediction.numeric_features, prediction.other_features = values, others


def backfill(batch_size: int = 5000, using: str = "default") -> tuple[int, int]:
    """Pack the rows stored before packing existed (NULL layout), ``batch_size`` rows a
    transaction, in id order. (rows examined, rows packed); running it again packs none
    (it examines again only rows whose ``features`` is not an object)."""
    from django.db import transaction

    from predictions.models import Prediction

    examined = packed = 0
    last_id = 0
    while True:
        with transaction.atomic(using=using):
            rows = list(
                Prediction.objects.using(using)
                .filter(id__gt=last_id, feature_layout__isnull=True)
                .order_by("id").only("id", "features")[:batch_size]
            )
            if not rows:
                return examined, packed
            last_id = rows[-1].id
            examined += len(rows)
            pack_instances(rows, using)
            rows = [row for row in rows if row.feature_layout_id is not None]
            Prediction.objects.using(using).bulk_update(
                rows, ["feature_layout", "numeric_features", "other_features"],
                batch_size=1000,
            )
            packed += len(rows)
