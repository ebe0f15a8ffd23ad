"""Vendor values onto ours (ingest/normalize.py): vocabularies, numbers, list cells."""

from __future__ import annotations

import pytest

from connectra.ingest import normalize


@pytest.mark.parametrize(
    ("written", "ours"),
    [
        ("Verified", "verified"),
        ("  valid ", "verified"),
        ("Catch-all", "guessed"),
        ("Guessed", "guessed"),
        ("Unavailable", "unavailable"),
        ("Bounced", "invalid"),
        ("Mystery", "Mystery"),  # unknown: kept as written
    ],
)
def test_email_status_vocabularies_map_onto_ours(written: str, ours: str) -> None:
    assert normalize.email_status(written) == ours


@pytest.mark.parametrize(
    ("written", "ours"),
    [
        ("VP", "vp"),
        ("Vice President", "vp"),
        ("VP-Level", "vp"),
        ("Head", "director"),
        ("C Suite", "c_suite"),
        ("C-Level", "c_suite"),
        ("Non-Manager", "senior"),
        ("Founder", "owner"),
        ("Chief Wizard", "Chief Wizard"),
    ],
)
def test_seniority_vocabularies_map_onto_ours(written: str, ours: str) -> None:
    assert normalize.seniority(written) == ours


def test_departments_split_and_map_keeping_unknown_ones() -> None:
    assert normalize.departments("Engineering & Technical, master_sales; Research") == [
        "Engineering & Technical, master_sales",  # `;` splits first: the comma stays inside
        "Research",
    ]
    assert normalize.departments("master_engineering_technical, Sales, Alchemy") == [
        "Engineering",
        "Sales",
        "Alchemy",
    ]
    assert normalize.departments(["hr", "IT"]) == ["Human Resources", "Information Technology"]


@pytest.mark.parametrize(
    ("cell", "parts"),
    [
        ("a; b ;c", ["a", "b", "c"]),
        ("a | b", ["a", "b"]),
        ("Python, PostgreSQL", ["Python", "PostgreSQL"]),
        (" single ", ["single"]),
        ("a;;  ; b", ["a", "b"]),
    ],
)
def test_list_cells_split_on_the_separators_exports_use(cell: str, parts: list[str]) -> None:
    assert normalize.split_list(cell) == parts


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("51-200", 51),
        ("51 - 200", 51),
        ("1,001-5,000", 1001),
        ("10,001+", 10001),
        ("10001+", 10001),
        ("$5M", 5_000_000),
        ("$7.5M", 7_500_000),
        ("1,200,000", 1_200_000),
        ("$1.2B", 1_200_000_000),
        ("2.5k", 2500),
        ("$900K", 900_000),
        ("$25 Million", 25_000_000),
        ("USD 3,000", 3000),
        ("$10M - $25M", 10_000_000),
        ("€3.5M", 3_500_000),
        ("240", 240),
        (240, 240),
        (12.6, 13),
    ],
)
def test_amounts_and_ranges_become_numbers(written: object, number: int) -> None:
    assert normalize.amount(written) == number


@pytest.mark.parametrize("written", ["not a number", "5 apples", "$", "-", "1.2.3", True, "5Q"])
def test_what_is_no_amount_is_a_value_error(written: object) -> None:
    with pytest.raises(ValueError, match="not a number"):
        normalize.amount(written)


def test_amounts_in_thousands_scale() -> None:
    assert normalize.scaled(1000)("12,500") == 12_500_000
