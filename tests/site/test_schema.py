"""The OpenAPI document and the docs page: valid OpenAPI 3, and usable with no internet."""
import json
import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

PREDICTION_PATHS = [
    "/api/v1/predictions/",
    "/api/v1/predictions/{prediction_id}/",
    "/api/v1/predictions/{prediction_id}/outcome/",
    "/api/v1/outcomes/",
    "/api/v1/metrics/performance/",
    "/api/v1/metrics/accuracy/",
    "/api/v1/metrics/calibration/",
    "/api/v1/metrics/classification/",
    "/api/v1/metrics/trend/",
    "/api/v1/health-snapshots/",
]


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document


def test_schema_documents_the_prediction_endpoints(schema):
    for path in PREDICTION_PATHS:
        assert path in schema["paths"], path
    ingest = schema["paths"]["/api/v1/predictions/"]["post"]
    assert set(ingest["responses"]) >= {"201", "400", "401", "403", "409", "413"}
    assert list(ingest["requestBody"]["content"]) == ["application/json"]
    calibration = schema["paths"]["/api/v1/metrics/calibration/"]["get"]
    assert {p["name"] for p in calibration["parameters"]} >= {
        "model_version", "window_minutes", "n_bins",
    }
    trend = schema["paths"]["/api/v1/metrics/trend/"]["get"]
    assert "text/csv" in trend["responses"]["200"]["content"]


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "the page loads its assets"
    for url in urls:
        assert not re.match(r"(https?:)?//", url), f"remote asset {url}"
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a local static file"
    assert "validator.swagger.io" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_renders_offline(page):
    # The page fixture fails the test on any request that leaves 127.0.0.1.
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Model monitoring API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector("text=/api/v1/predictions/", timeout=20_000)
    # Grouped by tag, ingestion first (SPEC §11).
    tags = page.locator(".opblock-tag-section .opblock-tag")
    assert tags.first.get_attribute("data-tag") == "ingestion"
    assert tags.count() == 10


# --- tags (SPEC §11): the document groups operations, ingestion first ----------------------

INGESTION = {
    ("post", "/api/v1/predictions/"),
    ("post", "/api/v1/predictions/{prediction_id}/outcome/"),
    ("post", "/api/v1/outcomes/"),
    ("post", "/api/v1/metrics/custom/"),
}


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, operation


def test_operations_are_grouped_by_tag_ingestion_first(schema):
    declared = [tag["name"] for tag in schema["tags"]]
    assert declared[0] == "ingestion"
    assert all(tag.get("description") for tag in schema["tags"])
    used = set()
    for method, path, operation in _operations(schema):
        assert len(operation["tags"]) == 1, (method, path, operation["tags"])
        assert operation["tags"][0] in declared, (method, path, operation["tags"])
        used.add(operation["tags"][0])
    assert used == set(declared)  # no tag declared for nothing
    ingestion = {(m, p) for m, p, op in _operations(schema) if op["tags"] == ["ingestion"]}
    assert ingestion == INGESTION


def test_reads_of_ingested_data_are_not_ingestion(schema):
    tags = {(m, p): op["tags"][0] for m, p, op in _operations(schema)}
    assert tags[("get", "/api/v1/predictions/")] == "predictions"
    assert tags[("get", "/api/v1/metrics/custom/")] == "metrics"
    assert tags[("post", "/api/v1/actions/{action_id}/approve/")] == "actions"
    assert tags[("get", "/api/v1/")] == "api"


def test_ingested_items_allow_no_other_keys_while_strict(client, settings):
    def components():
        return client.get(
            "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
        ).json()["components"]["schemas"]

    # Request bodies have their own components (COMPONENT_SPLIT_REQUEST): "<name>Request".
    for name in ("PredictionInputRequest", "OutcomeItemRequest", "CustomMetricInputRequest"):
        assert components()[name]["additionalProperties"] is False, name
    settings.MONITORING_INGEST_STRICT = False
    assert "additionalProperties" not in components()["PredictionInputRequest"]


def test_a_rules_conditions_document_every_key_the_api_takes(schema):
    # A client generated from the document must be able to route to PagerDuty and sign
    # webhooks: the conditions allow no other keys, so these two must be listed.
    from alerting.rule_checks import AGGREGATES, SECRET_CONDITIONS

    conditions = next(
        field["properties"]["conditions"]
        for name, field in schema["components"]["schemas"].items()
        if name == "AlertRuleRequest"
    )
    assert conditions["additionalProperties"] is False
    assert set(conditions["properties"]) == {
        "min_value", "max_value", "min_samples", "webhook_url", "aggregate", *SECRET_CONDITIONS
    }
    assert conditions["properties"]["aggregate"]["enum"] == list(AGGREGATES)


def test_not_blank_refuses_exactly_what_drf_strips_away():
    # "\s" differs between regex dialects (U+001C passed the fuzzer's, DRF stripped it).
    import sys

    from monitoring_site.api.schema import NOT_BLANK

    disagree = [
        hex(code) for code in range(sys.maxunicode + 1)
        if (re.fullmatch(NOT_BLANK, chr(code)) is not None)
        != (chr(code).strip() != "" and code != 0)
    ]
    assert disagree == []


def test_no_pattern_in_the_document_depends_on_the_regex_dialect(schema):
    patterns = re.findall(r'"pattern": "((?:[^"\\]|\\.)*)"', json.dumps(schema))
    assert patterns
    assert [p for p in patterns if re.search(r"\\\\[sSdDwWbB]", p)] == []
