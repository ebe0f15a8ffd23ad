"""Realistic generated contacts and companies: the local sample set, test data, benchmarks.

Deterministic for a seed, so tests and benchmarks can regenerate the same data.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from connectra.models.identity import company_uuid

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Edward Sharon Jason Laura Jeffrey Cynthia Ryan Kathleen "
    "Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry "
    "Emma Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine "
    "José Zoë Renée François Søren Łukasz Chloé Mohammed Wei Yuki Priya Aarav Olga Ines"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Müller Schmidt Dubois Rossi Kowalski Novak Tanaka Suzuki Patel Singh Kim Park Chen Wang "
    "O'Brien McDonald D'Angelo van der Berg"
).split()
TITLES = (
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Software Engineer",
    "Principal Engineer",
    "Engineering Manager",
    "Director of Engineering",
    "VP of Engineering",
    "Chief Technology Officer",
    "Data Scientist",
    "Senior Data Engineer",
    "Product Manager",
    "Senior Product Manager",
    "Head of Product",
    "Chief Executive Officer",
    "Founder",
    "Co-Founder & CEO",
    "Account Executive",
    "Sales Development Representative",
    "Head of Sales",
    "VP of Sales",
    "Marketing Manager",
    "Growth Marketing Lead",
    "Chief Marketing Officer",
    "Recruiter",
    "Talent Acquisition Partner",
    "HR Business Partner",
    "Chief Financial Officer",
    "Financial Analyst",
    "Controller",
    "Operations Manager",
    "Customer Success Manager",
    "Solutions Architect",
    "DevOps Engineer",
    "Site Reliability Engineer",
    "Security Engineer",
    "QA Engineer",
    "Software Engineering Intern",
    "Marketing Intern",
    "Office Manager",
    "General Counsel",
)
SENIORITIES = ("entry", "senior", "manager", "director", "vp", "c_suite", "owner", "intern", "lead")
DEPARTMENTS = (
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Operations",
    "Product",
    "Legal",
    "Customer Success",
    "Information Technology",
    "Design",
    "Data",
)
EMAIL_STATUSES = ("verified", "verified", "verified", "guessed", "unavailable", "invalid")
INDUSTRIES = (
    "Computer Software",
    "Information Technology & Services",
    "Financial Services",
    "Banking",
    "Hospital & Health Care",
    "Retail",
    "Marketing & Advertising",
    "Real Estate",
    "Insurance",
    "Telecommunications",
    "Biotechnology",
    "Education Management",
    "Logistics & Supply Chain",
    "Automotive",
    "Renewables & Environment",
    "Internet",
    "Consumer Goods",
    "Media Production",
)
KEYWORDS = (
    "saas",
    "b2b",
    "fintech",
    "ai",
    "machine learning",
    "analytics",
    "payments",
    "ecommerce",
    "cloud",
    "security",
    "devops",
    "crm",
    "marketplace",
    "healthtech",
    "edtech",
    "logistics",
    "iot",
    "blockchain",
    "open source",
    "api",
)
TECHNOLOGIES = (
    "AWS",
    "Google Cloud",
    "Azure",
    "Salesforce",
    "HubSpot",
    "Stripe",
    "Shopify",
    "React",
    "Python",
    "Go",
    "Java",
    "Kubernetes",
    "Docker",
    "PostgreSQL",
    "Snowflake",
    "Segment",
    "Zendesk",
    "Slack",
    "Jira",
    "Terraform",
    "Datadog",
    "Twilio",
)
PLACES = (
    ("San Francisco", "California", "United States"),
    ("New York", "New York", "United States"),
    ("Austin", "Texas", "United States"),
    ("Seattle", "Washington", "United States"),
    ("Boston", "Massachusetts", "United States"),
    ("Chicago", "Illinois", "United States"),
    ("Denver", "Colorado", "United States"),
    ("Toronto", "Ontario", "Canada"),
    ("Vancouver", "British Columbia", "Canada"),
    ("London", "England", "United Kingdom"),
    ("Manchester", "England", "United Kingdom"),
    ("Berlin", "Berlin", "Germany"),
    ("München", "Bavaria", "Germany"),
    ("Paris", "Île-de-France", "France"),
    ("Amsterdam", "North Holland", "Netherlands"),
    ("Bengaluru", "Karnataka", "India"),
    ("Singapore", "Singapore", "Singapore"),
    ("Sydney", "New South Wales", "Australia"),
    ("São Paulo", "São Paulo", "Brazil"),
    ("Tokyo", "Tokyo", "Japan"),
)
NAME_PARTS = (
    "Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Pied Piper Vandelay Soylent Tyrell "
    "Cyberdyne Massive Dynamic Aperture Black Mesa Blue Sun Nakatomi Oscorp Gringotts Dunder "
    "Mifflin Sterling Cooper Prestige Monarch Virtucon Northwind Contoso Fabrikam Tailspin "
    "Litware Adventure Works Proseware Lucerne Alpine Coho Margie Wingtip Blue Yonder"
).split()
NAME_SUFFIXES = ("Inc", "Labs", "Systems", "Technologies", "Group", "Analytics", "Cloud", "AI", "")

COMPANY_COLUMNS = (
    "name",
    "normalized_domain",
    "website",
    "linkedin_url",
    "industries",
    "keywords",
    "technologies",
    "employees_count",
    "annual_revenue",
    "total_funding",
    "address",
    "city",
    "state",
    "country",
    "phone",
)
CONTACT_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "title",
    "seniority",
    "departments",
    "mobile_phone",
    "email_status",
    "linkedin_url",
    "city",
    "state",
    "country",
    "company_id",
)


def company_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` companies with unique domains; each dict validates as `CompanyIn`."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        base = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_PARTS)}"
        suffix = rng.choice(NAME_SUFFIXES)
        name = f"{base} {suffix}".strip()
        slug = "".join(ch for ch in base.lower() if ch.isalnum())
        domain = f"{slug}{index}.{rng.choice(('com', 'io', 'co', 'ai', 'net'))}"
        city, state, country = rng.choice(PLACES)
        employees = int(rng.lognormvariate(4.0, 1.6)) + 1
        rows.append(
            {
                "name": name,
                "normalized_domain": domain,
                "website": f"https://www.{domain}",
                "linkedin_url": f"https://www.linkedin.com/company/{slug}-{index}",
                "industries": rng.sample(INDUSTRIES, rng.randint(1, 3)),
                "keywords": rng.sample(KEYWORDS, rng.randint(0, 5)),
                "technologies": rng.sample(TECHNOLOGIES, rng.randint(0, 6)),
                "employees_count": employees,
                "annual_revenue": employees * rng.randint(50_000, 400_000),
                "total_funding": rng.choice((0, 0, rng.randint(1, 500) * 1_000_000)),
                "address": f"{rng.randint(1, 9999)} {rng.choice(LAST_NAMES)} Street",
                "city": city,
                "state": state,
                "country": country,
                "phone": f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            }
        )
    return rows


def contact_rows(
    count: int, companies: Sequence[dict[str, Any]], seed: int = 11
) -> Iterator[dict[str, Any]]:
    """`count` contacts with unique emails, each linked to one of `companies` (by uuid)."""
    rng = random.Random(seed)
    company_ids = [
        (company_uuid(c["normalized_domain"], c["name"], c["linkedin_url"]), c["normalized_domain"])
        for c in companies
    ]
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company_id, domain = rng.choice(company_ids) if company_ids else (None, "example.com")
        city, state, country = rng.choice(PLACES)
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and ch != "'")
        yield {
            "first_name": first,
            "last_name": last,
            "email": f"{local}.{index}@{domain}",
            "title": rng.choice(TITLES),
            "seniority": rng.choice(SENIORITIES),
            "departments": rng.sample(DEPARTMENTS, rng.randint(1, 2)),
            "mobile_phone": f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            "email_status": rng.choice(EMAIL_STATUSES),
            "linkedin_url": f"https://www.linkedin.com/in/{local.replace('.', '-')}-{index}",
            "city": city,
            "state": state,
            "country": country,
            "company_id": str(company_id) if company_id else None,
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def write_csv(handle: TextIO, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> int:
    """Write rows as CSV (lists joined with `; `); returns the number of rows written."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    written = 0
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
        written += 1
    return written


def write_sample_files(
    folder: Path, companies: int, contacts: int, seed: int = 7
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    company_data = company_rows(companies, seed)
    companies_csv, contacts_csv = folder / "companies.csv", folder / "contacts.csv"
    with companies_csv.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, company_data, COMPANY_COLUMNS)
    with contacts_csv.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, contact_rows(contacts, company_data, seed + 4), CONTACT_COLUMNS)
    return companies_csv, contacts_csv
