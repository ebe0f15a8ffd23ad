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
from tests.integration.search.fixture import short_id_of
from tests.integration.search.test_conformance import SECRET, ids, run


@pytest.fixture(
    params=[(0, 1, 0, 0), (0, 2, 0, 1), (3, 1, 3, 3), (0, 1, 2000, 2000)],
    ids=["window=need", "window=2need", "min3", "window=need,ties-in"],
)
def small_window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    minimum, factor, company_cap, company_gate = request.param
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", minimum)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", factor)
    # Company walks: the window's companies, and with a large cap every company sharing
    # the last one's value; with a cap at the window, the ties cut.
    monkeypatch.setattr(vql_sql, "COMPANY_PROBE_WINDOW", minimum)
    monkeypatch.setattr(vql_sql, "COMPANY_WINDOW_CAP", company_cap)
    # Company keys with few values: contacts walked by uuid, a few or all of them.
    monkeypatch.setattr(vql_sql, "GROUP_PROBE_WINDOW", company_cap or max(minimum, 2))
    # Contacts filtered on company text: the probe always (0), past 1 or 3 contacts of the
    # selected companies, or never (2,000: `matched` from the companies' side).
    monkeypatch.setattr(vql_sql, "COMPANY_GATE_CONTACTS", company_gate)


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
    assert walk(fixture_conn, case, case["walk"]) == case["expected"]


def walk(conn: psycopg.Connection[Any], case: dict[str, Any], limit: int) -> list[str]:
    """The case's result paged through with search_after, `limit` rows a page (at most
    one page more than the expected rows: a cursor that never ends stops there)."""
    vql = {**case["vql"], "limit": limit}
    seen: list[str] = []
    for _ in range(len(case["expected"]) + 1):
        page = run(conn, case["entity"], vql)
        seen.extend(ids(page))
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    return seen


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
        # One company (its value's run cut at the cap): the group probe pages that value
        # and the next by uuid where they hold the page.
        (1, 0, {TIES, RANGE}),
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


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_the_group_probe_answers_pages_that_cross_into_the_next_value(
    fixture_conn: psycopg.Connection[Any], direction: str
) -> None:
    """Walking contacts by a few-valued company key, every page whose rows (and the one
    after them) hold only the first company value from the cursor on and the next one
    comes from the group probe (the first value's rest, then the next value's first rows
    by uuid), not from the matched arm."""
    case = next(c for c in CASES if c["name"] == "sort_by_company_country_filtered")
    vql: dict[str, Any] = {
        **case["vql"],
        "order_by": [{"order_by": "company_country", "order_direction": direction}],
        "limit": 2,
    }
    countries = [
        row["country"]
        for row in fixture_conn.execute(
            'SELECT DISTINCT country COLLATE "C" AS country FROM companies '
            f"WHERE deleted_at IS NULL AND country IS NOT NULL ORDER BY 1 {direction}"
        ).fetchall()
    ]
    crossings = 0
    for _ in range(len(case["expected"])):
        query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
        compiled = compile_search(query)
        with fixture_conn.transaction():
            page_rows = fixture_conn.execute(compiled.statement, compiled.params).fetchall()
        values = [row["sort_0"] for row in page_rows]
        if query.search_after is not None and query.search_after[0] is None:
            break  # among the contacts without a company: past every company value
        first, *following = _from(countries, query.search_after, direction)[:2]
        need = query.offset + query.limit + 1
        if len(values) == need and set(values) <= {first, *following}:
            assert _probe_count(fixture_conn, compiled) == need, values
            crossings += len(set(values)) == 2
        page = run(fixture_conn, "contacts", vql)
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    assert crossings >= 1  # the walk met a value boundary, and the probe paged across it


GROUPED_WALKS = [
    case
    for case in CASES
    if "walk" in case
    and any(
        key["order_by"] in ("company_country", "company_state", "company_city", "country")
        for key in case["vql"].get("order_by", [])[:1]
    )
]


