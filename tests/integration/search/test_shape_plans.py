"""Each query shape's PostgreSQL plan uses the index meant for it (EXPLAIN).

The shapes are the search benchmark's (bench/shapes.py: every shape the VQL grammar
allows), with values of the generated sample data loaded here (20k contacts, 2k
companies). A table this small is cheaper to scan than to index, so sequential scans are
priced out (`enable_seqscan = off`, the standard way to ask "can and will this index
serve the query"): a shape whose index stopped matching its SQL (a changed expression,
operator or column) then still shows a scan without it, and fails here rather than in a
benchmark nobody reads.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from bench.search import ensure_loaded
from bench.shapes import Shape, example_values, generate, trigram_index
from connectra.db import search_structures
from connectra.models.fields import Entity
from connectra.search.engine import COUNT_EXACT_UP_TO
from connectra.vql import sql as vql_sql
from connectra.vql.ast import Query
from connectra.vql.fuzzy import max_edits
from connectra.vql.fuzzy_sql import fuzzy_prefilter, intact_pieces, takes_strict_prefilter
from connectra.vql.parse import parse_request
from connectra.vql.sql import compile_count, compile_search

SECRET = "plan-test"
CONTACTS, COMPANIES = 20_000, 2_000
SHAPES = generate(example_values())
INDEXED = [shape for shape in SHAPES if shape.indexes]


@pytest.fixture(scope="module")
def sample_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    ensure_loaded(database_url, CONTACTS, COMPANIES)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture(autouse=True)
def small_probe_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe reads a window of the sort index (5,000 rows at 1M); over 2k companies a
    window that size is the whole table, which a sort reads more cheaply without it.
    Scaled down to the sample, the window is a window again, as at 1M."""
    monkeypatch.setattr(vql_sql, "PROBE_WINDOW", 100)
    monkeypatch.setattr(vql_sql, "PROBE_FACTOR", 2)


def index_names(plan: dict[str, Any]) -> set[str]:
    names = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        names |= index_names(child)
    return names


def cte_plan(plan: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The plan of the CTE `name`, if the plan has it."""
    if plan.get("Subplan Name") == f"CTE {name}":
        return plan
    found = (cte_plan(child, name) for child in plan.get("Plans", []))
    return next((tree for tree in found if tree is not None), None)


def index_conditions(plan: dict[str, Any]) -> dict[str, list[str]]:
    """Each index a plan reads, with its index conditions (none for a full-index scan)."""
    found: dict[str, list[str]] = {}
    if "Index Name" in plan:
        found[plan["Index Name"]] = [plan["Index Cond"]] if "Index Cond" in plan else []
    for child in plan.get("Plans", []):
        for name, conditions in index_conditions(child).items():
            found.setdefault(name, []).extend(conditions)
    return found


def explain(
    conn: psycopg.Connection[Any],
    shape: Shape,
    plan: str | None = None,
    setup: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> dict[str, Any]:
    """The shape's plan (`plan`: "page" or "count", default the shape's), sequential scans
    priced out; `setup` runs first in the same (rolled back) transaction."""
    query = parse_request(shape.vql, shape.entity, cursor_secret=SECRET)
    return explain_query(conn, query, (plan or shape.plan) == "page", setup)


def explain_query(
    conn: psycopg.Connection[Any],
    query: Query,
    page: bool = True,
    setup: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> dict[str, Any]:
    """The plan of the query's page (or count), as `explain` gives it."""
    compiled = compile_search(query) if page else compile_count(query)
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL enable_seqscan = off")
        if setup is not None:
            setup(conn)
        for name, value in compiled.settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        row = conn.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) {}").format(compiled.statement), compiled.params
        ).fetchone()
    assert row is not None
    plan_tree: dict[str, Any] = next(iter(row.values()))[0]["Plan"]
    return plan_tree


def plan_indexes(conn: psycopg.Connection[Any], shape: Shape) -> set[str]:
    return index_names(explain(conn, shape))


def test_the_sample_carries_the_postgres_structure_set(
    sample_conn: psycopg.Connection[Any],
) -> None:
    assert search_structures.status(sample_conn)["set"] == "postgres"


