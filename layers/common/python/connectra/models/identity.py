"""Natural keys and deterministic record ids (UUID5), so re-imports never duplicate."""

from __future__ import annotations

import hashlib
import re
import uuid
from urllib.parse import urlsplit

# Fixed namespace: changing it would change every record id.
CONNECTRA_NAMESPACE = uuid.UUID("5b1f6d3e-8a43-5c39-9a41-2f6f2b0c7e11")

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_SPACES = re.compile(r"\s+")


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


def normalize_domain(value: str | None) -> str | None:
    """`https://WWW.Acme.com/about?x=1` → `acme.com`."""
    if value is None:
        return None
    cleaned = value.strip().lower()
    if not cleaned:
        return None
    if not _SCHEME.match(cleaned):
        cleaned = "http://" + cleaned
    host = (urlsplit(cleaned).hostname or "").strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def normalize_linkedin_url(value: str | None) -> str | None:
    """`https://www.LinkedIn.com/in/Jane-Doe/?trk=x` → `linkedin.com/in/jane-doe`."""
    if value is None:
        return None
    cleaned = value.strip().lower()
    if not cleaned:
        return None
    if not _SCHEME.match(cleaned):
        cleaned = "https://" + cleaned
    parts = urlsplit(cleaned)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}" or None


def normalize_name(value: str | None) -> str:
    return _SPACES.sub(" ", (value or "").strip().lower())


def contact_natural_key(
    email: str | None, first_name: str | None, last_name: str | None, linkedin_url: str | None
) -> str | None:
    """Normalized email if present, else first + last + normalized LinkedIn URL."""
    normalized_email = normalize_email(email)
    if normalized_email:
        return f"email:{normalized_email}"
    first, last = normalize_name(first_name), normalize_name(last_name)
    linkedin = normalize_linkedin_url(linkedin_url) or ""
    if not (first or last or linkedin):
        return None
    return f"person:{first}|{last}|{linkedin}"


def company_natural_key(
    normalized_domain: str | None, name: str | None, linkedin_url: str | None
) -> str | None:
    """Normalized domain if present, else name + normalized LinkedIn URL."""
    domain = normalize_domain(normalized_domain)
    if domain:
        return f"domain:{domain}"
    company_name = normalize_name(name)
    linkedin = normalize_linkedin_url(linkedin_url) or ""
    if not (company_name or linkedin):
        return None
    return f"company:{company_name}|{linkedin}"


_NAMESPACE_BYTES = CONNECTRA_NAMESPACE.bytes
# RFC 4122 version 5: the version nibble and the variant bits over the SHA-1 prefix.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (5 << 76) | (0x8000 << 48)


def record_uuid(entity: str, natural_key: str) -> uuid.UUID:
    """`uuid.uuid5(CONNECTRA_NAMESPACE, f"{entity}/{natural_key}")`, a third cheaper.

    It runs for every imported row; `uuid.uuid5` goes through `UUID(bytes=…, version=5)`,
    whose checks cost more than the hash (tests/unit compare both on many keys).
    """
    name = f"{entity}/{natural_key}".encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    return uuid.UUID(int=(int.from_bytes(digest[:16], "big") & _CLEAR) | _SET)


def contact_uuid(
    email: str | None, first_name: str | None, last_name: str | None, linkedin_url: str | None
) -> uuid.UUID | None:
    key = contact_natural_key(email, first_name, last_name, linkedin_url)
    return record_uuid("contacts", key) if key else None


def company_uuid(
    normalized_domain: str | None, name: str | None, linkedin_url: str | None
) -> uuid.UUID | None:
    key = company_natural_key(normalized_domain, name, linkedin_url)
    return record_uuid("companies", key) if key else None