@pytest.mark.parametrize("window", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("case", GROUPED_WALKS, ids=[case["name"] for case in GROUPED_WALKS])
def test_value_walks_cut_at_any_window_page_without_gaps_or_repeats(
    fixture_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    case: dict[str, Any],
    window: int,
) -> None:
    """The group probe and the pinned walk read each value's rows by uuid up to a window;
    a walk cut at its window may have left rows of its value unread, and the next value's
    rows must then not be taken (else rows go missing or come twice)."""
    monkeypatch.setattr(vql_sql, "GROUP_PROBE_WINDOW", window)
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", window)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 0)
    for limit in (1, 2, 3):
        assert walk(fixture_conn, case, limit) == case["expected"], limit


def _from(countries: list[str], cursor: tuple[Any, ...] | None, direction: str) -> list[str]:
    """The countries from the cursor's value on (bytewise order, as COLLATE "C")."""
    if cursor is None:
        return countries
    start = str(cursor[0]).encode()
    if direction == "asc":
        return [value for value in countries if value.encode() >= start]
    return [value for value in countries if value.encode() <= start]


def _probe_count(
    conn: psycopg.Connection[Any], compiled: vql_sql.CompiledSQL, probe: str = "probe"
) -> int:
    """Rows the statement's `probe` CTE finds (its CTEs up to `matched`, then a count)."""
    text = compiled.statement.as_string(conn)
    probe_only = (
        text.split(", matched AS MATERIALIZED", 1)[0] + f" SELECT count(*) AS n FROM {probe}"
    )
    with conn.transaction():
        found = conn.execute(psycopg.sql.SQL(probe_only), compiled.params).fetchone()
    assert found is not None
    return int(found["n"])


PINNED = "sort_by_country_desc_pinned_with_another_filter"


@pytest.mark.parametrize(
    ("steps", "window", "answered"),
    [
        # United States: 6 rows (3 pages of 2; the 3rd page's row after them is the next
        # value's first, Germany); then pages that need rows of three values: the matched
        # arm.
        (300, 5000, [True, True, True, False, False]),
        # The loose scan stops before United States, except from a cursor in it.
        (1, 5000, [False, True, False, False, False]),
        (300, 1, [False] * 5),  # the uuid walk reads one row of the three needed
    ],
    ids=["answers", "scan-gives-up", "window-too-short"],
)
def test_a_sort_pinned_by_its_filter_pages_one_raw_value_by_uuid(
    fixture_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    steps: int,
    window: int,
    answered: list[bool],
) -> None:
    """The pinned value walk (vql/pinned_sort.py): the loose scan finds the first raw value
    the filter keeps (from a cursor's on), the probe walks its rows by uuid; it answers when
    it finds the rows needed, else the matched arm does. Either way the same pages."""
    monkeypatch.setattr(vql_sql.pinned_sort, "PINNED_VALUE_STEPS", steps)
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", window)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 0)
    case = next(c for c in CASES if c["name"] == PINNED)
    vql: dict[str, Any] = {**case["vql"], "limit": 2}
    seen: list[str] = []
    from_probe: list[bool] = []
    while True:
        query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
        compiled = compile_search(query)
        assert "WITH RECURSIVE walk" in compiled.statement.as_string(fixture_conn)
        from_probe.append(_probe_count(fixture_conn, compiled) == query.limit + 1)
        page = run(fixture_conn, "contacts", vql)
        seen.extend(ids(page))
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    assert seen == case["expected"]
    assert from_probe == answered


@pytest.mark.parametrize(
    ("window", "cap", "group_window", "arm"),
    [
        # Three companies share a total funding of 0: a window cut at two of them cannot
        # end between two values, so the group probe pages that value by contact uuid.
        (2, 2, 20_000, "group"),
        (2, 2, 1, "matched"),  # its uuid walk is too short
        (2, 500, 20_000, "probe"),  # the window takes in all three: the company probe
    ],
)
def test_a_company_walk_cut_inside_one_value_pages_that_value_by_uuid(
    fixture_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    cap: int,
    group_window: int,
    arm: str,
) -> None:
    """`_COMPANY_CAPPED_RUN` (vql/sql.py): which arm of the company walk answers, each with
    the page of the plain order or nothing."""
    monkeypatch.setattr(vql_sql, "COMPANY_PROBE_WINDOW", window)
    monkeypatch.setattr(vql_sql, "COMPANY_WINDOW_CAP", cap)
    monkeypatch.setattr(vql_sql, "GROUP_PROBE_WINDOW", group_window)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 0)
    vql = {
        "where": {"keyword_match": {"must": {"departments": "engineering"}}},
        "order_by": [{"order_by": "company_total_funding"}],
        "limit": 3,
    }
    query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
    compiled = compile_search(query)
    text = compiled.statement.as_string(fixture_conn)
    no_matched = text.replace("FROM matched WHERE NOT", "FROM matched WHERE false AND NOT")
    probe_only = no_matched.replace("FROM group_probe WHERE", "FROM group_probe WHERE false AND")
    with fixture_conn.transaction():
        full, without_matched, from_probe = (
            fixture_conn.execute(psycopg.sql.SQL(statement), compiled.params).fetchall()
            for statement in (text, no_matched, probe_only)
        )
    assert [short_id_of(row["sort_1"]) for row in full] == ["ct01", "ct04", "ct07", "ct14"]
    assert without_matched in (full, []) and from_probe in (full, [])
    answered = "probe" if from_probe else "group" if without_matched else "matched"
    assert answered == arm


def test_a_sort_within_one_country_probes_that_countrys_rows(
    fixture_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_country_scope` (vql/sql.py): with a window of exactly the rows needed, the probe
    answers, as it reads the country's rows in city order (the global order starts with
    Ankara, in another country: that window would hold too few)."""
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", 0)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 1)
    case = next(c for c in CASES if c["name"] == "sort_by_city_within_one_country")
    vql = {**case["vql"], "limit": 3}
    query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
    compiled = compile_search(query)

    assert "lower(c.country) = " in compiled.statement.as_string(fixture_conn)
    assert _probe_count(fixture_conn, compiled) == query.limit + 1
    assert ids(run(fixture_conn, "contacts", vql)) == case["expected"][:3]