def test_every_named_index_is_in_the_structure_set() -> None:
    known = {index.name for index in search_structures.INDEXES}
    known |= {"contacts_pkey", "companies_pkey"}
    assert {name for shape in SHAPES for name in shape.indexes} <= known


def test_the_shapes_cover_the_grammar() -> None:
    names = " | ".join(shape.name for shape in SHAPES)
    for part in (
        "exact slop 2",
        "shuffle or",
        "fuzzy and",
        "fuzzy or",
        "substring short",
        "must_not",
        "same-key OR",
        "keyword array",
        "company range",
        "sort created_at desc",
        "populate",
        "search_after",
        "companies name",
    ):
        assert part in names


@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in INDEXED])
def test_the_shape_uses_its_index(sample_conn: psycopg.Connection[Any], shape: Shape) -> None:
    used = plan_indexes(sample_conn, shape)
    assert used & set(shape.indexes), f"{shape.name}: plan used {sorted(used)}"


def scan_types(plan: dict[str, Any]) -> set[tuple[str, str]]:
    found = {(plan["Node Type"], plan["Index Name"])} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= scan_types(child)
    return found


@pytest.mark.parametrize("field", ["seniority", "city", "country", "title"])
def test_a_bounded_count_does_not_read_the_filtered_fields_sort_index(
    sample_conn: psycopg.Connection[Any], field: str
) -> None:
    """That index is sorted by the field: a value's matches sit together, not spread along
    it as the planner assumes when it stops a scan at the bound (vql/sql.py compile_count)."""
    value = sample_conn.execute(
        sql.SQL("SELECT {0} AS value FROM contacts GROUP BY {0} ORDER BY {0} DESC LIMIT 1").format(
            sql.Identifier(field)
        )
    ).fetchone()
    assert value is not None
    query = parse_request(
        {"where": {"keyword_match": {"must": {field: value["value"]}}}},
        Entity.CONTACTS,
        cursor_secret=SECRET,
    )
    compiled = compile_count(query, up_to=COUNT_EXACT_UP_TO)
    with sample_conn.transaction():
        for name, setting in compiled.settings.items():
            sample_conn.execute("SELECT set_config(%s, %s, true)", (name, setting))
        row = sample_conn.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) {}").format(compiled.statement), compiled.params
        ).fetchone()
    assert row is not None
    scans = scan_types(next(iter(row.values()))[0]["Plan"])
    assert not {name for _type, name in scans if name.endswith("_sort")}, scans


SHORT_SUBSTRINGS = [shape for shape in SHAPES if "substring short" in shape.name]


def only_bitmaps_on(table: str, kept: str) -> Callable[[psycopg.Connection[Any]], None]:
    """Inside the transaction: the table's search indexes but `kept` dropped and plain index
    scans priced out, so that a condition `kept` can serve becomes its index condition."""

    def setup(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET LOCAL enable_indexscan = off")
        conn.execute("SET LOCAL enable_indexonlyscan = off")
        names = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = %s AND indexname LIKE 'vql\\_%%' AND indexname <> %s",
            (table, kept),
        ).fetchall()
        for name in names:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name["indexname"])))

    return setup


@pytest.mark.parametrize("plan", ["page", "count"])
@pytest.mark.parametrize(
    "shape", [pytest.param(shape, id=shape.name) for shape in SHORT_SUBSTRINGS]
)
def test_a_short_substring_is_no_condition_of_the_trigram_index(
    sample_conn: psycopg.Connection[Any], shape: Shape, plan: str
) -> None:
    """A word start under 3 characters has no trigram: the field's trigram GIN, read for it,
    is read whole and returns every row to recheck (13 s over 1M contacts, where the
    planner expected 1 row). The condition must not be one the index can serve."""
    key = shape.vql["where"]["text_matches"]["must"][0]["filter_key"]
    trigram = trigram_index(shape.entity, key)  # short substrings are on the entity's own fields
    setup = only_bitmaps_on(shape.entity.value, trigram)
    used = index_conditions(explain(sample_conn, shape, plan, setup))
    served = [condition[:60] for condition in used.get(trigram, [])]
    assert not served, f"{shape.name}: {trigram} served {served}"


TITLE_MISSES = [
    shape
    for shape in SHAPES
    if shape.name.startswith("contacts title ") and shape.name.endswith(" miss")
]


