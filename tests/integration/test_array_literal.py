"""The text[] literals bulk_upsert writes through COPY read back as the same lists."""

from __future__ import annotations

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from connectra.db.upsert import array_literal

# PostgreSQL text holds any character but NUL (the CSV parser rejects NUL before this).
ELEMENT = st.text(alphabet=st.characters(blacklist_characters="\x00", codec="utf-8"))
TRICKY = st.sampled_from(["", " ", "NULL", "null", "a,b", "{x}", '"q"', "back\\slash", "\t\n\r"])


@settings(max_examples=150, deadline=None)
@given(lists=st.lists(st.lists(ELEMENT | TRICKY, max_size=6), min_size=1, max_size=20))
def test_array_literals_copy_back_to_the_same_lists(
    database_url: str, lists: list[list[str]]
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE arrays (position int, items text[])")
        with conn.cursor().copy("COPY arrays (position, items) FROM STDIN") as copy:
            for position, items in enumerate(lists):
                copy.write_row([position, array_literal(items)])
        stored = conn.execute("SELECT items FROM arrays ORDER BY position").fetchall()
    assert [row[0] for row in stored] == lists


def test_a_missing_list_stays_null() -> None:
    assert array_literal(None) is None
    assert array_literal([]) == "{}"
