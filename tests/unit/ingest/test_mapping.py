"""Column mapping: explicit mapping, presets, aliases; request checks name what is wrong."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from connectra.errors import ValidationFailed
from connectra.ingest.columns import ColumnMap
from connectra.ingest.mapping import check_mapping, column_map
from connectra.ingest.presets import PRESETS
from connectra.ingest.staged import supports as sql_path_supports
from connectra.models.fields import Entity

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendor"


def header_of(name: str) -> list[str]:
    with (FIXTURES / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def test_a_mapping_to_an_unknown_field_is_refused_naming_the_column() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_mapping(Entity.CONTACTS, {"Lead Score": "score", "Email": "email"}, None)
    assert refused.value.details == [
        {
            "path": "mapping.Lead Score",
            "message": "'score' is not a writable contacts field",
            "type": "value_error",
        }
    ]


def test_two_columns_on_one_field_are_refused_naming_the_second() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_mapping(Entity.CONTACTS, {"Work Email": "email", "Personal Email": "email"}, None)
    assert refused.value.details[0]["path"] == "mapping.Personal Email"
    assert "already fed by the column 'Work Email'" in refused.value.details[0]["message"]


def test_an_unknown_preset_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(ValidationFailed, match="preset: no preset 'apolo'") as refused:
        check_mapping(Entity.CONTACTS, None, "apolo")
    assert refused.value.details[0]["path"] == "preset"
    with pytest.raises(ValidationFailed):
        check_mapping(Entity.COMPANIES, None, "apollo")  # a contacts preset


def test_the_explicit_mapping_wins_over_preset_and_aliases() -> None:
    data = check_mapping(
        Entity.CONTACTS,
        {"Person Linkedin Url": "linkedin_url", "Title": None, "Notes": "title"},
        "apollo",
    )
    columns = column_map(Entity.CONTACTS, ["Person Linkedin Url", "Title", "Notes"], data)
    assert columns.mapping_used() == {
        "Person Linkedin Url": "linkedin_url",
        "Title": None,
        "Notes": "title",
    }
    assert columns.ignored == ()  # a column mapped to null is ignored on purpose


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_maps_its_fixture_header_and_reports_the_rest(name: str) -> None:
    header = header_of(name)
    columns = column_map(Entity.CONTACTS, header, {"preset": name})
    preset = PRESETS[name]
    used = columns.mapping_used()
    mapped_by_preset = [column for column in header if column in preset.columns]
    assert mapped_by_preset, "the fixture must carry the preset's columns"
    for column in mapped_by_preset:
        assert used[column] in (preset.columns[column].target, None)
    assert columns.has_company_columns
    assert set(columns.ignored) == {column for column, field in used.items() if field is None}


def test_apollo_header_feeds_every_company_field_the_issue_lists() -> None:
    columns = column_map(Entity.CONTACTS, header_of("apollo"), {"preset": "apollo"})
    used = columns.mapping_used()
    assert {
        used[c]
        for c in (
            "Website",
            "Company Linkedin Url",
            "# Employees",
            "Industry",
            "Keywords",
            "Technologies",
            "Annual Revenue",
            "Total Funding",
            "Company Address",
        )
    } == {
        "company_website",
        "company_linkedin_url",
        "company_employees_count",
        "company_industries",
        "company_keywords",
        "company_technologies",
        "company_annual_revenue",
        "company_total_funding",
        "company_address",
    }


def test_without_preset_the_built_in_aliases_map_a_vendor_header() -> None:
    columns = ColumnMap.from_header(
        Entity.CONTACTS, ["First Name", "Email", "Website", "# Employees", "Company City", "Mood"]
    )
    assert columns.mapping_used() == {
        "First Name": "first_name",
        "Email": "email",
        "Website": "company_website",
        "# Employees": "company_employees_count",
        "Company City": "company_city",
        "Mood": None,
    }
    assert columns.ignored == ("Mood",)


def test_plain_contact_files_keep_the_sql_path() -> None:
    plain = ColumnMap.from_header(
        Entity.CONTACTS, ["first_name", "email", "seniority", "departments", "email_status"]
    )
    vendor = ColumnMap.from_header(Entity.CONTACTS, ["first_name", "email", "Department"])
    assert sql_path_supports(Entity.CONTACTS, plain)  # our own vocabulary: read as written
    assert not sql_path_supports(Entity.CONTACTS, vendor)