def proof_gates(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes gated by a distinct-values proof (`NOT $n`: vql/distinct_values.py)."""
    found = [plan] if plan.get("One-Time Filter", "").startswith("(NOT $") else []
    for child in plan.get("Plans", []):
        found.extend(proof_gates(child))
    return found


@pytest.mark.parametrize("plan", ["page", "count"])
@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in TITLE_MISSES])
def test_a_title_miss_is_proved_on_the_distinct_titles(
    sample_conn: psycopg.Connection[Any], shape: Shape, plan: str
) -> None:
    """The sample's titles are few (as at 1M): the walk of the title sort index finds that
    none matches, and the scan the condition would need (its trigram candidates, or every
    row for a short substring) never runs."""
    query = parse_request(shape.vql, shape.entity, cursor_secret=SECRET)
    compiled = (
        compile_search(query) if plan == "page" else compile_count(query, up_to=COUNT_EXACT_UP_TO)
    )
    with sample_conn.transaction(force_rollback=True):
        for name, value in compiled.settings.items():
            sample_conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        row = sample_conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) {}").format(compiled.statement),
            compiled.params,
        ).fetchone()
    assert row is not None
    tree = next(iter(row.values()))[0]["Plan"]
    gates = proof_gates(tree)

    assert "vql_contacts_title_sort" in index_names(tree)
    assert gates, f"{shape.name}: no proof gate"
    for gate in gates:
        scans = [child for child in gate["Plans"] if child["Parent Relationship"] == "Outer"]
        assert [scan["Actual Loops"] for scan in scans] == [0], f"{shape.name}: scanned"


LONG_FUZZY = [
    shape
    for shape in SHAPES
    if "fuzzy and hit" in shape.name
    and any(
        intact_pieces(term) is not None
        for condition in shape.vql["where"]["text_matches"]["must"]
        for term in condition["text_value"].lower().split()
    )
]


def test_some_shape_has_a_long_fuzzy_term() -> None:
    assert LONG_FUZZY  # the website's domain word: 13 letters


@pytest.mark.parametrize("plan", ["page", "count"])
@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in LONG_FUZZY])
def test_a_long_fuzzy_term_is_looked_up_by_its_pieces(
    sample_conn: psycopg.Connection[Any], shape: Shape, plan: str
) -> None:
    """Its patterns (vql/fuzzy_sql.py intact_patterns, pairs of pieces) are the trigram
    index's conditions, each a LIKE (`~~`): the rows matching one of them, not every row
    sharing one trigram."""
    key = shape.vql["where"]["text_matches"]["must"][0]["filter_key"]
    trigram = trigram_index(shape.entity, key)
    used = index_conditions(explain(sample_conn, shape, plan))
    assert any("~~" in condition for condition in used.get(trigram, [])), used


@pytest.mark.parametrize("plan", ["page", "count"])
def test_a_long_fuzzy_term_spares_its_and_siblings_the_trigram_filter(
    sample_conn: psycopg.Connection[Any], plan: str
) -> None:
    """`contacts email fuzzy and hit` at 1M ("4265 pedtailspin32381"): the long term's
    patterns (vql/fuzzy_sql.py intact_patterns) are the trigram index's conditions, and
    the short term beside it takes no `%>` (a word_similarity per candidate row, costing
    more than its exact check): none anywhere in the plan."""
    shape = Shape(
        "contacts email fuzzy and, a short and a long term",
        Entity.CONTACTS,
        {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "email",
                            "text_value": "jnnifer rodriguez12",
                            "search_type": "shuffle",
                            "fuzzy": True,
                        }
                    ]
                }
            }
        },
    )
    assert intact_pieces("rodriguez12") is not None and intact_pieces("jnnifer") is None
    tree = explain(sample_conn, shape, plan)
    used = index_conditions(tree)[trigram_index(Entity.CONTACTS, "email")]
    assert used and all("~~" in condition for condition in used), used
    assert "%>" not in json.dumps(tree)


PINNED = [
    shape
    for shape in SHAPES
    if shape.name
    in {
        f"{entity} sort country {d}"
        for entity in ("contacts", "companies")
        for d in ("asc", "desc")
    }
]


@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in PINNED])
def test_a_sort_pinned_by_its_filter_descends_its_sort_index(
    sample_conn: psycopg.Connection[Any], shape: Shape
) -> None:
    """The pinned value walk (vql/pinned_sort.py): each step of the loose scan, and the
    walk of the value's rows by uuid, are index conditions of the key's sort index (a few
    descents and one range), never a read of the whole index."""
    (index,) = shape.indexes
    conditions = index_conditions(explain(sample_conn, shape))[index]
    assert any("walk.value" in condition for condition in conditions), conditions
    assert any("uuid <=" in c or "uuid >=" in c for c in conditions), conditions


def test_a_company_walk_cut_inside_one_value_looks_each_contacts_company_up(
    sample_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The company walk's group arm (vql/sql.py `_COMPANY_CAPPED_RUN`) reads contacts by
    uuid and looks up each one's company by an index condition (a nested loop that keeps
    the uuid order and stops at the page), not a hash of every company of the value (66k
    at 1M: 60 ms)."""
    shape = next(s for s in SHAPES if s.name == "contacts sort company_total_funding asc")
    conditions = index_conditions(explain(sample_conn, shape))
    lookups = [
        condition
        for name, found in conditions.items()
        if name.startswith(("companies_", "vql_companies_"))
        for condition in found
        if "company_id" in condition
    ]
    assert lookups, conditions


def takes_the_trigram_prefilter(term: str) -> bool:
    """A fuzzy term prefiltered by `<%` (vql/fuzzy_sql.py fuzzy_trigram_prefilter): edits
    allowed, too short for pieces."""
    return max_edits(term) > 0 and intact_pieces(term) is None


SHORT_FUZZY = [
    shape
    for shape in SHAPES
    if "fuzzy and miss" in shape.name
    and all(
        takes_the_trigram_prefilter(term)
        for condition in shape.vql["where"]["text_matches"]["must"]
        for term in condition["text_value"].lower().split()
    )
]


def cjk_index(shape: Shape) -> str:
    return trigram_index(shape.entity, field_key(shape)).replace("_folded_trgm", "_cjk")


def field_key(shape: Shape) -> str:
    key: str = shape.vql["where"]["text_matches"]["must"][0]["filter_key"]
    return key


def bitmap_or_children(plan: dict[str, Any]) -> list[set[str]]:
    """The indexes under each BitmapOr of the plan."""
    found = [index_names(plan)] if plan["Node Type"] == "BitmapOr" else []
    for child in plan.get("Plans", []):
        found.extend(bitmap_or_children(child))
    return found


def test_some_shapes_have_short_fuzzy_terms() -> None:
    assert len(SHORT_FUZZY) >= 5


@pytest.mark.parametrize("plan", ["page", "count"])
@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in SHORT_FUZZY])
def test_a_short_fuzzy_term_reads_the_trigram_index_or_the_cjk_rows(
    sample_conn: psycopg.Connection[Any], shape: Shape, plan: str
) -> None:
    """`(prefilter <% folded OR folded ~ '<CJK class>')` is a BitmapOr of the field's
    trigram GIN and its partial index of the rows holding a CJK character: the second
    condition is written as that index's predicate (models/char_classes.py holds_cjk), or the
    planner could not use the index and would read every row for it."""
    trigram = trigram_index(shape.entity, field_key(shape))
    tree = explain(sample_conn, shape, plan)
    ors = bitmap_or_children(tree)
    assert any({trigram, cjk_index(shape)} <= names for names in ors), ors
    # Written as the bitmap's own condition, the OR is checked once (the recheck), not
    # again as a filter: a second trigram test per candidate.
    assert not [f for f in filters(tree) if "%>" in f or "<%" in f], filters(tree)


