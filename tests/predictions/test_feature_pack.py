"""Numeric features packed on every write path (feature_pack, issue 16), and the backfill."""
import json
from array import array
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client

from legacy.importing import import_legacy_dir
from predictions.feature_pack import EXACT_INT, layout_of, pack_features
from predictions.models import FeatureLayout, Prediction
from predictions.storage import ingest_predictions
from predictions.tracker import ModelPerformanceTracker
from tests.conftest import is_postgres
from tests.legacy.conftest import write_jsonl
from tests.races import race

URL = "/api/v1/predictions/"
FEATURES = {"age": 41, "income": 52000.5, "country": "FR", "vip": True, "note": None}


def item(n, features=None, **overrides):
    return {
        "prediction_id": f"pk-{n}", "model_version": "v1", "predicted_outcome": 1,
        "confidence": 0.75, "timestamp": "2026-11-24T10:00:00Z",
        "features": FEATURES if features is None else features, **overrides,
    }


def stored_packing(prediction_id):
    """(layout names, numbers_only, unpacked values, other keys) of a stored row, or
    None when it is not packed."""
    row = Prediction.objects.get(prediction_id=prediction_id)
    if row.feature_layout_id is None:
        assert row.numeric_features is None and row.other_features is None
        return None
    layout = FeatureLayout.objects.get(pk=row.feature_layout_id)
    others = None if row.other_features is None else json.loads(row.other_features)
    assert layout.numbers_only == (others is None)
    return (tuple(layout.names), layout.numbers_only, array("d", bytes(row.numeric_features)),
            others)


def assert_packed_as_written(prediction_id):
    """The stored row is packed exactly as pack_features packs its stored features."""
    row = Prediction.objects.get(prediction_id=prediction_id)
    layout, packed, others = pack_features(row.features)
    assert layout is not None
    assert stored_packing(prediction_id) == (
        layout.names, layout.numbers_only, array("d", packed),
        None if others is None else json.loads(others))


# --- packing -----------------------------------------------------------------------------
def test_numbers_are_packed_in_name_order_and_the_rest_left_to_the_json():
    layout, packed, others = pack_features({"b": 2, "a": 1.5, "s": "x", "t": True, "n": None})
    assert layout.names == ("a", "b") and not layout.numbers_only
    assert array("d", packed).tolist() == [1.5, 2.0]
    assert json.loads(others) == {"s": "x", "t": True, "n": None}
    layout, packed, others = pack_features({"y": -0.0, "x": 3})
    assert layout.numbers_only and array("d", packed).tolist() == [3.0, -0.0]
    assert layout == layout_of(("x", "y"), True) and layout.key > 0 and others is None


def test_ints_not_exact_in_float64_stay_json_and_non_objects_are_not_packed():
    layout, packed, others = pack_features({"big": EXACT_INT + 1, "edge": -EXACT_INT,
                                            "small": 1})
    assert layout.names == ("edge", "small") and not layout.numbers_only
    assert array("d", packed).tolist() == [-float(EXACT_INT), 1.0]
    assert json.loads(others) == {"big": EXACT_INT + 1}
    layout, packed, others = pack_features({"big": 10**400, "flag": False})
    assert layout.names == () and packed == b""
    assert json.loads(others) == {"big": 10**400, "flag": False}
    assert pack_features([1.0, 2.0]) == (None, None, None)
    assert pack_features({}) == (layout_of((), True), b"", None)


# --- every write path --------------------------------------------------------------------
@pytest.fixture
def ingester(api_client_for):
    return api_client_for(perms=["predictions.add_prediction"])


