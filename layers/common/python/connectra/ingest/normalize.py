"""Vendor values onto ours: vocabularies, employee ranges, money, list cells.

Files exported by B2B data and CRM tools spell the same facts their own way: an email
status "Verified" or "Valid", a seniority "VP" or "Vice President", a headcount "51-200",
a revenue "$5M". Before a record is validated (models/records.py) its vendor columns are
normalized here; docs/import-mapping.md has the tables.

* Vocabularies (email status, seniority, departments) map case-insensitively onto ours;
  a value we do not know is kept as written (trimmed): dropping it would lose data and
  guessing would invent it. They apply to vendor columns only (recognized by an alias,
  a preset or an explicit mapping): a column named as our own field (`seniority`) is
  read as written in our vocabulary, so our own exports re-import unchanged.
* Numbers: `51-200` → 51 and `10,001+` → 10001 (a range is its lower bound: the count a
  filter `employees_count >= 51` should find); `$5M` → 5000000, `1,200,000` → 1200000,
  `$1.5B` → 1500000000, `$25 Million` → 25000000; `(in 000s)` columns are scaled by
  their preset. A value that is
  not a number is a ValueError, which the parser reports as the row's error for the column.
* List cells split on `;`, else `|`, else `,` (HubSpot multi-selects use `;`, some
  exports `|`, Apollo and ZoomInfo `, `); parts are trimmed, blanks dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

EMAIL_STATUSES: dict[str, str] = {
    "verified": "verified",
    "valid": "verified",
    "deliverable": "verified",
    "safe to send": "verified",
    "accept_all_verified": "verified",
    "valid (verified)": "verified",
    "likely to engage": "verified",
    "guessed": "guessed",
    "extrapolated": "guessed",
    "likely valid": "guessed",
    "probable": "guessed",
    "accept all": "guessed",
    "accept_all": "guessed",
    "catch-all": "guessed",
    "catch all": "guessed",
    "catchall": "guessed",
    "risky": "guessed",
    "unavailable": "unavailable",
    "not available": "unavailable",
    "unknown": "unavailable",
    "pending": "unavailable",
    "user managed": "unavailable",
    "invalid": "invalid",
    "bounced": "invalid",
    "undeliverable": "invalid",
    "do not email": "invalid",
}

SENIORITIES: dict[str, str] = {
    "owner": "owner",
    "founder": "owner",
    "co-founder": "owner",
    "partner": "owner",
    "c suite": "c_suite",
    "c-suite": "c_suite",
    "c_suite": "c_suite",
    "c-level": "c_suite",
    "c level": "c_suite",
    "cxo": "c_suite",
    "executive": "c_suite",
    "chief": "c_suite",
    "vp": "vp",
    "vice president": "vp",
    "vp-level": "vp",
    "vice-president": "vp",
    "head": "director",
    "director": "director",
    "director-level": "director",
    "manager": "manager",
    "manager-level": "manager",
    "management": "manager",
    "lead": "lead",
    "team lead": "lead",
    "senior": "senior",
    "non-manager": "senior",
    "entry": "entry",
    "entry level": "entry",
    "junior": "entry",
    "staff": "entry",
    "intern": "intern",
    "training": "intern",
}

DEPARTMENTS: dict[str, str] = {
    "engineering": "Engineering",
    "engineering & technical": "Engineering",
    "engineering_technical": "Engineering",
    "master_engineering_technical": "Engineering",
    "engineering & technical department": "Engineering",
    "sales": "Sales",
    "master_sales": "Sales",
    "marketing": "Marketing",
    "master_marketing": "Marketing",
    "finance": "Finance",
    "master_finance": "Finance",
    "finance & administration": "Finance",
    "accounting": "Finance",
    "human resources": "Human Resources",
    "human_resources": "Human Resources",
    "master_human_resources": "Human Resources",
    "hr": "Human Resources",
    "operations": "Operations",
    "master_operations": "Operations",
    "product": "Product",
    "product management": "Product",
    "product_management": "Product",
    "master_product_management": "Product",
    "legal": "Legal",
    "master_legal": "Legal",
    "customer success": "Customer Success",
    "support": "Customer Success",
    "customer service": "Customer Success",
    "customer_service": "Customer Success",
    "information technology": "Information Technology",
    "information_technology": "Information Technology",
    "master_information_technology": "Information Technology",
    "it": "Information Technology",
    "design": "Design",
    "design_department": "Design",
    "master_design": "Design",
    "data": "Data",
    "data science": "Data",
    "data_science": "Data",
}

_LIST_SEPARATORS = (";", "|", ",")
_MONEY_SUFFIXES = {
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mm": 10**6,
    "mn": 10**6,
    "mil": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "trillion": 10**12,
}
_CURRENCY = re.compile(r"^(?:usd|eur|gbp|us\$|[$€£¥])\s*|\s*(?:usd|eur|gbp)$", re.IGNORECASE)
_AMOUNT = re.compile(r"^(\d[\d,]*(?:\.\d+)?|\.\d+)\s*([a-z]{0,8})$", re.IGNORECASE)
# "51-200", "51 - 200", "51 to 200", "10,001+", "$10M-$50M": the first amount counts.
_RANGE_SPLIT = re.compile(r"\s*(?:-|–|—|\bto\b)\s*(?=[$€£¥\d])", re.IGNORECASE)


def vocabulary_value(table: dict[str, str], value: Any) -> Any:
    """`value` in our vocabulary when `table` knows it, else as written (trimmed)."""
    if not isinstance(value, str):
        return value
    cleaned = value.strip()
    return table.get(" ".join(cleaned.lower().split()), cleaned)


def email_status(value: Any) -> Any:
    return vocabulary_value(EMAIL_STATUSES, value)


def seniority(value: Any) -> Any:
    return vocabulary_value(SENIORITIES, value)


def split_list(value: Any) -> Any:
    """`a; b`, `a | b` or `a, b` → ["a", "b"]; lists (JSON) and non-strings unchanged."""
    if not isinstance(value, str):
        return value
    separator = next((mark for mark in _LIST_SEPARATORS if mark in value), None)
    parts = value.split(separator) if separator else [value]
    return [part.strip() for part in parts if part.strip()]


def departments(value: Any) -> Any:
    items = split_list(value)
    if not isinstance(items, list):
        return items
    return [vocabulary_value(DEPARTMENTS, item) for item in items]


def amount(value: Any) -> int:
    """`$5M` → 5000000, `1,200,000` → 1200000, `2.5k` → 2500, `$10M-$50M` → 10000000."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a number")
        return round(value)
    if not isinstance(value, str):
        raise ValueError("not a number")
    text = _RANGE_SPLIT.split(value.strip(), maxsplit=1)[0].strip().rstrip("+").strip()
    text = _CURRENCY.sub("", text).strip()
    match = _AMOUNT.match(text)
    if match is None:
        raise ValueError(f"not a number: {value.strip()[:50]!r}")
    digits, suffix = match.group(1).replace(",", ""), match.group(2).lower()
    if suffix and suffix not in _MONEY_SUFFIXES:
        raise ValueError(f"not a number: {value.strip()[:50]!r}")
    try:
        number = Decimal(digits) * _MONEY_SUFFIXES.get(suffix, 1)
    except InvalidOperation:
        raise ValueError(f"not a number: {value.strip()[:50]!r}") from None
    return int(number.to_integral_value())


def scaled(factor: int) -> Callable[[Any], int]:
    """An amount given in units of `factor` (ZoomInfo's "Revenue (in 000s USD)")."""

    def convert(value: Any) -> int:
        return amount(value) * factor

    return convert


# Field → normalizer, for every column (numbers) or vendor columns only (vocabularies).
NUMBER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "employees_count": amount,
    "annual_revenue": amount,
    "total_funding": amount,
}
VOCABULARY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "email_status": email_status,
    "seniority": seniority,
    "departments": departments,
    "industries": split_list,
    "keywords": split_list,
    "technologies": split_list,
}