STRICT_FUZZY = [
    shape
    for shape in SHORT_FUZZY
    if any(
        takes_strict_prefilter(term)
        for condition in shape.vql["where"]["text_matches"]["must"]
        for term in condition["text_value"].lower().split()
    )
]


def test_some_short_fuzzy_terms_keep_two_trigrams() -> None:
    assert len(STRICT_FUZZY) >= 3


@pytest.mark.parametrize("plan", ["page", "count"])
@pytest.mark.parametrize("shape", [pytest.param(shape, id=shape.name) for shape in STRICT_FUZZY])
def test_a_fuzzy_term_keeping_two_trigrams_is_a_strict_condition_of_the_trigram_index(
    sample_conn: psycopg.Connection[Any], shape: Shape, plan: str
) -> None:
    """A term whose every match keeps 2 or more of its prefilter's trigrams is looked up as
    `folded %>> prefilter` (vql/fuzzy_sql.py takes_strict_prefilter): the GIN then asks
    for several shared trigrams, not one."""
    trigram = trigram_index(shape.entity, field_key(shape))
    conditions = index_conditions(explain(sample_conn, shape, plan)).get(trigram, [])
    strict = [
        fuzzy_prefilter(term)
        for condition in shape.vql["where"]["text_matches"]["must"]
        for term in condition["text_value"].lower().split()
        if takes_strict_prefilter(term)
    ]
    for prefilter in strict:
        assert any(f"%>> '{prefilter}'" in condition for condition in conditions), conditions


