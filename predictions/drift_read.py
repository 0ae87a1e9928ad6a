"""The feature columns of a drift report's two sides, read mostly in binary (SPEC §13).

Each side's rows (``drift.sampled_predictions``: all, or exactly the sample bound) are
read per feature layout (``feature_pack``): the numbers packed when the rows were written
come back as one float64 buffer per layout (on PostgreSQL one ``string_agg`` per layout
in one scan of the side, through binary COPY, decoded by ``numpy.frombuffer``), the
other keys — strings, booleans, nulls, ints beyond 2⁵³ — from the small JSON texts of
``other_features``; only rows written before packing (NULL layout) are read from the
``features`` JSON. The columns then hold the same values as the JSON's, so the report is
the one the JSON alone gives:

- a value absent or null is missing, whether its row is packed or not;
- a key that is a number in some rows and a string (or a bool, …) in others is a
  category, whose text depends on int vs float: there, the packed rows' original values
  are read back from the JSON (``_originals``).

The statistics do not depend on the order of a column's values, so the columns are
assembled layout by layout.
"""
from __future__ import annotations

import io
import json
import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.db import connections

from predictions.drift_stats import NONE_TYPE, NUMBER_TYPES, Weighted
from predictions.drift_stats import feature_columns as json_columns
from predictions.feature_pack import unpack
from predictions.models import FeatureLayout

_LAYOUTS_PER_SCAN = 32
_READ_FIELDS = ("feature_layout_id", "numeric_features", "other_features", "features")


@dataclass
class LayoutRows:
    """A side's rows of one layout (``key`` None: rows read from the ``features`` JSON).

    ``packed``: (rows × names) values; ``others``: each row's keys that are not packed
    (None when the layout holds every key of its rows)."""

    key: int | None
    names: tuple[str, ...]
    count: int
    packed: np.ndarray | None
    others: list[dict] | None
    weights: np.ndarray | None = None  # others are distinct, this many rows each


@dataclass
class Side:
    window_rows: object  # the sampled queryset (re-read for _originals)
    rows: int
    groups: list[LayoutRows]


def _rows_sql(predictions, *fields) -> tuple[str, tuple]:
    sql, params = predictions.order_by().values(*fields).query.sql_with_params()
    return f"({sql}) s", params


def _postgresql(predictions) -> bool:
    return connections[predictions.db].vendor == "postgresql"


def read_side(predictions, layout_keys=None) -> Side:
    """The side's rows by layout; ``predictions`` is ``drift.sampled_predictions``, and
    ``layout_keys`` the layouts its window holds (``drift.layout_counts``), when known."""
    if _postgresql(predictions):
        return _read_postgresql(predictions, layout_keys)
    return _read_any(predictions)


def _candidate_layouts(predictions, layout_keys) -> dict[int, FeatureLayout]:
    """The layouts the side may hold: every stored one when there are few (a side's
    scan asks for each, so its keys need not be read first), else the side's own."""
    if layout_keys is None:
        stored = list(FeatureLayout.objects.using(predictions.db)[: _LAYOUTS_PER_SCAN + 1])
        if len(stored) <= _LAYOUTS_PER_SCAN:
            return {layout.pk: layout for layout in stored}
        layout_keys = predictions.order_by().values_list("feature_layout_id", flat=True)
        layout_keys = set(layout_keys.distinct())
    return _layouts(predictions, layout_keys)


def _layouts(predictions, keys) -> dict[int, FeatureLayout]:
    keys = [key for key in keys if key is not None]
    return FeatureLayout.objects.using(predictions.db).in_bulk(keys) if keys else {}


def _copy_row(predictions, sql: str, params: list) -> list:
    """The one row ``sql`` answers, through COPY … (FORMAT binary): its fields as raw bytes
    (None for NULL). Binary, so that a float buffer travels as itself, not as hex text."""
    with connections[predictions.db].cursor() as cursor:
        driver = cursor.cursor
        query = driver.mogrify(sql, params).decode()
        buffer = io.BytesIO()
        driver.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = memoryview(buffer.getvalue())
    # An 11-byte signature, int32 flags, int32 extension length; then int16 fields and
    # each field's int32 length (-1: NULL) and bytes.
    (extension,) = struct.unpack_from("!i", data, 15)
    position = 19 + extension
    (count,) = struct.unpack_from("!h", data, position)
    position += 2
    fields = []
    for _ in range(count):
        (size,) = struct.unpack_from("!i", data, position)
        position += 4
        fields.append(None if size < 0 else data[position : position + size])
        position += max(size, 0)
    return fields


