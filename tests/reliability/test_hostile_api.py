"""Hostile API input: generated JSON bodies never cause a 5xx and every error is
`{error, message, details}`; SQL-injection attempts in keys, sort fields, columns, values,
cursors and path ids are 400/404 (values: a harmless search) and leave the database as it
was (table checksums)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.settings import DEV_API_KEY, get_settings
from connectra.vql.cursor import encode_cursor
from tests.reliability.helpers import checksums

INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE contacts; --",
    'title" ; DELETE FROM contacts; --',
    "uuid) OR (1=1",
    "email' UNION SELECT owner_key_id FROM jobs --",
    "1; SELECT pg_sleep(3)",
    "$$; TRUNCATE contacts; $$",
    "\\'; UPDATE contacts SET title = 'pwned'; --",
    "created_at desc, (SELECT 1)",
)
VQL_KEYS = ("where", "order_by", "page", "limit", "search_after", "select_columns")
FIELD_NAMES = ("title", "email", "seniority", "departments", "created_at", "employees_count")
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(INJECTIONS)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(FIELD_NAMES), children, max_size=4)
    ),
    max_leaves=12,
)
TEXT_MATCH = st.fixed_dictionaries(
    {"filter_key": st.sampled_from(FIELD_NAMES) | st.text(max_size=20)},
    optional={
        "text_value": JSON_SCALARS,
        "search_type": st.sampled_from(["exact", "shuffle", "substring", "regex"]),
        "fuzzy": JSON_SCALARS,
        "slop": st.integers(-5, 20),
        "operator": st.sampled_from(["and", "or", "xor"]),
    },
)
WHERE = st.fixed_dictionaries(
    {},
    optional={
        "text_matches": st.fixed_dictionaries(
            {}, optional={"must": st.lists(TEXT_MATCH, max_size=3), "must_not": JSON_VALUES}
        ),
        "keyword_match": st.fixed_dictionaries(
            {},
            optional={
                "must": st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=3)
            },
        ),
        "range_query": st.fixed_dictionaries(
            {},
            optional={
                "must": st.dictionaries(
                    st.sampled_from(FIELD_NAMES),
                    st.dictionaries(st.sampled_from(["gte", "gt", "lte", "lt"]), JSON_SCALARS),
                    max_size=2,
                )
            },
        ),
    },
)
VQL_BODIES = (
    st.fixed_dictionaries(
        {},
        optional={
            "where": WHERE | JSON_VALUES,
            "order_by": st.lists(
                st.fixed_dictionaries(
                    {"order_by": st.sampled_from(FIELD_NAMES) | st.sampled_from(INJECTIONS)},
                    optional={"order_direction": st.sampled_from(["asc", "desc", "sideways"])},
                ),
                max_size=3,
            ),
            "page": st.integers(-3, 10**6),
            "limit": st.integers(-3, 1000),
            "search_after": JSON_SCALARS,
            "select_columns": st.lists(st.sampled_from(FIELD_NAMES) | st.text(max_size=15)),
        },
    )
    | JSON_VALUES
)
FILTER_BODIES = (
    st.fixed_dictionaries(
        {"filter_key": st.sampled_from(FIELD_NAMES) | JSON_SCALARS},
        optional={"search_text": JSON_SCALARS, "page": JSON_SCALARS, "limit": JSON_SCALARS},
    )
    | JSON_VALUES
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        name: JSON_SCALARS
        for name in ("email", "first_name", "title", "departments", "company_id", "uuid")
    },
)
BULK_BODIES = st.fixed_dictionaries({"records": st.lists(RECORD, max_size=5)}) | JSON_VALUES
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def client(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The dev key, a bucket too large to throttle exploration, and a few records."""
    monkeypatch.setenv("RATE_LIMIT_BURST", "1000000")
    get_settings.cache_clear()
    api.headers.update({"X-API-Key": DEV_API_KEY})
    company = api.post("/companies/create", json={"name": "Acme", "website": "acme.io"})
    assert company.status_code == 201, company.text
    for index in range(3):
        created = api.post(
            "/contacts/create",
            json={
                "email": f"p{index}@acme.io",
                "title": "Engineer",
                "seniority": "senior",
                "company_id": company.json()["data"]["uuid"],
            },
        )
        assert created.status_code == 201, created.text
    yield api
    monkeypatch.undo()
    get_settings.cache_clear()


