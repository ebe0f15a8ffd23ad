"""Cursors are opaque, signed and bound to their query."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity
from connectra.vql.cursor import decode_cursor, encode_cursor
from connectra.vql.parse import parse_request

QUERY = parse_request(
    {"order_by": [{"order_by": "created_at", "order_direction": "desc"}]},
    Entity.CONTACTS,
    cursor_secret="s",
)
VALUES = (datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), "c0000000-0000-4000-8000-000000000001")


def test_a_cursor_round_trips_its_sort_values() -> None:
    token = encode_cursor(VALUES, QUERY.fingerprint, "secret")

    assert decode_cursor(token, QUERY.sort, QUERY.fingerprint, "secret") == VALUES


def test_a_re_signed_or_edited_cursor_is_rejected() -> None:
    token = encode_cursor(VALUES, QUERY.fingerprint, "secret")
    payload, signature = token.split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=="))
    edited["v"][1] = "c0000000-0000-4000-8000-000000000999"
    forged = base64.urlsafe_b64encode(json.dumps(edited).encode()).decode().rstrip("=")

    for bad in (f"{forged}.{signature}", encode_cursor(VALUES, QUERY.fingerprint, "other")):
        with pytest.raises(ValidationFailed) as raised:
            decode_cursor(bad, QUERY.sort, QUERY.fingerprint, "secret")
        assert raised.value.details[0]["path"] == "search_after"


def test_a_cursor_of_another_query_is_rejected() -> None:
    token = encode_cursor(VALUES, QUERY.fingerprint, "secret")

    with pytest.raises(ValidationFailed, match="different query"):
        parse_request(
            {"order_by": [{"order_by": "created_at"}], "search_after": token},
            Entity.CONTACTS,
            cursor_secret="secret",
        )


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!.??", "e30.e30"])
def test_malformed_cursors_are_validation_errors(token: str) -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(token, QUERY.sort, QUERY.fingerprint, "secret")