def _json_list(texts) -> list:
    """The JSON texts (comma-separated, bytes) decoded as one list."""
    return [] if texts is None else json.loads(b"[" + bytes(texts) + b"]")


def _read_postgresql(predictions, layout_keys) -> Side:
    """One scan of the side per 32 layouts: per layout its row count, its packed values
    concatenated (``string_agg``) and, unless they are its only keys, its rows' other
    keys (``other_features``); the rows of no known layout as their whole JSON."""
    layouts = _candidate_layouts(predictions, layout_keys)
    keys = sorted(layouts)
    source, params = _rows_sql(predictions, *_READ_FIELDS)
    rows, groups = 0, []
    for start in range(0, max(len(keys), 1), _LAYOUTS_PER_SCAN):
        chunk = keys[start : start + _LAYOUTS_PER_SCAN]
        selected, selected_params = [], []
        for key in chunk:
            selected += [
                "count(*) FILTER (WHERE s.feature_layout_id = %s)",
                "string_agg(s.numeric_features, ''::bytea) FILTER (WHERE s.feature_layout_id = %s)",
            ]
            selected_params += [key, key]
            if not layouts[key].numbers_only:
                selected.append("string_agg(s.other_features, E'\\n') "
                                "FILTER (WHERE s.feature_layout_id = %s)")
                selected_params.append(key)
        if start == 0:
            rest = "s.feature_layout_id IS NULL OR s.feature_layout_id <> ALL(%s::bigint[])"
            selected += [f"count(*) FILTER (WHERE {rest})",
                         f"string_agg(s.features::text, ',') FILTER (WHERE {rest})"]
            selected_params += [keys, keys]
        fields = iter(_copy_row(
            predictions, f"SELECT {', '.join(selected)} FROM {source}",
            [*selected_params, *params],
        ))
        for key in chunk:
            layout = layouts[key]
            names = tuple(layout.names)
            count, packed = int.from_bytes(next(fields), "big"), next(fields)
            texts = None if layout.numbers_only else bytes(next(fields) or b"").split(b"\n")
            if not count:
                continue
            if (packed is None or len(packed) != count * 8 * len(names)
                    or (texts is not None and len(texts) != count)):
                return _read_any(predictions)  # a row with a layout but no values: by hand
            rows += count
            groups.append(LayoutRows(key, names, count, unpack(names, packed, count),
                                     *_tallied(texts)))
        if start == 0:
            count = int.from_bytes(next(fields), "big")
            rest_rows = [row for row in _json_list(next(fields)) if type(row) is dict]
            rows += count
            groups.append(LayoutRows(None, (), count, None, rest_rows))
    return Side(predictions, rows, groups)


def _read_any(predictions) -> Side:
    """SQLite (and the others): the rows one by one, the JSON decoded only for keys that
    are not packed."""
    fetched = list(predictions.order_by().values_list(*_READ_FIELDS))
    layouts = _layouts(predictions, {row[0] for row in fetched})
    buffers: dict[int, list[bytes]] = {}
    texts: dict[int | None, list] = {None: []}
    for key, packed, others, features in fetched:
        layout = layouts.get(key)
        if layout is None or packed is None or len(packed) != 8 * len(layout.names):
            texts[None].append(features)
            continue
        buffers.setdefault(key, []).append(bytes(packed))
        if not layout.numbers_only:
            texts.setdefault(key, []).append(others or "{}")
    groups = []
    for key, parts in buffers.items():
        names = tuple(layouts[key].names)
        others = (None, None) if layouts[key].numbers_only else _tallied(texts[key])
        packed = unpack(names, b"".join(parts), len(parts))
        groups.append(LayoutRows(key, names, len(parts), packed, *others))
    unpacked = [features for features in texts[None] if type(features) is dict]
    groups.append(LayoutRows(None, (), len(texts[None]), None, unpacked))
    return Side(predictions, len(fetched), groups)


# --- Columns ----------------------------------------------------------------------------
def _json_columns(sides: list[Side]) -> tuple[list[list[dict]], dict[str, set]]:
    """Per side and layout, the columns of the keys read from JSON (None where absent),
    and per name the types of their non-null values."""
    columns = [[_group_json_columns(group) for group in side.groups] for side in sides]
    types: dict[str, set] = {}
    for side_columns in columns:
        for group_columns in side_columns:
            for name, column in group_columns.items():
                values = column.values if isinstance(column, Weighted) else column
                types.setdefault(name, set()).update(map(type, values))
    for name_types in types.values():
        name_types.discard(NONE_TYPE)
    return columns, types


