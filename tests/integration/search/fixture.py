"""The fixed, hand-written data set of the VQL conformance suite.

Short ids (`ct07`, `co03`) name records in the cases; `uuid_of` turns them into uuids whose
order follows the number, so "ties broken by uuid" is readable from the names.
Traps on purpose: accents, reordered and misspelt titles, NULLs, ties on sort keys, a
soft-deleted contact and company, a contact without company and one whose company is
deleted, array fields, and a lower-case last name (code-point order).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

CONTACT_PREFIX = "c0000000"
COMPANY_PREFIX = "a0000000"


def uuid_of(short_id: str) -> uuid.UUID:
    """`ct07` → c0000000-0000-4000-8000-000000000007; `co03` → a0000000-…-000000000003."""
    prefix = CONTACT_PREFIX if short_id.startswith("ct") else COMPANY_PREFIX
    return uuid.UUID(f"{prefix}-0000-4000-8000-{int(short_id[2:]):012d}")


def short_id_of(value: Any) -> str:
    text = str(value)
    return ("ct" if text.startswith(CONTACT_PREFIX) else "co") + f"{int(text[-12:]):02d}"


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _company(
    short_id: str,
    name: str,
    domain: str | None,
    industries: list[str],
    keywords: list[str],
    technologies: list[str],
    employees: int | None,
    revenue: int | None,
    funding: int | None,
    place: tuple[str | None, str | None, str | None],
    created: str,
    deleted: bool = False,
    address: str | None = None,
) -> dict[str, Any]:
    city, state, country = place
    return {
        "uuid": uuid_of(short_id),
        "name": name,
        "normalized_domain": domain,
        "website": f"https://www.{domain}" if domain else None,
        "linkedin_url": None,
        "industries": industries,
        "keywords": keywords,
        "technologies": technologies,
        "employees_count": employees,
        "annual_revenue": revenue,
        "total_funding": funding,
        "address": address,
        "city": city,
        "state": state,
        "country": country,
        "phone": None,
        "created_at": day(created),
        "updated_at": day(created),
        "deleted_at": day("2024-07-01") if deleted else None,
    }


SF = ("San Francisco", "California", "United States")
NY = ("New York", "New York", "United States")
AUSTIN = ("Austin", "Texas", "United States")
BERLIN = ("Berlin", "Berlin", "Germany")
PARIS = ("Paris", "Île-de-France", "France")
TORONTO = ("Toronto", "Ontario", "Canada")
LONDON = ("London", "England", "United Kingdom")
TOKYO = ("Tokyo", "Tokyo", "Japan")
MOSCOW = ("Москва", None, "Россия")
ISTANBUL = ("İstanbul", None, "Türkiye")
ANKARA = ("Ankara", None, "TÜRKİYE")
ATHENS = ("Αθήνα", None, "Ελλάδα")
CAIRO = ("القاهرة", None, "مصر")
NOWHERE = (None, None, None)

COMPANIES: list[dict[str, Any]] = [
    _company("co01", "Acme Analytics", "acme.com", ["Computer Software", "Internet"],
             ["saas", "ai"], ["AWS", "Python"], 50, 5_000_000, 0, SF, "2023-01-10"),
    _company("co02", "Globex Corporation", "globex.io", ["Financial Services"],
             ["fintech", "payments"], ["Azure", "Java"], 1200, 300_000_000, 50_000_000, NY,
             "2023-06-01"),
    _company("co03", "Initech Labs", "initech.co", ["Computer Software"], ["b2b", "crm"],
             ["Salesforce", "React"], 200, 20_000_000, 5_000_000, AUSTIN, "2024-02-15"),
    _company("co04", "Umbrella Health", "umbrella.net",
             ["Hospital & Health Care", "Biotechnology"], ["healthtech"], ["Google Cloud"],
             5000, 900_000_000, 0, BERLIN, "2022-11-20"),
    _company("co05", "Société Générale Café", "cafe.fr", ["Banking"], [], [], 10, 1_000_000,
             None, PARIS, "2024-05-05"),
    _company("co06", "Stark Industries", "stark.com", ["Automotive", "Renewables & Environment"],
             ["iot"], ["AWS", "Kubernetes"], 800, 150_000_000, 200_000_000, TORONTO,
             "2021-03-03"),
    _company("co07", "Wayne AI", "wayne.ai", ["Internet"], ["ai", "machine learning"],
             ["Python", "Snowflake"], None, None, 1_000_000, LONDON, "2024-08-08"),
    _company("co08", "Zeta Systems", None, ["Computer Software"], [], ["Go"], 50, 2_000_000,
             0, TOKYO, "2023-01-10"),
    _company("co09", "Ghost Corp", "ghost.com", ["Internet"], ["ai"], ["AWS"], 100,
             9_000_000, 0, SF, "2023-03-03", deleted=True),
    # International names: Cyrillic, CJK (no spaces between words).
    _company("co10", "ООО Ромашка Инжиниринг", "romashka.ru", ["Engineering"], [], [], 300,
             None, None, MOSCOW, "2023-09-09"),
    # A Latin word written directly against CJK characters (pg_trgm reads the address as
    # one word, connectra as 東 京 都 中 央 区 ginza 四 丁 目).
    _company("co11", "東京電機株式会社", "tokyo-denki.jp", ["Electronics"], [], [], 4000,
             None, None, TOKYO, "2022-02-02", address="東京都中央区Ginza四丁目"),
]  # fmt: skip


def _contact(
    short_id: str,
    first: str,
    last: str,
    email: str | None,
    title: str | None,
    seniority: str | None,
    departments: list[str],
    email_status: str | None,
    place: tuple[str | None, str | None, str | None],
    company: str | None,
    created: str,
    deleted: bool = False,
) -> dict[str, Any]:
    city, state, country = place
    return {
        "uuid": uuid_of(short_id),
        "first_name": first,
        "last_name": last,
        "email": email,
        "title": title,
        "seniority": seniority,
        "departments": departments,
        "mobile_phone": None,
        "email_status": email_status,
        "linkedin_url": None,
        "city": city,
        "state": state,
        "country": country,
        "company_id": uuid_of(company) if company else None,
        "created_at": day(created),
        "updated_at": day(created),
        "deleted_at": day("2024-07-01") if deleted else None,
    }


CONTACTS: list[dict[str, Any]] = [
    _contact("ct01", "John", "Smith", "john.smith@acme.com", "Senior Software Engineer",
             "senior", ["Engineering"], "verified", SF, "co01", "2024-01-05"),
    _contact("ct02", "Jane", "Doe", "jane.doe@globex.io", "Software Engineer", "entry",
             ["Engineering"], "verified", NY, "co02", "2024-01-06"),
    _contact("ct03", "José", "García", "jose@initech.co", "Engineering Manager", "manager",
             ["Engineering", "Product"], "guessed", AUSTIN, "co03", "2024-02-01"),
    _contact("ct04", "Zoë", "Müller", "zoe@umbrella.net", "Director of Engineering",
             "director", ["Engineering"], "verified", BERLIN, "co04", "2023-12-31"),
    _contact("ct05", "Søren", "Kowalski", "soren@stark.com", "Chief Technology Officer",
             "c_suite", ["Engineering", "Information Technology"], "invalid", TORONTO, "co06",
             "2023-05-05"),
    _contact("ct06", "Priya", "Patel", "priya@wayne.ai", "Data Scientist", "senior", ["Data"],
             "verified", LONDON, "co07", "2024-03-10"),
    _contact("ct07", "Wei", "Chen", "wei@acme.com", "Senior Data Engineer", "senior",
             ["Data", "Engineering"], "unavailable", SF, "co01", "2024-03-10"),
    _contact("ct08", "Emma", "Brown", "emma@globex.io", "Product Manager", "manager",
             ["Product"], "verified", NY, "co02", "2024-04-01"),
    _contact("ct09", "Liam", "Johnson", "liam@initech.co", "Senior Product Manager", "senior",
             ["Product"], "guessed", AUSTIN, "co03", "2024-04-02"),
    _contact("ct10", "Olivia", "Davis", "olivia@cafe.fr", "Account Executive", "entry",
             ["Sales"], "verified", PARIS, "co05", "2024-04-03"),
    _contact("ct11", "Noah", "Wilson", "noah@stark.com", "VP of Sales", "vp", ["Sales"],
             "verified", TORONTO, "co06", "2024-05-01"),
    _contact("ct12", "Ava", "Taylor", None, "Marketing Intern", "intern", ["Marketing"], None,
             NOWHERE, None, "2024-05-02"),
    _contact("ct13", "Mia", "Anderson", "mia@wayne.ai", "Software Engineering Intern",
             "intern", ["Engineering"], "verified", LONDON, "co07", "2024-05-03"),
    _contact("ct14", "Lucas", "Martin", "lucas@umbrella.net", "Site Reliability Engineer",
             "senior", ["Engineering", "Operations"], "verified", BERLIN, "co04", "2024-05-04"),
    _contact("ct15", "Chloé", "Dubois", "chloe@cafe.fr", "Chief Executive Officer", "c_suite",
             [], "verified", PARIS, "co05", "2022-06-06"),
    _contact("ct16", "Ethan", "Clark", "ethan@zeta.dev", "Engineer Software Senior", "senior",
             ["Engineering"], "guessed", TOKYO, "co08", "2024-06-01"),
    _contact("ct17", "Isabella", "Lewis", "isabella@acme.com", "Head of Product", "director",
             ["Product"], "verified", SF, "co01", "2024-06-02"),
    _contact("ct18", "James", "O'Brien", "james@globex.io", "Co-Founder & CEO", "owner", [],
             "verified", NY, "co02", "2021-01-01"),
    _contact("ct19", "Sofia", "Rossi", "sofia@initech.co", "Senior Software Engineer II",
             "senior", ["Engineering"], "invalid", AUSTIN, "co03", "2024-06-03"),
    _contact("ct20", "Mateo", "Lopez", "mateo@stark.com", "Softwre Enginer", "entry",
             ["Engineering"], "guessed", TORONTO, "co06", "2024-06-04"),
    _contact("ct21", "Amelia", "Hall", "amelia@ghost.com", "Recruiter", "entry",
             ["Human Resources"], "verified", SF, "co09", "2024-06-05"),
    _contact("ct22", "Henry", "Young", "henry@wayne.ai", "DevOps Engineer", "senior",
             ["Engineering"], "verified", LONDON, "co07", "2024-06-06"),
    _contact("ct23", "Harper", "King", "harper@acme.com", "Marketing Manager", "manager",
             ["Marketing"], "verified", SF, "co01", "2024-06-07"),
    _contact("ct24", "Adam", "smith", "adam@initech.co", "QA Engineer", "entry",
             ["Engineering"], "verified", AUSTIN, "co03", "2024-06-08"),
    _contact("ct25", "Ghost", "Person", "ghost@acme.com", "Senior Software Engineer",
             "senior", ["Engineering"], "verified", SF, "co01", "2024-06-09", deleted=True),
    # International: words, case and accents in other scripts (Cyrillic й folds to и,
    # Turkish İ/ı, Greek final sigma and tonos, CJK one character a word, Arabic).
    _contact("ct26", "Иван", "Петров", "ivan@romashka.ru", "Главный инженер", "director",
             ["Engineering"], "verified", MOSCOW, "co10", "2024-07-01"),
    _contact("ct27", "Γιώργος", "Παπαδόπουλος", None, "ΔΙΕΥΘΥΝΤΗΣ Λογισμικού", "director",
             ["Engineering"], "verified", ATHENS, None, "2024-07-02"),
    _contact("ct28", "Ayşe", "Yılmaz", None, "Yazılım Mühendisi", "entry", ["Engineering"],
             "verified", ISTANBUL, None, "2024-07-03"),
    _contact("ct29", "太郎", "山田", "taro@tokyo-denki.jp", "ソフトウェアエンジニア", "senior",
             ["Engineering"], "verified", TOKYO, "co11", "2024-07-04"),
    _contact("ct30", "Mehmet", "Öztürk", None, "SATIŞ MÜDÜRÜ", "manager", ["Sales"],
             "verified", ANKARA, None, "2024-07-05"),
    _contact("ct31", "محمد", "علي", None, "مهندس برمجيات", "entry", ["Engineering"],
             "verified", CAIRO, None, "2024-07-06"),
]  # fmt: skip

COMPANIES_BY_UUID = {company["uuid"]: company for company in COMPANIES}
