"""Deterministic ids: the same natural key always gives the same uuid."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectra.models import identity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://WWW.Acme.com/about?x=1", "acme.com"),
        ("acme.com", "acme.com"),
        ("  http://sub.acme.co.uk/ ", "sub.acme.co.uk"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_domain_strips_scheme_www_and_path(raw: str | None, expected: str | None) -> None:
    assert identity.normalize_domain(raw) == expected


def test_linkedin_urls_normalize_to_host_and_path() -> None:
    assert (
        identity.normalize_linkedin_url("https://www.LinkedIn.com/in/Jane-Doe/?trk=x")
        == "linkedin.com/in/jane-doe"
    )
    assert identity.normalize_linkedin_url("linkedin.com/in/jane-doe") == "linkedin.com/in/jane-doe"


def test_contact_id_comes_from_the_email_ignoring_case_and_spaces() -> None:
    first = identity.contact_uuid(" Jane@Example.COM ", "Jane", "Doe", None)
    second = identity.contact_uuid("jane@example.com", "Other", "Name", "linkedin.com/in/x")
    assert first == second


def test_contact_without_email_is_keyed_by_name_and_linkedin() -> None:
    with_url = identity.contact_uuid(None, "Jane", "Doe", "https://linkedin.com/in/jane")
    same = identity.contact_uuid("", " jane ", "DOE", "linkedin.com/in/jane/")
    other = identity.contact_uuid(None, "Jane", "Doe", "linkedin.com/in/jane-2")
    assert with_url == same
    assert with_url != other


def test_company_id_prefers_the_domain_over_the_name() -> None:
    by_domain = identity.company_uuid("https://acme.com", "Acme", None)
    renamed = identity.company_uuid("acme.com", "Acme Corporation", None)
    by_name = identity.company_uuid(None, "Acme", None)
    assert by_domain == renamed
    assert by_domain != by_name


def test_records_without_any_key_have_no_id() -> None:
    assert identity.contact_uuid(None, None, "  ", None) is None
    assert identity.company_uuid(None, None, None) is None


def test_contacts_and_companies_never_share_an_id() -> None:
    assert identity.record_uuid("contacts", "k") != identity.record_uuid("companies", "k")


@given(entity=st.sampled_from(["contacts", "companies"]), key=st.text(max_size=300))
def test_record_uuid_is_the_standard_uuid5_of_the_namespaced_key(entity: str, key: str) -> None:
    expected = uuid.uuid5(identity.CONNECTRA_NAMESPACE, f"{entity}/{key}")
    found = identity.record_uuid(entity, key)
    assert found == expected
    assert (found.version, found.variant) == (5, uuid.RFC_4122)
