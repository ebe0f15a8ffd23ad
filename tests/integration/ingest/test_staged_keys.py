"""The SQL key normalizers (ingest/staged_keys.py) against models/identity.py, value for value.

Cells are drawn from the characters that steer `urlsplit` (scheme, userinfo, port, path,
query and fragment marks, dots, `www`), over the printable ASCII the converters hand the
SQL normalizers; every drawn value is compared in one query.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.ingest import staged_keys as keys
from connectra.models.identity import normalize_domain, normalize_linkedin_url, normalize_name

_PIECES = st.sampled_from(
    ["http", "https", "ftp+x", "://", ":", "/", "//", "?", "#", "@", ".", "..", "www.", "WWW",
     "acme", "Acme", "io", "com", "8080", "linkedin", "in", "x-y", " ", "  ", "-", "%20"]
)  # fmt: skip
_CELLS = st.lists(
    st.lists(_PIECES, min_size=1, max_size=8).map("".join).filter(lambda cell: cell.strip()),
    min_size=1,
    max_size=60,
)


def _sql_values(conn: psycopg.Connection[Any], cells: list[str]) -> list[tuple[Any, ...]]:
    statement = (
        f"SELECT {keys.domain('lower(cell)')}, {keys.linkedin('lower(cell)')}, "
        f"{keys.name('cell')} FROM unnest(%s::text[]) WITH ORDINALITY AS c(cell, place) "
        "ORDER BY place"
    )
    return conn.execute(statement, (cells,)).fetchall()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=_CELLS)
def test_sql_normalizes_urls_and_names_as_identity_does(
    database_url: str, cells: list[str]
) -> None:
    cells = [cell.strip() for cell in cells]  # the converters only take plain cells
    assert all(re.fullmatch(r"[\x20-\x5a\x5c\x5e-\x7e]*", cell) for cell in cells)
    with psycopg.connect(database_url) as conn:
        got = _sql_values(conn, cells)
        again = conn.execute(
            f"SELECT {keys.domain_again('d')} FROM unnest(%s::text[]) WITH ORDINALITY "
            "AS x(d, place) ORDER BY place",
            ([domain for domain, _, _ in got],),
        ).fetchall()
    for cell, (domain, linkedin, name), (domain_key,) in zip(cells, got, again, strict=True):
        assert domain == normalize_domain(cell), cell
        assert linkedin == normalize_linkedin_url(cell), cell
        assert name == normalize_name(cell), cell
        assert domain_key == normalize_domain(domain), cell
