"""The SQL import path (raw COPY + conversion in SQL) against the Python parser, row for row.

Each example is one generated contacts, companies or combined (contacts with their
companies' columns) CSV (plain cells, cells the SQL path must hand to Python, invalid
values, duplicate keys, broken quoting, invalid UTF-8, wrong field counts, existing,
owned and soft-deleted records) or contacts NDJSON file (the same values under canonical,
alias, vendor, unknown and company keys, values of every JSON type, duplicate keys,
hostile lines: escapes PostgreSQL refuses, NaN, huge numbers, deep nesting, non-objects,
broken JSON) imported twice from the same starting state: with `INGEST_SQL_PATH` on and
off. Tables, counts, row errors (line, column, message) and file notices, filter counts,
the search outbox and the job's company totals must come out identical.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.db.pool import close_pool
from connectra.ingest import parse as parse_module
from connectra.ingest import staged as staged_module
from connectra.ingest import staged_direct as direct_module
from connectra.ingest import staged_load as staged_load_module
from connectra.local.pipeline import run_import
from connectra.models.identity import company_uuid, contact_uuid
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import upload_job

COMPANY = uuid.UUID("7d0c9c52-98a9-4c1c-9d36-0b9f1c8d0a01")
MISSING_COMPANY = uuid.UUID("7d0c9c52-98a9-4c1c-9d36-0b9f1c8d0a02")
OWNER = uuid.UUID("7d0c9c52-98a9-4c1c-9d36-0b9f1c8d0a03")  # holds owner@acme.com, explicit id
DOMAIN_OWNER = uuid.UUID("7d0c9c52-98a9-4c1c-9d36-0b9f1c8d0a04")  # holds acme.io, explicit id
GONE = company_uuid("gone.io", None, None)  # a soft-deleted company, keyed by its domain
HEADERS = (
    ["first_name", "last_name", "email", "title", "departments", "city", "company_id"],
    ["First Name", "Surname", "Work Email", "Job Title", "Department", "Notes", "uuid"],
    ["email", "linkedin_url", "seniority", "email_status", "country", "first"],
    ["first_name", "last_name", "linkedin_url", "title", "uuid"],
)

_text = st.sampled_from(
    [
        "Ada", "ada", "Lovelace", "Jean  Luc", "O'Brien", "VP, Sales", "Zoë", "İlkay",
        " padded ", "\u00a0nbsp", "tab\tinside", "'=1+1", "'plain", "=SUM(A1)", '"quoted"',
        "x" * 501, "", "   ", "\x1cfs", "ends\u3000", "multi\nline", "São Paulo",
    ]
)  # fmt: skip
_email = st.sampled_from(
    [
        "ada@acme.com", "Ada@ACME.com", "owner@acme.com", "OWNER@acme.com", "bob@x.io",
        "not-an-email", "a@b", "sp ace@x.io", "ünï@x.io", "a,b@x.io", " trim@x.io ", "",
        "q@x.io", "z" * 320 + "@x.io",
    ]
)  # fmt: skip
_departments = st.sampled_from(
    [
        "Sales; sales; Marketing",
        "a,b, A",
        "Engineering",
        "; ;",
        "",
        "x;" * 201,
        "R&D; Ops",
        "a; b; c; d; e",
        "a;b;c;d;e;B",
        "a, b, c, d, e, , f",
    ]
)
_uuid_cell = st.sampled_from(
    [str(COMPANY), str(MISSING_COMPANY), str(OWNER), str(COMPANY).upper(), "{" + str(COMPANY) + "}",
     "nope", "", str(uuid.UUID(int=42))]
)  # fmt: skip
_linkedin = st.sampled_from(
    ["https://www.linkedin.com/in/ada", "linkedin.com/in/x", "https://example.com/in/x", "",
     "HTTPS://WWW.LinkedIn.com/in/Ada/?trk=x", "www.linkedin.com/in/ada#top",
     "http://uk.linkedin.com/in/ada//", "https://www.linkedin.com"]
)  # fmt: skip


def _cell(column: str) -> st.SearchStrategy[str]:
    lowered = column.lower()
    if "email" in lowered and "status" not in lowered:
        return _email
    if "depart" in lowered:
        return _departments
    if lowered in ("company_id", "uuid"):
        return _uuid_cell
    if "linkedin" in lowered:
        return _linkedin
    return _text


def _quote(value: str) -> str:
    if any(ch in value for ch in ',"\n\r') or value.startswith(" "):
        return '"' + value.replace('"', '""') + '"'
    return value


_company_domain = st.sampled_from(
    [
        "acme.io", "ACME.io", "www.acme.io", "https://WWW.Acme.io/about?x=1", "acme.io.",
        ".acme.io", "www.www.acme.io", "www..acme.io", "user:pw@acme.io:8080/x", "acme.io@evil.io",
        "http://acme.io:99", "ftp://files.acme.io", "mailto:x@acme.io", "acme.io#frag",
        "acme.io?q=1", "//acme.io", "http:/acme.io", "http://", "www.", "...", "@", ":80",
        "bücher.de", "xn--bcher-kva.de", "BÜCHER.de", "[::1]", "http://[fe80::1]/", "a]b.io",
        "acme .io", "gone.io", "WWW.Gone.IO.", "\u00a0acme.io", "acme.io\u3000", "ac\tme.io",
        "Ｅxample.com", "x" * 254 + ".io", "'=acme.io", "",
    ]
)  # fmt: skip
_company_name = st.sampled_from(
    ["Acme", "acme", "Acme  Inc", "ACME inc", "Zoë GmbH", "İlkay", "", "   ", "'=1", "x" * 501]
)
_company_linkedin = st.sampled_from(
    [
        "https://www.linkedin.com/company/acme/", "linkedin.com/company/Acme?trk=1",
        "HTTP://LinkedIn.com/company/acme#a", "www.linkedin.com/company/acme//",
        "https://www.linkedin.com", "https://example.com/company/acme", "",
    ]
)  # fmt: skip
_company_list = st.sampled_from(
    [
        "SaaS; saas; AI",
        "a|b|c",
        "a,b, A",
        "x;" * 201,
        "Fintech",
        "",
        "R&D; Ops, Sales",
        "AI; ML; Data; Cloud; SaaS; Web",
        "a;b;c;d;e;C",
    ]
)
_amount = st.sampled_from(
    ["120", "1,200", "0", "007", "1,,2", "$5M", "2.5k", "51-200", "10,001+", "-5", "abc",
     "1000000000001", "99999999999999999999", "1e3", "١٢", ""]
)  # fmt: skip
_company_uuid_cell = st.sampled_from(
    [str(DOMAIN_OWNER), str(GONE), str(COMPANY).upper(), "nope", "", str(uuid.UUID(int=7))]
)
COMPANY_HEADERS = (
    ["name", "normalized_domain", "website", "linkedin_url", "industries", "employees_count"],
    ["Company", "Website", "Industry", "Employees", "annual_revenue", "city", "uuid"],
    ["domain", "name", "linkedin", "keywords", "technologies", "total_funding", "country"],
)


# Contacts with their companies' columns (combined rows, staged_combined.py).
COMBINED_HEADERS = (
    ["first_name", "email", "company_name", "company_domain", "company_industries",
     "company_employees_count"],
    ["First Name", "Email", "Company", "Website", "Industry", "# Employees", "company_id"],
    ["email", "company_name", "company_linkedin_url", "company_city", "title"],
)  # fmt: skip
_combined_email = st.sampled_from(
    ["ada@acme.io", "ADA@Acme.IO", "x@gmail.com", "y@WWW.gone.io", "z@sub.acme.io", "w@other.io",
     "not-an-email", "a@[x].io", "a@b", "long@" + "d" * 251 + ".io", ""]
)  # fmt: skip


def _combined_cell(column: str) -> st.SearchStrategy[str]:
    lowered = column.lower()
    if lowered == "email":
        return _combined_email
    if lowered == "company_id":
        return _uuid_cell
    if lowered in ("first_name", "first name", "title"):
        return _text
    return _company_cell(lowered.removeprefix("company_").replace("# ", ""))


def _company_cell(column: str) -> st.SearchStrategy[str]:
    lowered = column.lower()
    if lowered in ("normalized_domain", "website", "domain"):
        return _company_domain
    if "linkedin" in lowered:
        return _company_linkedin
    if lowered in ("industries", "industry", "keywords", "technologies"):
        return _company_list
    if lowered in ("employees_count", "employees", "annual_revenue", "total_funding"):
        return _amount
    if lowered == "uuid":
        return _company_uuid_cell
    return _company_name


_FILES = {
    "contacts": (HEADERS, _cell),
    "companies": (COMPANY_HEADERS, _company_cell),
    "combined": (COMBINED_HEADERS, _combined_cell),
}


@st.composite
def csv_files(draw: st.DrawFn, kind: str = "contacts") -> bytes:
    headers, cell = _FILES[kind]
    header = draw(st.sampled_from(headers))
    lines = [",".join(header).encode()]
    for _ in range(draw(st.integers(1, 25))):
        cells = [draw(cell(column)) for column in header]
        line = ",".join(_quote(cell) for cell in cells).encode()
        damage = draw(st.sampled_from(["none"] * 8 + ["utf8", "short", "long", "quote", "blank"]))
        if damage == "utf8":
            line += b",\xff"
        elif damage == "short":
            line = line.rsplit(b",", 1)[0]
        elif damage == "long":
            line += b",,extra"
        elif damage == "quote":
            line = b'"unclosed' + line if draw(st.booleans()) else line + b',x"y'
        elif damage == "blank":
            line = b""
        lines.append(line)
    return b"\n".join(lines) + b"\n"


# NDJSON keys: canonical, aliases, vendor names (their vocabularies are normalized, so
# they change how later lines' values of that field are read), unknown, company keys.
_NDJSON_KEYS = (
    "first_name", "last_name", "email", "title", "departments", "city", "company_id",
    "uuid", "linkedin_url", "email_status", "seniority", "First Name", "Work Email",
    "email_address", "Department", "email_verification_status", "notes", "id", "company",
)  # fmt: skip
_NDJSON_COMMON = ("first_name", "email", "title", "city", "notes")
_clean = {
    "first_name": st.sampled_from(["Ada", "Zoë", "Jean  Luc", "O'Brien", "multi\nline"]),
    "email": st.sampled_from(["ada@acme.com", "Ada@ACME.com", "q@x.io", "owner@acme.com"]),
    "title": st.sampled_from(["VP, Sales", '"quoted"', "back\\slash", "tab\tinside"]),
    "city": st.sampled_from(["São Paulo", "Paris", "", "東京"]),
    "notes": st.one_of(st.none(), st.integers(), _text),
}
_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.just(1.5), st.just([])
)
_json_other = st.one_of(
    st.lists(st.sampled_from(["Sales", "sales", "Ops"]), max_size=3),
    st.fixed_dictionaries({"x": st.sampled_from(["y", 1])}),
)
_HOSTILE_LINES = [
    b'{"email": "nul\\u0000@x.io"}', b'{"email": "a@x.io", "notes": "\\u0000"}',
    b'{"first_name": "\\ud800", "email": "s@x.io"}', b'{"\\udc00": 1, "email": "t@x.io"}',
    b'{"first_name": "\\ud83d\\ude00", "email": "emoji@x.io"}', b'{"email": "n@x.io", "id": NaN}',
    b'{"email": "h@x.io", "id": 1e999999}', b'{"email": "d@x.io", "id": ' + b"1" * 5000 + b"}",
    b'{"email": "deep@x.io", "notes": ' + b"[" * 70 + b"]" * 70 + b"}",
    b'{"email": "deeper@x.io", "notes": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'["not", "an object"]', b'"email"', b"null", b'{"email": "x@y.io",}', b'{"email": 01}',
    b'{"email": "tab\tinside@x.io"}', b'{"email": "ctl\x01@x.io"}', b'{"email": "sep\x02@x.io"}',
    b'{"email": "raw\x00nul@x.io"}', b'{"email": "bad\xff@x.io"}', b'{"email": "q@x.io"} {}',
    b'\t{ "email" :\t"ws@x.io" }\r ', b'{"email": "esc\\/aped\\u00e9@x.io", "city": "\\"q\\""}',
    b"{}", b"", b"   ",
]  # fmt: skip


@st.composite
def ndjson_lines(draw: st.DrawFn) -> bytes:
    keys = draw(st.lists(st.sampled_from(_NDJSON_KEYS), max_size=7))
    pairs: list[tuple[str, Any]] = []
    for key in keys:
        kind = draw(st.sampled_from(["text"] * 6 + ["scalar", "other"]))
        if kind == "text":
            value: Any = draw(_clean.get(key, _cell(key)) if draw(st.booleans()) else _cell(key))
        else:
            value = draw(_json_scalar if kind == "scalar" else _json_other)
        pairs.append((key, value))
    ensure_ascii = draw(st.booleans())
    separator = draw(st.sampled_from([", ", ",", " ,\t"]))
    dump = partial(json.dumps, ensure_ascii=ensure_ascii)
    text = separator.join(f"{dump(key)}: {dump(value)}" for key, value in pairs)
    return ("{" + text + "}").encode()


@st.composite
def ndjson_files(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(_HOSTILE_LINES)))
        elif kind > 3:  # the keys most lines share
            common = {
                key: draw(_clean[key] if draw(st.integers(0, 5)) else _cell(key))
                for key in _NDJSON_COMMON
            }
            lines.append(json.dumps(common).encode())
        else:
            lines.append(draw(ndjson_lines()))
    return b"\n".join(lines) + b"\n"


def _reset(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE search_outbox, search_outbox_batches, job_row_errors, job_chunks, jobs, "
            "filters_data, import_keys, contacts, companies CASCADE"
        )
        conn.execute("INSERT INTO companies (uuid, name) VALUES (%s, 'Acme')", (COMPANY,))
        conn.execute(
            "INSERT INTO companies (uuid, name, normalized_domain, city) "
            "VALUES (%s, 'Acme IO', 'acme.io', 'Paris')",
            (DOMAIN_OWNER,),
        )
        conn.execute(
            "INSERT INTO companies (uuid, name, normalized_domain, deleted_at) "
            "VALUES (%s, 'Gone', 'gone.io', now())",
            (GONE,),
        )
        conn.execute(
            "INSERT INTO contacts (uuid, email, company_id) VALUES (%s, 'staff@acme.io', %s)",
            (contact_uuid("staff@acme.io", None, None, None), DOMAIN_OWNER),
        )
        conn.execute(
            "INSERT INTO contacts (uuid, email, title, city) "
            "VALUES (%s, 'owner@acme.com', 'Owner', 'Paris')",
            (OWNER,),
        )
        conn.execute(
            "INSERT INTO contacts (uuid, email, first_name, deleted_at) "
            "VALUES (%s, 'bob@x.io', 'Bob', now())",
            (contact_uuid("bob@x.io", None, None, None),),
        )
        conn.execute(
            "INSERT INTO filters_data (service, filter_key, value, display_value, count) "
            "VALUES ('contacts', 'title', 'owner', 'Owner', 1), "
            "('contacts', 'city', 'paris', 'Paris', 1)"
        )


def _snapshot(database_url: str, summary: Any) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        contacts = conn.execute(
            "SELECT uuid, first_name, last_name, email, title, seniority, departments, "
            "mobile_phone, email_status, linkedin_url, city, state, country, company_id, "
            "deleted_at IS NULL FROM contacts ORDER BY uuid"
        ).fetchall()
        row_errors = conn.execute(
            "SELECT line, column_name, message FROM job_row_errors ORDER BY line, column_name"
        ).fetchall()
        filters = conn.execute(
            "SELECT filter_key, value, display_value, count FROM filters_data "
            "ORDER BY filter_key, value"
        ).fetchall()
        # Queued for search: per-record rows (the Python path) or batch entries (SQL's).
        outbox = conn.execute(
            "SELECT entity, record_uuid FROM search_outbox UNION "
            "SELECT entity, unnest(record_uuids) FROM search_outbox_batches ORDER BY 1, 2"
        ).fetchall()
        companies = conn.execute(
            "SELECT uuid, name, normalized_domain, website, linkedin_url, industries, keywords, "
            "technologies, employees_count, annual_revenue, total_funding, address, city, "
            "state, country, phone, deleted_at IS NULL FROM companies ORDER BY uuid"
        ).fetchall()
        # The companies combined rows created or named (combined.company_totals).
        job_companies = conn.execute("SELECT response -> 'companies' FROM jobs").fetchall()
    counts = (summary.status, summary.total, summary.inserted, summary.updated)
    return {
        "counts": (*counts, summary.failed, summary.duplicates),
        "contacts": contacts,
        "row_errors": row_errors,
        "filters": filters,
        "outbox": outbox,
        "companies": companies,
        "job_companies": job_companies,
    }


@pytest.fixture
def opensearch_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Chunks write the search outbox (as in the OpenSearch deployment).

    One batch per chunk on both paths: a later row of a key that fails only at load time
    (a missing company, a refused row) drops the earlier rows of its key when they share
    its batch, and the Python path fills batches with valid rows where the SQL path counts
    records, so smaller batches may cut the file differently (both results are right)."""
    monkeypatch.setenv("SEARCH_BACKEND", "opensearch")
    monkeypatch.setenv("INGEST_BATCH_SIZE", "1000")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def parsed(opensearch_backend: pytest.MonkeyPatch) -> list[int]:
    """The lines the Python parser parses during the test, in order."""
    lines: list[int] = []
    original = parse_module.RecordParser.parse

    def counting(self: Any, record: Any) -> Any:
        lines.append(record.line)
        return original(self, record)

    opensearch_backend.setattr(parse_module.RecordParser, "parse", counting)
    return lines


