"""The feature columns of a drift report's two sides, read mostly in binary (SPEC §13).

Each side's rows (``drift.sampled_predictions``: all, or exactly the sample bound) are
read per feature layout (``feature_pack``): the numbers packed when the rows were written
come back as one float64 buffer per layout (on PostgreSQL one ``string_agg`` per layout,
decoded by ``numpy.frombuffer``); only what is not packed — strings, booleans, nulls, ints
beyond 2⁵³, rows written before packing (NULL layout) — is read from the ``features``
JSON (on PostgreSQL with the packed keys removed in SQL, so their numbers are never
formatted as text). The columns then hold the same values as the JSON's, so the report
is the one the JSON alone gives:

- a value absent or null is missing, whether its row is packed or not;
- a key that is a number in some rows and a string (or a bool, …) in others is a
  category, whose text depends on int vs float: there, the packed rows' original values
  are read back from the JSON (``_originals``).

The statistics do not depend on the order of a column's values, so the columns are
assembled layout by layout.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from django.db import connections

from predictions.drift_stats import NONE_TYPE, NUMBER_TYPES
from predictions.feature_pack import unpack
from predictions.models import FeatureLayout


@dataclass
class LayoutRows:
    """A side's rows of one layout (``key`` None: rows read from the JSON alone).

    ``packed``: (rows × names) values; ``others``: each row's keys that are not packed
    (None when the layout holds every key of its rows)."""

    key: int | None
    names: tuple[str, ...]
    count: int
    packed: np.ndarray | None
    others: list[dict] | None


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


def read_side(predictions) -> Side:
    """The side's rows by layout; ``predictions`` is ``drift.sampled_predictions``."""
    if _postgresql(predictions):
        return _read_postgresql(predictions)
    return _read_any(predictions)


def _layouts(predictions, keys) -> dict[int, FeatureLayout]:
    keys = list(keys)
    return FeatureLayout.objects.using(predictions.db).in_bulk(keys) if keys else {}


def _json_rows(texts: list[str]) -> list:
    return json.loads("[" + ",".join(texts) + "]")


def _read_postgresql(predictions) -> Side:
    source, params = _rows_sql(predictions, "feature_layout_id", "numeric_features", "features")
    with connections[predictions.db].cursor() as cursor:
        cursor.execute(
            "SELECT s.feature_layout_id, count(*), string_agg(s.numeric_features, ''::bytea) "
            f"FROM {source} GROUP BY 1", params,
        )
        counted = cursor.fetchall()
    layouts = _layouts(predictions, (key for key, _count, _packed in counted if key is not None))
    rows, groups, partial = 0, {}, {}
    for key, count, packed in counted:
        rows += count
        layout = layouts.get(key)
        if layout is None or packed is None or len(packed) != count * 8 * len(layout.names):
            continue  # unpacked rows (or a layout not found): read from the JSON below
        names = tuple(layout.names)
        groups[key] = LayoutRows(key, names, count, unpack(names, packed, count),
                                 None if layout.numbers_only else [])
        if not layout.numbers_only:
            partial[key] = list(names)
    whole = [key for key, group in groups.items() if group.others is None]
    unpacked = LayoutRows(None, (), rows - sum(group.count for group in groups.values()),
                          None, [])
    if unpacked.count or partial:
        if partial:
            names_sql = ", ".join(["(%s::bigint, %s::text[])"] * len(partial))
            join = (f"LEFT JOIN (VALUES {names_sql}) AS l (key, names) "
                    "ON l.key = s.feature_layout_id")
            join_params = [value for item in partial.items() for value in item]
            remainder = "CASE WHEN l.names IS NULL THEN s.features ELSE s.features - l.names END"
        else:
            join, join_params, remainder = "", [], "s.features"
        with connections[predictions.db].cursor() as cursor:
            cursor.execute(
                f"SELECT s.feature_layout_id, ({remainder})::text FROM {source} {join} "
                "WHERE s.feature_layout_id IS NULL OR NOT s.feature_layout_id = ANY(%s::bigint[])",
                [*params, *join_params, whole],
            )
            found = cursor.fetchall()
        values = _json_rows([text for _key, text in found])
        for (key, _text), features in zip(found, values, strict=True):
            group = groups.get(key, unpacked)
            if type(features) is dict:
                group.others.append(features)
    return Side(predictions, rows, [*groups.values(), unpacked])