def assert_handled(response: Any) -> None:
    """Never a 5xx; an error is the documented JSON shape."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "message", "details"}, body
        assert isinstance(body["error"], str) and isinstance(body["message"], str)


@pytest.mark.parametrize(
    "path", ["/contacts/", "/contacts/count", "/companies/", "/companies/count"]
)
def test_generated_vql_bodies_never_cause_a_server_error(client: TestClient, path: str) -> None:
    @EXAMPLES
    @given(body=VQL_BODIES)
    def check(body: Any) -> None:
        assert_handled(client.post(path, json=body))

    check()


def test_generated_filter_value_bodies_never_cause_a_server_error(client: TestClient) -> None:
    @EXAMPLES
    @given(body=FILTER_BODIES)
    def check(body: Any) -> None:
        assert_handled(client.post("/common/contacts/filters/data", json=body))

    check()


def test_generated_bulk_bodies_never_cause_a_server_error(client: TestClient) -> None:
    @EXAMPLES
    @given(body=BULK_BODIES)
    def check(body: Any) -> None:
        response = client.post("/contacts/bulk", json=body)
        assert_handled(response)
        if response.status_code == 200:
            result = response.json()
            assert result["inserted"] + result["updated"] + result["failed"] == len(body["records"])

    check()


def where(kind: str, must: Any) -> dict[str, Any]:
    return {"where": {kind: {"must": must}}}


def injection_requests(bad: str) -> list[tuple[str, str, Any, set[int]]]:
    """(method, path, body, accepted statuses) of one injection string in every place."""
    text = {"filter_key": "title", "text_value": "engineer"}
    substring = {**text, "text_value": bad, "search_type": "substring"}
    order = {"order_by": [{"order_by": "name", "order_direction": bad}]}
    company = {"company_config": {"populate": True, "select_columns": [bad]}}
    filter_search = {"filter_key": "seniority", "search_text": bad}
    in_path = quote(bad, safe="")
    return [
        # keys, sort fields and columns name schema objects: refused
        ("POST", "/contacts/", where("text_matches", [{**text, "filter_key": bad}]), {400}),
        ("POST", "/contacts/count", where("keyword_match", {bad: "x"}), {400}),
        ("POST", "/contacts/", where("range_query", {bad: {"gte": 1}}), {400}),
        ("POST", "/contacts/", {"order_by": [{"order_by": bad}]}, {400}),
        ("POST", "/companies/", order, {400}),
        ("POST", "/contacts/", {"select_columns": ["email", bad]}, {400}),
        ("POST", "/contacts/", company, {400}),
        ("POST", "/common/contacts/filters/data", {"filter_key": bad}, {400}),
        ("POST", "/contacts/", {"search_after": bad}, {400}),
        ("POST", "/contacts/", where("range_query", {"created_at": {"gte": bad}}), {400}),
        # values are data: a harmless search that finds nothing (checked by the caller)
        ("POST", "/contacts/", where("text_matches", [substring]), {200, 400}),
        ("POST", "/contacts/", where("keyword_match", {"seniority": bad}), {200}),
        ("POST", "/common/contacts/filters/data", filter_search, {200}),
        # path ids
        ("GET", f"/contacts/{in_path}", None, {400, 404}),
        ("PUT", f"/contacts/{in_path}", {"title": "x"}, {400, 404}),
        ("DELETE", f"/companies/{in_path}", None, {400, 404}),
        ("GET", f"/common/jobs/{in_path}", None, {400, 404}),
        ("GET", f"/common/{in_path}/filters", None, {400, 404}),
    ]  # fmt: skip


def test_sql_injection_attempts_are_refused_and_change_nothing(
    client: TestClient, clean_db: str
) -> None:
    # Given a database with a few records, and its checksums
    before = checksums(clean_db)
    assert before["contacts"] is not None

    # When every injection string is sent in every place
    for injection in INJECTIONS:
        for method, path, body, accepted in injection_requests(injection):
            response = client.request(method, path, json=body)

            # Then each is refused (or, as a value, finds nothing) without a server error
            assert response.status_code in accepted, (method, path, body, response.text)
            assert_handled(response)
            if response.status_code == 200 and path == "/contacts/":
                assert response.json()["data"] == [], (body, response.text)
            if response.status_code == 200 and path.endswith("/filters/data"):
                assert response.json()["data"] == [], (body, response.text)

    # And the database is exactly as it was
    assert checksums(clean_db) == before


def signed_cursor(client: TestClient, values: tuple[Any, ...]) -> tuple[dict[str, Any], str]:
    """A query and a cursor for it signed with the deployment's secret, carrying `values`."""
    query = {"limit": 1, "order_by": [{"order_by": "email"}]}
    first = client.post("/contacts/", json=query).json()
    assert first["next_cursor"]
    payload = first["next_cursor"].split(".")[0]
    fingerprint = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["f"]
    return query, encode_cursor(values, fingerprint, get_settings().cursor_secret)


@pytest.mark.parametrize(
    "values",
    [
        ("' OR '1'='1", "00000000-0000-0000-0000-000000000000"),
        (None, None),
        (1e308, "ffffffff-ffff-ffff-ffff-ffffffffffff"),
    ],
)
def test_a_validly_signed_cursor_with_hostile_values_is_refused_or_harmless(
    client: TestClient, clean_db: str, values: tuple[Any, ...]
) -> None:
    """Whoever holds the cursor secret can sign anything: values must still be parameters."""
    # Given a cursor signed with the secret (the dev default is public) carrying odd values
    query, cursor = signed_cursor(client, values)
    before = checksums(clean_db)

    # When it is used
    response = client.post("/contacts/", json={**query, "search_after": cursor})

    # Then it is a 400, or a page of real rows after that position; never a 5xx
    assert response.status_code in (200, 400), response.text
    assert_handled(response)
    assert checksums(clean_db) == before


def test_a_signed_cursor_with_a_non_uuid_id_is_a_400(client: TestClient, clean_db: str) -> None:
    # Given a signed cursor whose uuid position holds an injection string
    query, cursor = signed_cursor(client, ("p0@acme.io", "'; DROP TABLE contacts; --"))
    before = checksums(clean_db)

    # When it is used
    response = client.post("/contacts/", json={**query, "search_after": cursor})

    # Then it is refused as a malformed cursor, and nothing changed
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["path"] == "search_after"
    assert checksums(clean_db) == before