def _import(
    store: ObjectStore, database_url: str, body: bytes, chunk_size: int, sql_path: bool,
    monkeypatch: pytest.MonkeyPatch, entity: str = "contacts", filename: str = "data.csv",
) -> dict[str, Any]:  # fmt: skip
    monkeypatch.setenv("INGEST_SQL_PATH", "true" if sql_path else "false")
    get_settings.cache_clear()
    close_pool()
    _reset(database_url)
    job = upload_job(store, body, entity=entity, chunk_size=chunk_size, filename=filename)
    summary = run_import(job, workers=1)
    return _snapshot(database_url, summary)


def _property(max_examples: int) -> Any:
    """The property tests' hypothesis settings (each example imports a file twice).
    EQUIVALENCE_EXAMPLES_SCALE multiplies the examples for a longer search by hand."""
    scale = int(os.environ.get("EQUIVALENCE_EXAMPLES_SCALE", "1"))
    return settings(
        max_examples=max_examples * scale,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _assert_paths_agree(
    store: ObjectStore,
    database_url: str,
    body: bytes,
    chunk_size: int,
    monkeypatch: pytest.MonkeyPatch,
    **kind: str,
) -> None:
    """The file imported with the SQL path and without it gives the same snapshot, part by
    part (`kind`: `_import`'s entity and file name)."""
    args = (store, database_url, body, chunk_size)
    with_sql = _import(*args, True, monkeypatch, **kind)
    python_only = _import(*args, False, monkeypatch, **kind)
    for part, expected in python_only.items():
        assert with_sql[part] == expected, part


def _agrees_with_python(
    store: ObjectStore,
    database_url: str,
    body: bytes,
    monkeypatch: pytest.MonkeyPatch,
    parsed: list[int],
    python_lines: list[int],
    **kind: str,
) -> dict[str, Any]:
    """The file imported in one batch with the SQL path, the Python parser parsing the
    lines `python_lines` in that order (`parsed`: the fixture), then without the SQL path:
    the same snapshot. The SQL path's snapshot."""
    with_sql = _import(store, database_url, body, 100_000, True, monkeypatch, **kind)
    assert parsed == python_lines
    python_only = _import(store, database_url, body, 100_000, False, monkeypatch, **kind)
    assert with_sql == python_only
    return with_sql


@_property(30)
@given(body=csv_files(), chunk_size=st.sampled_from([64, 256, 100_000]))
def test_sql_path_loads_what_the_python_parser_loads(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    body: bytes,
    chunk_size: int,
) -> None:
    _assert_paths_agree(store, clean_db, body, chunk_size, opensearch_backend)


@_property(40)
@given(body=csv_files("companies"), chunk_size=st.sampled_from([64, 256, 100_000]))
def test_sql_path_loads_the_companies_the_python_parser_loads(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    body: bytes,
    chunk_size: int,
) -> None:
    _assert_paths_agree(store, clean_db, body, chunk_size, opensearch_backend, entity="companies")


@_property(40)
@given(body=csv_files("combined"), chunk_size=st.sampled_from([64, 256, 100_000]))
def test_sql_path_loads_the_combined_rows_the_python_parser_loads(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    body: bytes,
    chunk_size: int,
) -> None:
    _assert_paths_agree(store, clean_db, body, chunk_size, opensearch_backend)


@_property(40)
@given(body=ndjson_files(), chunk_size=st.sampled_from([64, 512, 100_000]))
def test_sql_path_loads_what_the_python_parser_loads_from_ndjson(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    body: bytes,
    chunk_size: int,
) -> None:
    # One batch per chunk, as for CSV (`opensearch_backend`): with several, the two paths
    # end batches at other records (the Python path counts valid rows, the SQL path
    # lines), and the loaders resolve an email to its record once per batch, so where a
    # row clearing a record's email falls decides which record a later row of that email
    # updates (both right). Lines still meet new keys mid-batch and mid-chunk.
    _assert_paths_agree(
        store, clean_db, body, chunk_size, opensearch_backend, filename="data.ndjson"
    )


def test_plain_records_never_reach_the_python_parser(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = (
        b"first_name,last_name,email,departments,company_id\n"
        b"Ada,Lovelace,ada@acme.com,Sales; Ops," + str(COMPANY).encode() + b"\n"
        b'"Smith, Jr",Bob,bob@x.io,"a,b",\n'
        b"Grace,Hopper,grace@x.io,,\n"
        b"Bad,Email,not-an-email,,\n"
    )
    snapshot = _import(store, clean_db, body, 100_000, True, opensearch_backend)
    assert parsed == [5]  # only the invalid email went to Python (for its row error)
    assert snapshot["counts"] == ("completed_with_errors", 4, 2, 1, 1, 0)
    assert snapshot["row_errors"] == [(5, "email", "not a valid email address")]


def test_plain_ndjson_lines_never_reach_the_python_parser(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = (
        b'{"first_name": "Ada", "email": "ada@acme.com", "departments": "Sales; Ops", '
        b'"company_id": "' + str(COMPANY).encode() + b'", "notes": 1}\n'
        b'{"first_name": "Smith, \\"Jr\\"", "email": "bob@x.io", "notes": [1, {"a": 2}]}\n'
        b'{"notes": "n", "first_name": "Grace", "email": "grace@x.io", "departments": null}\n'
        b'{"first_name": "Bad", "email": "not-an-email", "departments": ""}\n'
    )
    snapshot = _import(
        store, clean_db, body, 100_000, True, opensearch_backend, filename="data.ndjson"
    )
    # The batch's first line is parsed ahead (its keys met); only the invalid email is
    # parsed again (for its row error).
    assert parsed == [1, 4]
    assert snapshot["counts"] == ("completed_with_errors", 4, 2, 1, 1, 0)
    assert snapshot["row_errors"] == [
        (0, "notes", "unknown field, ignored"),
        (4, "email", "not a valid email address"),
    ]


def test_a_line_postgresql_cannot_read_leaves_the_others_of_its_batch_on_the_sql_path(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = b"".join(
        b'{"email": "p%d@x.io", "id": %b}\n' % (index, b"NaN" if index == 3 else b"%d" % index)
        for index in range(6)
    )  # line 4: Python reads NaN, PostgreSQL's ::jsonb refuses the batch
    # Parsed by Python: the first line parsed ahead; then only the NaN line
    with_sql = _agrees_with_python(
        store, clean_db, body, opensearch_backend, parsed, [1, 4], filename="data.ndjson"
    )
    assert with_sql["counts"] == ("completed", 6, 6, 0, 0, 0)


def test_rows_ending_on_the_record_of_a_line_python_loads_are_loaded_by_python_too(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    # Line 2 meets new keys (Python's) and names OWNER's uuid; line 3's email is OWNER's,
    # so its row updates OWNER too and, later in the file, wins. Taken by the SQL load and
    # loaded before line 2, it lost to it (OWNER kept line 2, its email wiped).
    body = (
        b'{"first_name": "Ada", "email": "ada@acme.com"}\n'
        b'{"id": "%b", "uuid": "%b", "city": "VP, Sales", "city": "multi\\nline", '
        b'"First Name": "tab\\tinside"}\n'
        b'{"first_name": "Jean", "email": "owner@acme.com"}\n'
    ) % (b"x" * 300, str(OWNER).encode())
    # Parsed by Python: the first line parsed ahead; line 3 moved with line 2
    with_sql = _agrees_with_python(
        store, clean_db, body, opensearch_backend, parsed, [1, 2, 3], filename="data.ndjson"
    )
    owner = next(row for row in with_sql["contacts"] if row[0] == OWNER)
    assert (owner[1], owner[3], owner[10]) == ("Jean", "owner@acme.com", None)


def test_contacts_keyed_by_name_and_linkedin_stay_in_sql(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = (
        b"first_name,last_name,linkedin_url\n"
        b"Ada,Lovelace,HTTPS://WWW.LinkedIn.com/in/Ada/?trk=x\n"
        b"Ada,Lovelace,linkedin.com/in/ada#top\n"  # the same key: a duplicate
        b",,http://uk.linkedin.com/in/grace//\n"
        b"Zo\xc3\xab,,linkedin.com/in/zoe\n"  # a non-ASCII name: Python's
    )
    with_sql = _agrees_with_python(store, clean_db, body, opensearch_backend, parsed, [5])
    assert with_sql["counts"] == ("completed", 4, 3, 0, 0, 1)


def test_plain_combined_rows_never_reach_the_python_parser(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = (
        b"first_name,email,company_name,company_domain,company_industries,company_employees\n"
        b"Ada,ada@ACME.io,Acme,,SaaS; AI,120\n"  # the email's domain: acme.io's owner
        b"Bob,bob@gmail.com,Bobco,,,\n"  # free mail: keyed by name
        b'Cy,cy@x.io,,https://www.Beta.io/,,"1,200"\n'
        b"Di,di@y.io,,,,\n"  # no company
        b"Ev,ev@z.io,Evco,evco.io,a | b,\n"  # `|` in a list cell: Python's
        b"Fay,fay@acme.io,Acme 2,,,\n"  # acme.io's last row in the file
    )
    with_sql = _agrees_with_python(store, clean_db, body, opensearch_backend, parsed, [6])
    assert with_sql["counts"] == ("completed", 6, 6, 0, 0, 0)
    ada = contact_uuid("ada@acme.io", None, None, None)
    assert [row[13] for row in with_sql["contacts"] if row[0] == ada] == [DOMAIN_OWNER]


def test_rows_of_a_company_python_loads_are_loaded_by_python_too(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    # Line 3's braced company_id is Python's; both rows key acme.io (DOMAIN_OWNER). Left to
    # the SQL load, line 2's company was written apart from line 3's (two writes of the
    # batch's acme.io where the Python path makes one: its industries counted twice).
    body = (
        b"First Name,Email,Company,Website,Industry,# Employees,company_id\n"
        b"Ada,ada@acme.io,Acme,acme.io,SaaS; saas; AI,120,%b\n"
        b"Ada,x@gmail.com,Acme,www.www.acme.io,SaaS; saas; AI,120,{%b}\n"
    ) % (str(COMPANY).encode(), str(COMPANY).encode())
    # Parsed by Python: line 3 flagged; line 2 moved with its company
    _agrees_with_python(store, clean_db, body, opensearch_backend, parsed, [3, 2])


# A first batch taking the two-step way (a flagged record: its typed rows stay in the typed
# table), then a batch none of whose records enters the COPY (it empties that table).
_WITHOUT_COPY_LINES = {
    "data.csv": b'email\na@x.io\nb@x.io\nnot-an-email\n"multi\nline@x.io"\n"c@x.io\r"\n',
    "data.ndjson": (
        b'{"email": "a@x.io"}\n{"email": "b@x.io"}\n{"email": "not-an-email"}\n'
        b'{"email": "sep\x02@x.io"}\n{"email": "c@x.io", "notes": %b}\n' % (b"[" * 70 + b"]" * 70)
    ),
}


@pytest.mark.parametrize("filename", list(_WITHOUT_COPY_LINES))
def test_a_batch_without_copied_records_loads_only_its_own_records(
    store: ObjectStore, clean_db: str, opensearch_backend: pytest.MonkeyPatch, filename: str
) -> None:
    opensearch_backend.setenv("INGEST_BATCH_SIZE", "3")
    body = _WITHOUT_COPY_LINES[filename]
    with_sql = _import(store, clean_db, body, 100_000, True, opensearch_backend, filename=filename)
    python_only = _import(
        store, clean_db, body, 100_000, False, opensearch_backend, filename=filename
    )
    assert with_sql == python_only
    # The first batch's two rows load once (not again as duplicates with the second batch).
    assert with_sql["counts"] == ("completed_with_errors", 5, 3, 0, 2, 0)


def test_mostly_bad_batches_back_off_to_python_with_the_same_results(
    store: ObjectStore, clean_db: str, opensearch_backend: pytest.MonkeyPatch
) -> None:
    copies: list[int] = []
    original = staged_module.ContactConverter.copy

    def counting(self: Any, batch: Any) -> None:
        copies.append(len(batch))
        original(self, batch)

    opensearch_backend.setattr(staged_module.ContactConverter, "copy", counting)
    opensearch_backend.setenv("INGEST_BATCH_SIZE", "5")
    bad = [b"Nobody,not-an-email-%d" % index for index in range(40)]
    good = [b"Some,one%d@x.io" % index for index in range(40)]
    body = b"\n".join([b"first_name,email", *bad, *good, *bad[:3]]) + b"\n"

    with_sql = _import(store, clean_db, body, 100_000, True, opensearch_backend)
    copied_batches = len(copies)
    python_only = _import(store, clean_db, body, 100_000, False, opensearch_backend)

    assert with_sql == python_only
    assert with_sql["counts"] == ("completed_with_errors", 83, 40, 0, 43, 0)
    # 17 batches of 5 records: bad batches 1-8, good 9-16, bad 17. COPYed: 1 (then skip
    # 1), 3 (skip 2), 6 (skip 4: 7-10 go to Python), then 11-17 (11 is mostly SQL's).
    assert copied_batches == 10


def test_plain_companies_never_reach_the_python_parser(
    store: ObjectStore,
    clean_db: str,
    opensearch_backend: pytest.MonkeyPatch,
    parsed: list[int],
) -> None:
    body = (
        b"name,domain,website,linkedin_url,industry,employees,annual_revenue\n"
        b"Acme,Acme.com,https://acme.com,https://www.linkedin.com/company/acme,SaaS; AI,120,"
        b'"1,200,000"\n'
        b"Beta,,https://WWW.Beta.io:443/about?x=1,,Fintech,7,\n"
        b"Gamma  Labs,,,linkedin.com/company/Gamma/?trk=1,,,\n"
        b"Gone,WWW.gone.io.,,,,,\n"
        b"Bad,,,https://example.com/x,,,\n"
        b"Delta,delta.io,,,A | B,$5M,\n"
    )
    # Parsed by Python: the invalid LinkedIn URL (its row error); `|` and `$5M`
    with_sql = _agrees_with_python(
        store, clean_db, body, opensearch_backend, parsed, [6, 7], entity="companies"
    )
    assert with_sql["counts"] == ("completed_with_errors", 6, 4, 1, 1, 0)
    assert with_sql["row_errors"] == [(6, "linkedin_url", "not a LinkedIn URL")]


_BOB = contact_uuid("bob@x.io", None, None, None)
# Clean files (every record enters the COPY, none is flagged), so batches may take the
# one-statement way (staged_direct.py): new and existing records, duplicates within and
# across batches of 3, and the refusals that send a batch the two-step way. Contacts,
# unless the name says companies.
_CLEAN_FILES = {
    "new keys, repeated within and across batches": (
        b"first_name,email,title,departments,city,company_id\n"
        + b"".join(
            b"P%d,p%d@x.io,T%d,Sales; Ops,C%d,%b\n"
            % (i, i % 7, i % 3, i % 2, str(COMPANY).encode())
            for i in range(20)
        )
    ),
    "existing records: explicit id, soft-deleted key revived, unchanged row": (
        b"uuid,email,title,city\n"
        + b"%b,owner@acme.com,Boss,Lyon\n" % str(OWNER).encode()
        + b",bob@x.io,Builder,Nice\n"
        + b"%b,owner@acme.com,Boss,Lyon\n" % str(OWNER).encode()
        + b",new@x.io,New,Paris\n"
        + b"%b,bob@x.io,Builder,Nice\n" % str(_BOB).encode()
    ),
    "an email another record holds (two-step way with owners)": (
        b"email,title\nowner@acme.com,Chief\nfresh@x.io,Dev\nOWNER@acme.com,Chair\n"
    ),
    "a missing company (two-step way with the company check)": (
        b"email,company_id\n"
        + b"a@x.io,%b\nb@x.io,%b\nc@x.io,%b\nd@x.io,\n"
        % (str(COMPANY).encode(), str(MISSING_COMPANY).encode(), str(COMPANY).encode())
    ),
    "companies: new keys in several spellings, repeated, a soft-deleted key revived": (
        b"name,domain,industries,employees_count,city\n"
        + b"".join(
            b'C%d,%bc%d.io,SaaS; AI,"%d,000",City%d\n'
            % (i, (b"", b"https://WWW.")[i % 2], i % 5, i, i % 2)
            for i in range(12)
        )
        + b"Gone Again,gone.io,,,Rome\n"
    ),
    "companies: a domain another company holds (two-step way with owners)": (
        b"name,domain\nAcme New,acme.io\nFresh,fresh.io\nAcme Again,WWW.ACME.IO\n"
    ),
}


@pytest.mark.parametrize("name", list(_CLEAN_FILES))
def test_one_statement_batches_load_what_the_python_parser_loads(
    store: ObjectStore, clean_db: str, opensearch_backend: pytest.MonkeyPatch, name: str
) -> None:
    outcomes: list[str] = []
    original = direct_module.DirectLoad.run

    def watching(self: Any) -> Any:
        try:
            outcome = original(self)
        except psycopg.errors.IntegrityError:
            outcomes.append("refused")
            raise
        outcomes.append("flagged" if outcome.flagged else "loaded")
        return outcome

    updates: list[int] = []
    update_winners = staged_load_module.StagedLoader.update_winners
    opensearch_backend.setattr(
        staged_load_module.StagedLoader,
        "update_winners",
        lambda self: (updates.append(1), update_winners(self))[1],
    )
    opensearch_backend.setattr(direct_module.DirectLoad, "run", watching)
    opensearch_backend.setenv("INGEST_BATCH_SIZE", "3")
    body = _CLEAN_FILES[name]
    entity = "companies" if name.startswith("companies") else "contacts"
    with_sql = _import(store, clean_db, body, 100_000, True, opensearch_backend, entity)
    python_only = _import(store, clean_db, body, 100_000, False, opensearch_backend, entity)
    for part, expected in python_only.items():
        assert with_sql[part] == expected, part
    refused = "two-step way" in name
    assert outcomes[0] == ("refused" if refused else "loaded")
    if refused:  # the chunk's later batches go the two-step way at once
        assert outcomes == ["refused"]
    # Both clean files write records that exist (stored, or written by an earlier batch).
    assert bool(updates) == (not refused)
