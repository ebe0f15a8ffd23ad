"""The probe plan of the PostgreSQL engine (vql/sql.py `compile_search`) returns exactly what
the plain plan returns, whichever of its two arms answers.

The conformance fixture is small, so with the real window (5,000 rows) the probe always
holds the whole table. Shrinking the window to the rows needed (and to a few more) makes
the probe arm answer some cases and the `matched` arm the others, with the expected ids.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.vql import sql as vql_sql
from connectra.vql.parse import parse_request
from connectra.vql.sql import compile_search, sort_is_indexed, walks_companies
from tests.integration.search.cases import CASES
from tests.integration.search.test_conformance import SECRET, ids, run


@pytest.fixture(
    params=[(0, 1, 0), (0, 2, 0), (3, 1, 3), (0, 1, 2000)],
    ids=["window=need", "window=2need", "min3", "window=need,ties-in"],
)
def small_window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    minimum, factor, company_cap = request.param
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", minimum)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", factor)
    # Company walks: the window's companies, and with a large cap every company sharing
    # the last one's value; with a cap at the window, the ties cut.
    monkeypatch.setattr(vql_sql, "COMPANY_PROBE_WINDOW", minimum)
    monkeypatch.setattr(vql_sql, "COMPANY_WINDOW_CAP", company_cap)
    # Company keys with few values: contacts walked by uuid, a few or all of them.
    monkeypatch.setattr(vql_sql, "GROUP_PROBE_WINDOW", company_cap or max(minimum, 2))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_small_probe_window_returns_the_expected_records(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any], small_window: None
) -> None:
    assert ids(run(fixture_conn, case["entity"], case["vql"])) == case["expected"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if "walk" in c], ids=[c["name"] for c in CASES if "walk" in c]
)
def test_a_small_probe_window_walks_without_gaps_or_repeats(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any], small_window: None
) -> None:
    vql = {**case["vql"], "limit": case["walk"]}
    seen: list[str] = []
    for _ in range(len(case["expected"]) + 1):
        page = run(fixture_conn, case["entity"], vql)
        seen.extend(ids(page))
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    assert seen == case["expected"]


def test_both_arms_of_the_probe_answer_some_case(
    fixture_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", 0)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 1)
    arms = set()
    for case in CASES:
        query = parse_request(case["vql"], Entity(case["entity"]), cursor_secret=SECRET)
        compiled = compile_search(query)
        if "probe AS MATERIALIZED" not in compiled.statement.as_string(fixture_conn):
            continue
        need = query.offset + query.limit + 1
        with fixture_conn.transaction():
            probe = fixture_conn.execute(
                psycopg.sql.SQL("SELECT count(*) AS n FROM ({}) AS p").format(
                    # The probe's CTEs alone (one, or three when the window comes in two
                    # parts), then the probe itself.
                    psycopg.sql.SQL(
                        compiled.statement.as_string(fixture_conn).split(
                            ", matched AS MATERIALIZED", 1
                        )[0]
                        + " SELECT * FROM probe"
                    )
                ),
                compiled.params,
            ).fetchone()
        arms.add("probe" if probe and probe["n"] == need else "matched")
    assert arms == {"probe", "matched"}


@pytest.mark.parametrize(
    ("entity", "order_by", "indexed"),
    [
        ("contacts", [], True),  # uuid: the primary key
        ("contacts", [{"order_by": "created_at", "order_direction": "desc"}], True),
        ("contacts", [{"order_by": "last_name"}], True),
        # nullable DESC NULLS LAST: the ascending index read backwards in two parts
        ("contacts", [{"order_by": "last_name", "order_direction": "desc"}], True),
        ("contacts", [{"order_by": "city"}], True),
        ("contacts", [{"order_by": "email_status", "order_direction": "desc"}], True),
        ("contacts", [{"order_by": "city"}, {"order_by": "state"}], False),
        ("contacts", [{"order_by": "company_name"}], False),
        ("companies", [{"order_by": "employees_count", "order_direction": "desc"}], True),
        ("companies", [{"order_by": "name"}, {"order_by": "city"}], False),
    ],
)
def test_only_sorts_an_index_serves_are_probed(
    entity: str, order_by: list[dict[str, str]], indexed: bool
) -> None:
    vql = {
        "where": {"keyword_match": {"must": {"country": "germany"}}},
        "order_by": order_by,
    }
    query = parse_request(vql, Entity(entity), cursor_secret=SECRET)

    assert sort_is_indexed(query) is indexed
    probed = indexed or walks_companies(query)  # company sorts: the companies' order
    assert ("probe AS MATERIALIZED" in compile_search(query).statement.as_string(None)) is probed


TIES = "sort_by_company_number_with_ties"
RANGE = "sort_by_company_number_desc_company_range"
EVERY_WALK = {TIES, RANGE, "sort_by_company_name_filtered", "sort_by_company_field"}
COMPANY_SORT_CASES = [c for c in CASES if c["name"] in EVERY_WALK]


@pytest.mark.parametrize(
    ("window", "cap", "from_the_probe"),
    [
        (1, 0, set()),  # one company: too few contacts for any page
        (2, 0, set()),
        (2, 500, {TIES, RANGE}),  # the second company's value is shared: its ties come in
        (3, 0, {RANGE}),
        (500, 500, EVERY_WALK),  # every company
    ],
)
def test_the_company_walk_answers_from_its_probe_when_it_can(
    fixture_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    cap: int,
    from_the_probe: set[str],
) -> None:
    """With the `matched` arm switched off, the page is still right exactly when the
    probe was judged exact (else it is empty); which pages the probe answers depends on the
    window and on whether the ties of its last value are taken in (the cap)."""
    monkeypatch.setattr(vql_sql, "COMPANY_PROBE_WINDOW", window)
    monkeypatch.setattr(vql_sql, "COMPANY_WINDOW_CAP", cap)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 0)
    answered = {}
    for case in COMPANY_SORT_CASES:
        vql = {**case["vql"], "limit": 3}  # 4 rows needed: each case has them with a company
        query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
        if not walks_companies(query):
            continue
        compiled = compile_search(query)
        text = compiled.statement.as_string(fixture_conn)
        probe_only = text.replace("FROM matched WHERE NOT", "FROM matched WHERE false AND NOT")
        with fixture_conn.transaction():
            full = fixture_conn.execute(compiled.statement, compiled.params).fetchall()
            from_probe = fixture_conn.execute(
                psycopg.sql.SQL(probe_only),
                compiled.params,
            ).fetchall()
        assert from_probe in (full, []), case["name"]  # the probe's page, or none at all
        answered[case["name"]] = from_probe == full
    assert set(answered) == EVERY_WALK
    assert {name for name, exact in answered.items() if exact} == from_the_probe


@pytest.mark.parametrize(("window", "answers"), [(1, False), (2000, True)])
def test_a_company_key_with_few_values_pages_one_value_by_uuid(
    fixture_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    answers: bool,
) -> None:
    """The group probe (vql/sql.py `_GROUP_PROBE`) finds the page among the first value's
    contacts when its uuid walk is long enough, else the matched arm answers."""
    monkeypatch.setattr(vql_sql, "GROUP_PROBE_WINDOW", window)
    case = next(c for c in CASES if c["name"] == "sort_by_company_country_filtered")
    query = parse_request({**case["vql"], "limit": 2}, Entity.CONTACTS, cursor_secret=SECRET)
    compiled = compile_search(query)
    text = compiled.statement.as_string(fixture_conn)
    assert "first_value AS MATERIALIZED" in text
    probe_only = text.split(", matched AS MATERIALIZED", 1)[0] + " SELECT count(*) AS n FROM probe"
    with fixture_conn.transaction():
        found = fixture_conn.execute(psycopg.sql.SQL(probe_only), compiled.params).fetchone()
    assert found is not None
    assert (found["n"] == query.offset + query.limit + 1) is answers
    assert ids(run(fixture_conn, "contacts", {**case["vql"], "limit": 2})) == case["expected"][:2]