def filters(plan: dict[str, Any]) -> list[str]:
    found = [plan["Filter"]] if "Filter" in plan else []
    for child in plan.get("Plans", []):
        found.extend(filters(child))
    return found


@pytest.mark.parametrize(
    ("direction", "where"),
    [
        ("asc", None),
        ("asc", {"keyword_match": {"must": {"email_status": "verified"}}}),
        ("desc", {"keyword_match": {"must": {"email_status": "verified"}}}),
    ],
)
def test_a_cursor_deep_in_a_nullable_sort_starts_the_index_scan_there(
    sample_conn: psycopg.Connection[Any], direction: str, where: dict[str, Any] | None
) -> None:
    """Resuming after a value, the sort index is read from the cursor on (a row
    comparison as index condition), not from its start with the keyset as a filter nor as
    a BitmapOr of the keyset's alternatives read whole and sorted."""
    body: dict[str, Any] = {"order_by": [{"order_by": "last_name", "order_direction": direction}]}
    if where is not None:
        body["where"] = where
    middle = sample_conn.execute(
        "SELECT last_name, uuid FROM contacts WHERE last_name IS NOT NULL "
        f'ORDER BY last_name COLLATE "C" {direction}, uuid {direction} '
        "OFFSET (SELECT count(*) / 2 FROM contacts) LIMIT 1"
    ).fetchone()
    assert middle is not None
    query = parse_request(body, Entity.CONTACTS, cursor_secret=SECRET)
    plan = explain_query(
        sample_conn, dataclasses.replace(query, search_after=(middle["last_name"], middle["uuid"]))
    )
    conditions = index_conditions(plan)["vql_contacts_last_name_sort"]
    assert any("ROW(" in condition for condition in conditions), conditions
    assert ("Bitmap Index Scan", "vql_contacts_last_name_sort") not in scan_types(plan)


COMPANY_TEXT_HITS = [
    shape
    for shape in SHAPES
    if shape.name.startswith("contacts company_name ") and shape.name.endswith(" hit")
]


def test_some_shapes_filter_contacts_on_company_text() -> None:
    assert len(COMPANY_TEXT_HITS) >= 4


@pytest.mark.parametrize(
    "shape", [pytest.param(shape, id=shape.name) for shape in COMPANY_TEXT_HITS]
)
def test_a_company_text_filter_counts_the_companies_contacts_before_probing(
    sample_conn: psycopg.Connection[Any], shape: Shape
) -> None:
    """Contacts filtered on company text: the page's probe is gated on a count of the
    selected companies' contacts (vql/sql.py `_company_gate`), read index-only from the
    company_id key, the companies found through their field's trigram index once, for the
    gate and for `matched` (`gate_companies`)."""
    tree = explain(sample_conn, shape, "page")
    scans = scan_types(tree)
    assert ("Index Only Scan", "contacts_company_id_idx") in scans, scans
    companies, matched = cte_plan(tree, "gate_companies"), cte_plan(tree, "matched")
    assert companies is not None and matched is not None
    trigram = trigram_index(shape.entity, field_key(shape))
    assert trigram in index_names(companies)
    assert trigram not in index_names(matched)  # its contacts come from gate_companies
