"""Named column presets: the export headers of common B2B data and CRM tools, onto our fields.

A preset is chosen with the upload or job request (`preset=apollo`); its table says which
of our fields each of the tool's export columns feeds. Targets name contact fields, or a
contact's company fields as `company_<field>` (as search names them). Columns a preset
does not name fall back to the built-in aliases (columns.py), then are reported unknown.

The header lists were taken from the tools' own documentation and from public parsers of
their export files; docs/import-mapping.md cites the source of each table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from connectra.models.fields import Entity


@dataclass(frozen=True)
class PresetColumn:
    target: str
    scale: int = 1  # amounts given in thousands (ZoomInfo's "(in 000s USD)") scale by 1000


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    entity: Entity
    columns: Mapping[str, PresetColumn]


def _preset(
    name: str, title: str, entity: Entity, columns: dict[str, str | PresetColumn]
) -> Preset:
    table = {
        header: column if isinstance(column, PresetColumn) else PresetColumn(column)
        for header, column in columns.items()
    }
    return Preset(name, title, entity, MappingProxyType(table))


APOLLO = _preset(
    "apollo",
    "Apollo.io people export",
    Entity.CONTACTS,
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Company": "company_name",
        "Company Name": "company_name",
        "Email": "email",
        "Email Status": "email_status",
        "Seniority": "seniority",
        "Departments": "departments",
        "Mobile Phone": "mobile_phone",
        "Corporate Phone": "company_phone",
        "# Employees": "company_employees_count",
        "Industry": "company_industries",
        "Keywords": "company_keywords",
        "Person Linkedin Url": "linkedin_url",
        "Website": "company_website",
        "Company Linkedin Url": "company_linkedin_url",
        "City": "city",
        "State": "state",
        "Country": "country",
        "Company Address": "company_address",
        "Company City": "company_city",
        "Company State": "company_state",
        "Company Country": "company_country",
        "Company Phone": "company_phone",
        "Technologies": "company_technologies",
        "Annual Revenue": "company_annual_revenue",
        "Total Funding": "company_total_funding",
    },
)

ZOOMINFO = _preset(
    "zoominfo",
    "ZoomInfo contact export",
    Entity.CONTACTS,
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Job Title": "title",
        "Management Level": "seniority",
        "Department": "departments",
        "Email Address": "email",
        "Mobile phone": "mobile_phone",
        "LinkedIn Contact Profile URL": "linkedin_url",
        "Person City": "city",
        "Person State": "state",
        "Country": "country",
        "Company Name": "company_name",
        "Website": "company_website",
        "Company HQ Phone": "company_phone",
        "Revenue (in 000s USD)": PresetColumn("company_annual_revenue", scale=1000),
        "Employees": "company_employees_count",
        "Primary Industry": "company_industries",
        "LinkedIn Company Profile URL": "company_linkedin_url",
        "Total Funding Amount (in 000s USD)": PresetColumn("company_total_funding", scale=1000),
        "Company Street Address": "company_address",
        "Company City": "company_city",
        "Company State": "company_state",
        "Company Country": "company_country",
    },
)

SEAMLESS = _preset(
    "seamless",
    "Seamless.AI contact export",
    Entity.CONTACTS,
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Seniority": "seniority",
        "Department": "departments",
        "Email 1": "email",
        "Contact Mobile Phone": "mobile_phone",
        "Contact LI Profile URL": "linkedin_url",
        "Contact City": "city",
        "Contact State": "state",
        "Contact Country": "country",
        "Company Name - Cleaned": "company_name",
        "Website": "company_website",
        "Company LI Profile Url": "company_linkedin_url",
        "Company Location": "company_address",
        "Company City": "company_city",
        "Company State": "company_state",
        "Company Country": "company_country",
        "Company Annual Revenue": "company_annual_revenue",
        "Company Staff Count": "company_employees_count",
        "Company Industry": "company_industries",
    },
)

HUBSPOT = _preset(
    "hubspot",
    "HubSpot contacts export",
    Entity.CONTACTS,
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Job Title": "title",
        "Mobile Phone Number": "mobile_phone",
        "City": "city",
        "State/Region": "state",
        "Country/Region": "country",
        "Company Name": "company_name",
        "Website URL": "company_website",
        "Industry": "company_industries",
        "Number of Employees": "company_employees_count",
        "Annual Revenue": "company_annual_revenue",
    },
)

SALESFORCE = _preset(
    "salesforce",
    "Salesforce contacts export (Data Loader / report)",
    Entity.CONTACTS,
    {
        "FirstName": "first_name",
        "LastName": "last_name",
        "Email": "email",
        "Title": "title",
        "Department": "departments",
        "MobilePhone": "mobile_phone",
        "MailingCity": "city",
        "MailingState": "state",
        "MailingCountry": "country",
        "Account.Name": "company_name",
        "Account Name": "company_name",
        "Account.Website": "company_website",
        "Account.Industry": "company_industries",
        "Account.NumberOfEmployees": "company_employees_count",
        "Account.AnnualRevenue": "company_annual_revenue",
    },
)

PRESETS: Mapping[str, Preset] = MappingProxyType(
    {preset.name: preset for preset in (APOLLO, ZOOMINFO, SEAMLESS, HUBSPOT, SALESFORCE)}
)
