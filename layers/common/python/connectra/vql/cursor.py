"""Opaque, tamper-evident search_after cursors.

A cursor is `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload))`. The
payload holds the sort values of the last row returned (one per sort key, uuid last) and
the fingerprint of the query's filter and sort, so a cursor only continues the query that
produced it. Anything malformed, re-signed or from another query is a ValidationFailed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from connectra.errors import ValidationFailed
from connectra.models.fields import FieldKind
from connectra.vql.ast import SortKey, SortValue

CURSOR_PATH = "search_after"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{CURSOR_PATH}: {message}",
        [{"path": CURSOR_PATH, "message": message, "type": "invalid_cursor"}],
    )


def _encode_value(value: SortValue) -> str | int | float | None:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(values: tuple[SortValue, ...], fingerprint: str, secret: str) -> str:
    payload = json.dumps(
        {"v": [_encode_value(value) for value in values], "f": fingerprint},
        separators=(",", ":"),
    ).encode()
    return f"{_b64encode(payload)}.{_b64encode(_sign(secret, payload))}"


def _decode_value(raw: Any, key: SortKey) -> SortValue:
    if raw is None:
        return None
    kind = key.field.kind
    if kind is FieldKind.NUMBER and isinstance(raw, int | float) and not isinstance(raw, bool):
        return raw
    if kind is FieldKind.DATE and isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise _invalid("malformed cursor") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if kind is FieldKind.UUID and isinstance(raw, str):
        # Signed is not trusted: the secret may be the public dev default.
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise _invalid("malformed cursor") from None
    if kind in (FieldKind.TEXT, FieldKind.KEYWORD) and isinstance(raw, str):
        if "\x00" in raw or (not raw.isprintable() and not _encodable(raw)):
            # PostgreSQL text holds neither NUL nor a lone surrogate (issue 11 D8).
            raise _invalid("malformed cursor")
        return raw
    raise _invalid("malformed cursor")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_cursor(
    token: str, sort: tuple[SortKey, ...], fingerprint: str, secret: str
) -> tuple[SortValue, ...]:
    """The sort values a cursor resumes after; raises ValidationFailed when it is not valid."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload = _b64decode(encoded_payload)
        signature = _b64decode(encoded_signature)
    except (ValueError, binascii.Error):
        raise _invalid("malformed cursor") from None
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        raise _invalid("cursor signature does not match (tampered or from another deployment)")
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise _invalid("malformed cursor") from None
    if not isinstance(decoded, dict) or decoded.get("f") != fingerprint:
        raise _invalid("cursor belongs to a different query (filters or order changed)")
    values = decoded.get("v")
    if not isinstance(values, list) or len(values) != len(sort):
        raise _invalid("malformed cursor")
    return tuple(_decode_value(raw, key) for raw, key in zip(values, sort, strict=True))