def test_a_rest_batch_and_a_single_post_are_packed(ingester):
    answer = ingester.post(URL, data=json.dumps([item(1), item(2, {"x": 0.25, "y": 7})]),
                           content_type="application/json")
    assert answer.status_code == 201, answer.content
    answer = ingester.post(URL, data=json.dumps(item(3, {"z": 1e-300})),
                           content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert stored_packing("pk-1") == (("age", "income"), False, array("d", [41.0, 52000.5]),
                                      {"country": "FR", "vip": True, "note": None})
    assert stored_packing("pk-2") == (("x", "y"), True, array("d", [0.25, 7.0]), None)
    assert stored_packing("pk-3") == (("z",), True, array("d", [1e-300]), None)


def test_a_batch_with_an_id_stored_already_is_packed_through_the_staging_path(ingester):
    """On PostgreSQL the COPY fails on the stored id and the batch goes through the
    staging table (elsewhere: INSERT … ON CONFLICT); both keep the packed columns."""
    ingest_predictions([item(1)])
    answer = ingester.post(URL, data=json.dumps([item(1), item(2, {"a": 1, "b": "x"})]),
                           content_type="application/json")
    assert answer.status_code in (200, 201), answer.content
    assert Prediction.objects.count() == 2
    assert_packed_as_written("pk-1")
    assert stored_packing("pk-2") == (("a",), False, array("d", [1.0]), {"b": "x"})


def test_a_row_without_numbers_has_the_empty_layout(db):
    ingest_predictions([item(1, {"country": "FR", "vip": False}), item(2, {})])
    assert stored_packing("pk-1") == ((), False, array("d"), {"country": "FR", "vip": False})
    assert stored_packing("pk-2") == ((), True, array("d"), None)


def test_the_tracker_packs(db):
    ModelPerformanceTracker().record_prediction("t1", "v1", 1, 0.9, {"score": 0.5, "k": 3})
    assert stored_packing("t1") == (("k", "score"), True, array("d", [3.0, 0.5]), None)


@pytest.mark.parametrize("parse_workers", [0, 1])
def test_import_legacy_packs_in_the_process_and_in_parse_workers(db, tmp_path,
                                                                 parse_workers):
    """With workers (PostgreSQL) the rows travel as COPY lines, their layouts beside."""
    write_jsonl(tmp_path / "predictions.jsonl", [
        {**item(n, {"grid": n, "gap": 0.5 * n, "team": "x"}), "timestamp": 1767225600.5}
        for n in range(1, 6)
    ])
    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl",
                               parse_workers=parse_workers)
    assert report.files["predictions.jsonl"].imported == 5
    for n in range(1, 6):
        assert stored_packing(f"pk-{n}") == (("gap", "grid"), False,
                                             array("d", [0.5 * n, float(n)]), {"team": "x"})