def _read_any(predictions) -> Side:
    """SQLite (and the others): the rows one by one, the JSON decoded only for keys that
    are not packed."""
    fetched = list(predictions.order_by().values_list(
        "feature_layout_id", "numeric_features", "features"
    ))
    layouts = _layouts(predictions, {key for key, _packed, _text in fetched if key is not None})
    buffers: dict[int, list[bytes]] = {}
    texts: dict[int | None, list] = {None: []}
    for key, packed, features in fetched:
        layout = layouts.get(key)
        if layout is None or packed is None or len(packed) != 8 * len(layout.names):
            texts[None].append(features)
            continue
        buffers.setdefault(key, []).append(bytes(packed))
        if not layout.numbers_only:
            texts.setdefault(key, []).append(features)
    groups = []
    for key, parts in buffers.items():
        names = tuple(layouts[key].names)
        others = None
        if not layouts[key].numbers_only:
            others = [_without(features, names) for features in texts[key]]
        groups.append(LayoutRows(key, names, len(parts), unpack(names, b"".join(parts),
                                                                  len(parts)), others))
    unpacked = [features for features in texts[None] if type(features) is dict]
    groups.append(LayoutRows(None, (), len(texts[None]), None, unpacked))
    return Side(predictions, len(fetched), groups)


def _without(features: dict, names: tuple[str, ...]) -> dict:
    for name in names:
        features.pop(name, None)
    return features


# --- Columns ----------------------------------------------------------------------------
def _json_types(sides: list[Side]) -> dict[str, set]:
    """Per feature name, the types of its non-null values read from the JSON."""
    types: dict[str, set] = {}
    for side in sides:
        for group in side.groups:
            for features in group.others or ():
                for name, value in features.items():
                    types.setdefault(name, set()).add(type(value))
    for name_types in types.values():
        name_types.discard(NONE_TYPE)
    return types


def _originals(side: Side, keys: set[int], names: set[str]) -> dict[int, list[dict]]:
    """The JSON of the side's rows of these layouts, only ``names`` kept."""
    found = side.window_rows.order_by().filter(
        feature_layout_id__in=keys, numeric_features__isnull=False
    ).values_list("feature_layout_id", "features")
    originals: dict[int, list[dict]] = {key: [] for key in keys}
    for key, features in found:
        if isinstance(features, str):
            features = json.loads(features)
        originals[key].append({name: features.get(name) for name in names})
    return originals


def feature_columns(sides: list[Side]) -> list[dict[str, np.ndarray | list]]:
    """Each side's feature name → its values: a float64 array when every row of the side
    has the feature packed, else a list (None where missing), as ``drift_stats`` takes."""
    json_types = _json_types(sides)
    packed_names = {name for side in sides for group in side.groups for name in group.names}
    mixed = {
        name for name in packed_names
        if not json_types.get(name, set()) <= NUMBER_TYPES
    }
    columns = []
    for side in sides:
        originals = {}
        if mixed:
            keys = {group.key for group in side.groups if mixed.intersection(group.names)}
            if keys:
                originals = _originals(side, keys, mixed)
        pieces: dict[str, list] = {}
        for group in side.groups:
            for index, name in enumerate(group.names):
                if name in mixed:
                    rows = originals[group.key]
                    pieces.setdefault(name, []).append([row[name] for row in rows])
                else:
                    pieces.setdefault(name, []).append(group.packed[:, index])
            if group.others:
                names = set().union(*group.others).difference(group.names)
                for name in names:
                    pieces.setdefault(name, []).append(
                        [features.get(name) for features in group.others]
                    )
        columns.append({name: _joined(parts) for name, parts in sorted(pieces.items())})
    return columns


def _joined(parts: list) -> np.ndarray | list:
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
    joined = []
    for part in parts:
        joined.extend(part.tolist() if isinstance(part, np.ndarray) else part)
    return joined


def read_columns(predictions_by_side: list) -> tuple[list[dict], tuple[int, ...]]:
    """The feature columns of each side's (sampled) predictions, and each side's rows."""
    sides = [read_side(predictions) for predictions in predictions_by_side]
    return feature_columns(sides), tuple(side.rows for side in sides)