def _group_json_columns(group: LayoutRows) -> dict:
    if not group.others:
        return {}
    columns = json_columns(group.others)
    if group.weights is None:
        return columns
    return {name: Weighted(column, group.weights) for name, column in columns.items()}


def _tallied(texts) -> tuple[list[dict] | None, np.ndarray | None]:
    """The distinct JSON texts (of ``other_features``; bytes or str) decoded, and how
    many rows hold each: identical texts are decoded once (categories repeat)."""
    if texts is None:
        return None, None
    tally = Counter(texts)
    distinct = list(tally)
    if distinct and isinstance(distinct[0], bytes):
        decoded = json.loads(b"[" + b",".join(distinct) + b"]")
    else:
        decoded = json.loads("[" + ",".join(distinct) + "]")
    kept = [i for i, row in enumerate(decoded) if type(row) is dict]
    counts = np.fromiter(tally.values(), dtype=np.int64, count=len(tally))
    return [decoded[i] for i in kept], counts[kept]


def _originals(side: Side, keys: set[int], names: set[str]) -> dict[int, list[dict]]:
    """The JSON of the side's rows of these layouts, only ``names`` kept (filtered after
    the sampling: a filter inside it would pick other rows)."""
    source, params = _rows_sql(side.window_rows, *_READ_FIELDS)
    keys = sorted(keys)
    with connections[side.window_rows.db].cursor() as cursor:
        cursor.execute(
            f"SELECT s.feature_layout_id, s.features FROM {source} WHERE "
            f"s.numeric_features IS NOT NULL AND s.feature_layout_id IN "
            f"({', '.join(['%s'] * len(keys))})",
            [*params, *keys],
        )
        found = cursor.fetchall()
    originals: dict[int, list[dict]] = {key: [] for key in keys}
    for key, features in found:
        if isinstance(features, str):
            features = json.loads(features)
        originals[key].append({name: features.get(name) for name in names})
    return originals


def feature_columns(sides: list[Side]) -> list[dict[str, np.ndarray | list]]:
    """Each side's feature name → its values: a float64 array when every row of the side
    has the feature packed, else a list (None where missing), as ``drift_stats`` takes."""
    json_by_side, json_types = _json_columns(sides)
    packed_names = {name for side in sides for group in side.groups for name in group.names}
    mixed = {
        name for name in packed_names
        if not json_types.get(name, set()) <= NUMBER_TYPES
    }
    columns = []
    for side, json_by_group in zip(sides, json_by_side, strict=True):
        originals = {}
        if mixed:
            keys = {group.key for group in side.groups if mixed.intersection(group.names)}
            if keys:
                originals = _originals(side, keys, mixed)
        pieces: dict[str, list] = {}
        for group, group_json in zip(side.groups, json_by_group, strict=True):
            for index, name in enumerate(group.names):
                if name in mixed:
                    rows = originals[group.key]
                    pieces.setdefault(name, []).append([row[name] for row in rows])
                else:
                    pieces.setdefault(name, []).append(group.packed[:, index])
            for name, column in group_json.items():
                pieces.setdefault(name, []).append(column)
        columns.append({name: _joined(parts) for name, parts in sorted(pieces.items())})
    return columns


def _joined(parts: list) -> np.ndarray | list | Weighted:
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
    if len(parts) == 1:
        return parts[0]
    if any(isinstance(part, Weighted) for part in parts):
        values, counts = [], []
        for part in parts:
            if isinstance(part, Weighted):
                values.extend(part.values)
                counts.append(part.counts)
            else:
                values.extend(part.tolist() if isinstance(part, np.ndarray) else part)
                counts.append(np.ones(len(part), dtype=np.int64))
        return Weighted(values, np.concatenate(counts))
    joined = []
    for part in parts:
        joined.extend(part.tolist() if isinstance(part, np.ndarray) else part)
    return joined


def read_columns(predictions_by_side: list, layout_keys_by_side: list | None = None,
                 ) -> tuple[list[dict], tuple[int, ...]]:
    """The feature columns of each side's (sampled) predictions, and each side's rows;
    ``layout_keys_by_side``: the layouts each side's window holds, when known."""
    layout_keys_by_side = layout_keys_by_side or [None] * len(predictions_by_side)
    sides = [read_side(predictions, keys)
             for predictions, keys in zip(predictions_by_side, layout_keys_by_side, strict=True)]
    return feature_columns(sides), tuple(side.rows for side in sides)