def test_orm_and_admin_saves_pack(db):
    row = Prediction.objects.create(prediction_id="o1", model_version="v1",
                                    predicted_outcome=1, confidence=0.5, features={"x": 2})
    assert stored_packing("o1") == (("x",), True, array("d", [2.0]), None)
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/predictions/prediction/{row.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["features"] = json.dumps({"x": 4.5, "label": "a"})
    data["timestamp_0"], data["timestamp_1"] = "2026-11-24", "10:00:00"
    answer = client.post(f"/admin/predictions/prediction/{row.pk}/change/", data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    assert stored_packing("o1") == (("x",), False, array("d", [4.5]), {"label": "a"})
    # Saving other fields leaves the packing alone; saving features repacks.
    row.refresh_from_db()
    row.confidence = 0.25
    row.save(update_fields=["confidence"])
    row.features = {"y": 1.0}
    row.save(update_fields=["features"])
    assert stored_packing("o1") == (("y",), True, array("d", [1.0]), None)


def test_a_layout_key_held_by_other_names_leaves_the_rows_unpacked(db):
    """A hash collision (faked): the rows are stored, unpacked, never mislabelled."""
    layout, _packed, _others = pack_features({"x": 1.0})
    FeatureLayout.objects.create(id=layout.key, names=["not-x"], numbers_only=True)
    ingest_predictions([item(1, {"x": 1.0})])
    assert stored_packing("pk-1") is None
    Prediction.objects.create(prediction_id="o1", model_version="v1", predicted_outcome=1,
                              confidence=0.5, features={"x": 2.0})
    assert stored_packing("o1") is None


@pytest.mark.skipif(not is_postgres(), reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_writers_racing_on_a_new_layout_store_it_once():
    features = {"race_a": 1.0, "race_b": 2}

    def write(n):
        if n % 2:
            ingest_predictions([item(f"{n}-{i}", features) for i in range(50)])
        else:
            Prediction.objects.create(prediction_id=f"orm-{n}", model_version="v1",
                                      predicted_outcome=1, confidence=0.5, features=features)

    race(write, range(8))
    layout, _packed, _others = pack_features(features)
    assert FeatureLayout.objects.filter(names=["race_a", "race_b"]).count() == 1
    assert Prediction.objects.count() == 4 * 50 + 4
    assert set(Prediction.objects.values_list("feature_layout_id", flat=True)) == {layout.key}


# --- the backfill ------------------------------------------------------------------------
def test_the_backfill_packs_older_rows_and_is_idempotent(db):
    features = [{"x": float(n), "s": "a"} for n in range(7)] + [{"s": "b"}, {"big": 2**60},
                                                                [1, 2]]
    Prediction.objects.bulk_create([
        Prediction(prediction_id=f"b{n}", model_version="v1", predicted_outcome=1,
                   confidence=0.5, features=f)
        for n, f in enumerate(features)
    ])  # a bare bulk_create: what rows stored before packing look like
    assert not Prediction.objects.filter(feature_layout__isnull=False).exists()
    out = StringIO()
    call_command("pack_features", "--batch-size", "3", stdout=out)
    assert "Examined 10 unpacked prediction(s); packed 9" in out.getvalue()
    for n in range(9):
        assert_packed_as_written(f"b{n}")
    assert stored_packing("b9") is None  # not an object: read from the JSON
    before = list(Prediction.objects.order_by("id").values_list(
        "features", "feature_layout_id", "numeric_features"))
    out = StringIO()
    call_command("pack_features", stdout=out)
    assert "Examined 1 unpacked prediction(s); packed 0" in out.getvalue()
    after = list(Prediction.objects.order_by("id").values_list(
        "features", "feature_layout_id", "numeric_features"))
    assert [(f, k, bytes(p) if p is not None else None) for f, k, p in after] == [
        (f, k, bytes(p) if p is not None else None) for f, k, p in before]


def test_the_packed_columns_are_not_part_of_the_api_answer(ingester):
    ingest_predictions([item(1)])
    answer = ingester.get(URL).json()
    rows = answer["results"] if isinstance(answer, dict) else answer
    assert rows and not {"feature_layout", "numeric_features", "other_features"} & set(rows[0])
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.parametrize("features", [
    {"a": 1, "b": True}, {"a": 2**60, "c": "x"}, {"z": 1.0}, {"s": "x", "t": "é\"\n"},
    {}, {"a": None, "b": 3}, {"b": 1, "a": 2.5}, {"n": {"x": 1}, "m": [1, 2], "k": 0.5},
])
def test_the_cached_shapes_pack_as_the_plain_loop(features):
    """The fast path (a shape seen before) gives what the plain loop gives, twice over;
    its text of the other keys is json.dumps' own."""
    from predictions.feature_pack import _pack_slowly

    for _ in range(2):
        assert pack_features(features) == _pack_slowly(features)
    others = pack_features(features)[2]
    rest = {k: v for k, v in features.items()
            if type(v) not in (int, float) or (type(v) is int and abs(v) > EXACT_INT)}
    assert others == (json.dumps(rest) if rest else None)
    # The same keys with other value types: another shape, not the cached one.
    flipped = {k: ("s" if type(v) in (int, float) else 1.0) for k, v in features.items()}
    assert pack_features(flipped) == _pack_slowly(flipped)
