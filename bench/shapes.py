"""Every VQL query shape the grammar allows, generated from it with values from the data.

`generate(values)` walks the grammar (vql/models.py, vql/parse.py): each text search type
with each fuzzy flag and operator it accepts (and slop), on every text field of both
entities; must and must_not; several conditions on one key (OR); keyword scalars, lists
and arrays; ranges on own and `company_` fields; every sortable field in both
directions; populate; deep pages (search_after and page numbers); combinations. Each shape
comes as a hit (values taken from a record of the data set) and, where a value can miss,
as a miss (values from the data in combinations no record has, or absent words), so
both the "found at once" and the "looked everywhere" costs are measured.

Each shape names the indexes its plan is meant to use (`indexes`, any one of them; empty
when no index can serve it, e.g. a must_not alone): tests/integration/search/
test_shape_plans.py checks them with EXPLAIN, bench/search.py times the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectra.models.fields import (
    CONTACT_TEXT_SORTS,
    COUNTRY_SCOPED_CONTACT_SORTS,
    FEW_VALUED_COMPANY_SORTS,
    FIELDS_BY_ENTITY,
    WORD_START_INDEXED_COMPANY_FIELDS,
    Entity,
    FieldKind,
    company_field_of,
)

TEXT_TYPES: tuple[tuple[str, dict[str, Any]], ...] = (
    # (label, TextMatch options): every combination parse.py accepts
    ("exact", {"search_type": "exact"}),
    ("exact slop 2", {"search_type": "exact", "slop": 2}),
    ("shuffle and", {"search_type": "shuffle"}),
    ("shuffle or", {"search_type": "shuffle", "operator": "or"}),
    ("fuzzy and", {"search_type": "shuffle", "fuzzy": True}),
    ("fuzzy or", {"search_type": "shuffle", "fuzzy": True, "operator": "or"}),
    ("substring", {"search_type": "substring"}),
    ("substring short", {"search_type": "substring"}),
)
# Text shapes no trigram serves: a word prefix under 3 characters has none (the company
# fields' word-start index serves it: `text_indexes`).
UNTRIGRAMMED_TEXT = frozenset({"substring short"})
MISSING_WORD = "qzxvy"  # no record holds it (checked by the sampler)
MISSING_KEYWORD = "atlantis"


@dataclass(frozen=True)
class Shape:
    name: str
    entity: Entity
    vql: dict[str, Any]
    indexes: tuple[str, ...] = ()  # the plan of `plan` uses one of these
    deep_pages: int = 0  # follow search_after this many pages before timing
    # Resume after the row this far into the first sort key's order (0.9: past 90 % of
    # the table), as a client walking the whole result reaches: a cursor deep in the index.
    resume_at: float = 0.0
    plan: str = "count"  # which statement's plan the indexes serve: "count" or "page"


@dataclass(frozen=True)
class Values:
    """Values read from one record of the data set (see bench/search.py `sample_values`)."""

    text: dict[tuple[Entity, str], str]  # (entity, text field) -> a multi-word value
    seniorities: tuple[str, str]
    department: str
    email_status: str
    country: str
    city: str
    industries: tuple[str, str]
    technology: str
    company_country: str
    employees: tuple[int, int]  # a range holding some companies
    created: tuple[str, str]  # ISO dates holding some contacts
    missing_created: tuple[str, str] = ("1999-01-01", "1999-12-31")
    extra: dict[str, Any] = field(default_factory=dict)


def _words(value: str) -> list[str]:
    return [word for word in "".join(c if c.isalnum() else " " for c in value).split() if word]


def _longest_pair(words: list[str]) -> list[str]:
    """The two adjacent words with the most letters: the most telling phrase of a value
    (`Software Engineer` of `Senior Software Engineer`, not `https www` of a URL)."""
    if len(words) < 2:
        return words
    start = max(range(len(words) - 1), key=lambda i: len(words[i]) + len(words[i + 1]))
    return words[start : start + 2]


def _typo(word: str) -> str:
    """One edit away (a letter dropped): a fuzzy hit for words of 3+ letters."""
    return word[:1] + word[2:] if len(word) > 3 else word


def text_value(label: str, value: str, hit: bool) -> str:
    """The text a shape searches for, from a field value of the data."""
    words = _words(value) or [value]
    longest = max(words, key=len)
    if label.startswith("substring short"):
        return longest[:2] if hit else "qz"
    if label.startswith("substring"):
        return longest[1:5] if hit else MISSING_WORD
    if label.startswith("fuzzy"):
        if not hit:
            return f"{MISSING_WORD} {MISSING_WORD[::-1]}"
        return " ".join(_typo(word) for word in _longest_pair(words))
    if label.startswith("exact"):
        # A miss: the record's own words reversed (each word exists, the phrase does not).
        if len(words) == 1:
            return words[0] if hit else f"{words[0]} {MISSING_WORD}"
        pair = _longest_pair(words)
        return " ".join(pair if hit else pair[::-1])
    if label == "shuffle or":
        return f"{longest} {MISSING_WORD}" if hit else f"{MISSING_WORD} {MISSING_WORD[::-1]}"
    pair = _longest_pair(words)
    return " ".join(pair) if hit else f"{pair[0]} {MISSING_WORD}"


def every_term_prefiltered(text: str) -> bool:
    """A fuzzy OR of rare words (a miss) is a BitmapOr of its terms' trigram prefilters
    when each term has one: 3 characters or more (a shorter term allows no edit and is
    looked up in the stored words, which no index serves). Of common words (a hit), the
    prefilters keep most rows and the planner rightly prefers a scan to their union."""
    return all(len(word) >= 3 for word in _words(text))


def _table(entity: Entity, name: str) -> tuple[str, str]:
    company = company_field_of(name) if entity is Entity.CONTACTS else None
    return ("companies", company) if company else (entity.value, name)


def trigram_index(entity: Entity, name: str) -> str:
    table, column = _table(entity, name)
    return f"vql_{table}_{column}_folded_trgm"


def word_start_index(entity: Entity, name: str) -> str | None:
    table, column = _table(entity, name)
    if table != "companies" or column not in WORD_START_INDEXED_COMPANY_FIELDS:
        return None
    return f"vql_{table}_{column}_word_starts"


def text_indexes(entity: Entity, key: str, label: str, text: str, hit: bool) -> tuple[str, ...]:
    """The indexes a text shape's plan uses: the field's trigram GIN, or for short
    substrings its word-start GIN (company fields only); none for a fuzzy OR whose terms'
    prefilters keep most rows (`every_term_prefiltered`)."""
    if label in UNTRIGRAMMED_TEXT:
        word_starts = word_start_index(entity, key)
        return (word_starts,) if word_starts else ()
    if label == "fuzzy or" and (hit or not every_term_prefiltered(text)):
        return ()
    return (trigram_index(entity, key),)


def keyword_index(entity: Entity, name: str) -> str:
    table, column = _table(entity, name)
    kind = FIELDS_BY_ENTITY[entity][name].kind
    return f"vql_{table}_{column}_{'any' if kind is FieldKind.KEYWORD_ARRAY else 'lower'}"


def dense_keyword_indexes(entity: Entity, name: str) -> tuple[str, ...]:
    """The indexes an exact count of a common keyword value may read: its lower() btree,
    or the field's sort index read index-only (every entry, no heap: cheaper than fetching
    a tenth of the table; vql/sql.py keeps bounded counts off it)."""
    return (keyword_index(entity, name), *sort_index(entity, name, descending=False))


def _text_where(key: str, text: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"text_matches": {"must": [{"filter_key": key, "text_value": text, **options}]}}


# Every text type on the main text field of each entity; on the other text fields the
# types whose plans differ by field (the fuzzy OR, slop and short forms plan alike).
FULL_MATRIX = frozenset({(Entity.CONTACTS, "title"), (Entity.COMPANIES, "name")})
FIELD_TYPES = frozenset({"exact", "shuffle and", "fuzzy and", "substring"})


def text_shapes(values: Values) -> list[Shape]:
    shapes = []
    for (entity, key), value in values.text.items():
        for label, options in TEXT_TYPES:
            if (entity, key) not in FULL_MATRIX and label not in FIELD_TYPES:
                continue
            for hit in (True, False):
                text = text_value(label, value, hit)
                shapes.append(
                    Shape(
                        f"{entity.value} {key} {label} {'hit' if hit else 'miss'}",
                        entity,
                        {"where": _text_where(key, text, options)},
                        text_indexes(entity, key, label, text, hit),
                    )
                )
    return shapes


def filter_shapes(values: Values) -> list[Shape]:
    """Keywords, ranges, must_not, same-key OR and combinations (contacts and companies)."""
    contacts, companies = Entity.CONTACTS, Entity.COMPANIES
    title = values.text[(contacts, "title")]
    words = _words(title)
    name_words = _words(values.text[(companies, "name")])
    seniority = keyword_index(contacts, "seniority")
    dense_seniority = dense_keyword_indexes(contacts, "seniority")
    title_trgm = trigram_index(contacts, "title")
    created = "vql_contacts_created_sort"
    lo, hi = values.created
    shapes = [
        Shape(
            "contacts keyword scalar hit",
            contacts,
            {"where": {"keyword_match": {"must": {"seniority": values.seniorities[0]}}}},
            dense_seniority,
        ),
        Shape(
            "contacts keyword scalar miss",
            contacts,
            {"where": {"keyword_match": {"must": {"seniority": MISSING_KEYWORD}}}},
            (seniority,),
        ),
        Shape(
            "contacts keyword list",
            contacts,
            {"where": {"keyword_match": {"must": {"seniority": list(values.seniorities)}}}},
            dense_seniority,
        ),
        Shape(
            "contacts keyword city",
            contacts,
            {"where": {"keyword_match": {"must": {"city": values.city}}}},
            dense_keyword_indexes(contacts, "city"),
        ),
        Shape(
            "contacts keyword array hit",
            contacts,
            {"where": {"keyword_match": {"must": {"departments": values.department}}}},
            (keyword_index(contacts, "departments"),),
        ),
        Shape(
            "contacts keyword array miss",
            contacts,
            {"where": {"keyword_match": {"must": {"departments": MISSING_KEYWORD}}}},
            (keyword_index(contacts, "departments"),),
        ),
        Shape(
            "contacts keyword title (text field)",
            contacts,
            {"where": {"keyword_match": {"must": {"title": title}}}},
            dense_keyword_indexes(contacts, "title"),
        ),
        Shape(
            "contacts company keyword array list",
            contacts,
            {"where": {"keyword_match": {"must": {"company_industries": list(values.industries)}}}},
            (keyword_index(contacts, "company_industries"),),
        ),
        Shape(
            "contacts company keyword array miss",
            contacts,
            {"where": {"keyword_match": {"must": {"company_technologies": MISSING_KEYWORD}}}},
            (keyword_index(contacts, "company_technologies"),),
        ),
        Shape(
            "contacts company keyword scalar",
            contacts,
            {"where": {"keyword_match": {"must": {"company_country": values.company_country}}}},
            dense_keyword_indexes(contacts, "company_country"),
        ),
        Shape(
            "contacts range own hit",
            contacts,
            {"where": {"range_query": {"must": {"created_at": {"gte": lo, "lte": hi}}}}},
            (created,),
        ),
        Shape(
            "contacts range own miss",
            contacts,
            {
                "where": {
                    "range_query": {
                        "must": {
                            "created_at": {
                                "gte": values.missing_created[0],
                                "lt": values.missing_created[1],
                            }
                        }
                    }
                }
            },
            (created,),
        ),
        Shape(
            "contacts company range",
            contacts,
            {
                "where": {
                    "range_query": {
                        "must": {
                            "company_employees_count": {
                                "gte": values.employees[0],
                                "lte": values.employees[1],
                            }
                        }
                    }
                }
            },
            ("vql_companies_employees_count_sort", "vql_companies_employees_count_desc_sort"),
        ),
        Shape(
            "contacts must_not keyword",
            contacts,
            {"where": {"keyword_match": {"must_not": {"email_status": values.email_status}}}},
        ),
        Shape(
            "contacts must_not text",
            contacts,
            {
                "where": {
                    "text_matches": {
                        "must_not": [
                            {"filter_key": "title", "text_value": words[0], "search_type": "exact"}
                        ]
                    }
                }
            },
        ),
        Shape(
            "contacts must_not range",
            contacts,
            {"where": {"range_query": {"must_not": {"created_at": {"lt": lo}}}}},
            (created,),
        ),
        Shape(
            "contacts same-key OR",
            contacts,
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {"filter_key": "title", "text_value": words[0]},
                            {"filter_key": "title", "text_value": MISSING_WORD},
                        ]
                    }
                }
            },
            (title_trgm,),
        ),
        Shape(
            "contacts text + keyword + range",
            contacts,
            {
                "where": {
                    "text_matches": {"must": [{"filter_key": "title", "text_value": words[-1]}]},
                    "keyword_match": {"must": {"country": values.country}},
                    "range_query": {"must": {"created_at": {"gte": lo}}},
                }
            },
            (title_trgm, keyword_index(contacts, "country"), created),
        ),
        Shape(
            "contacts company keyword list + title shuffle",
            contacts,
            {
                "where": {
                    "text_matches": {
                        "must": [{"filter_key": "title", "text_value": " ".join(words[:2])}]
                    },
                    "keyword_match": {"must": {"company_industries": list(values.industries)}},
                }
            },
            (title_trgm, keyword_index(contacts, "company_industries")),
        ),
        Shape(
            "contacts fuzzy title + keyword miss",
            contacts,
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {"filter_key": "title", "text_value": _typo(words[0]), "fuzzy": True}
                        ]
                    },
                    "keyword_match": {"must": {"seniority": MISSING_KEYWORD}},
                }
            },
            (title_trgm, seniority),
        ),
        Shape(
            "contacts must text + must_not keyword",
            contacts,
            {
                "where": {
                    "text_matches": {"must": [{"filter_key": "title", "text_value": words[-1]}]},
                    "keyword_match": {"must_not": {"email_status": values.email_status}},
                }
            },
            (title_trgm,),
        ),
        Shape(
            "companies keyword array list",
            companies,
            {"where": {"keyword_match": {"must": {"industries": list(values.industries)}}}},
            (keyword_index(companies, "industries"),),
        ),
        Shape(
            "companies must_not keyword array",
            companies,
            {"where": {"keyword_match": {"must_not": {"industries": values.industries[0]}}}},
        ),
        Shape(
            "companies keyword + range",
            companies,
            {
                "where": {
                    "keyword_match": {"must": {"technologies": values.technology}},
                    "range_query": {"must": {"employees_count": {"gte": values.employees[0]}}},
                }
            },
            (
                keyword_index(companies, "technologies"),
                "vql_companies_employees_count_sort",
                "vql_companies_employees_count_desc_sort",
            ),
        ),
        Shape(
            "companies name shuffle + country",
            companies,
            {
                "where": {
                    "text_matches": {"must": [{"filter_key": "name", "text_value": name_words[0]}]},
                    "keyword_match": {"must": {"country": values.company_country}},
                }
            },
            (trigram_index(companies, "name"), keyword_index(companies, "country")),
        ),
    ]
    return shapes


def sort_index(entity: Entity, name: str, descending: bool) -> tuple[str, ...]:
    """The btree serving ORDER BY `name` (vql/sql.py INDEXED_SORTS), if any: companies'
    nullable keys have a descending one; contacts' are read backwards in two parts; a
    company key of contacts is served by the companies' index."""
    if name == "uuid":
        return (f"{entity.value}_pkey",)
    # A contacts sort on a company key: the companies' index the walk reads (vql/sql.py
    # `walks_companies`).
    table, column = _table(entity, name)
    nullable_desc = {"name", "employees_count", "annual_revenue", "total_funding"}
    indexed = {
        "contacts": {"created_at", "updated_at", *CONTACT_TEXT_SORTS},
        "companies": {
            "name",
            "normalized_domain",
            *FEW_VALUED_COMPANY_SORTS,
            "created_at",
            "updated_at",
            *nullable_desc,
        },
    }[table]
    if column not in indexed:
        return ()
    if descending and table == "companies" and column in nullable_desc:
        return (f"vql_companies_{column}_desc_sort",)
    if table == "contacts":
        column = column.removesuffix("_at")  # vql_contacts_created_sort, …
    return (f"vql_{table}_{column}_sort",)


def _sort_shape_index(entity: Entity, name: str, descending: bool) -> tuple[str, ...]:
    """`sort_index`, but contacts filtered on a country and sorted by a key that lies in
    one read that country's rows in key order (vql/sql.py `_country_scope`)."""
    if entity is Entity.CONTACTS and name in COUNTRY_SCOPED_CONTACT_SORTS:
        return (f"vql_contacts_country_{name}_sort",)
    return sort_index(entity, name, descending)


def sort_shapes(values: Values) -> list[Shape]:
    """Every sortable field, both directions, over a common filter (a keyword hit)."""
    shapes = []
    filters = {
        Entity.CONTACTS: {"keyword_match": {"must": {"country": values.country}}},
        Entity.COMPANIES: {"keyword_match": {"must": {"country": values.company_country}}},
    }
    for entity, fields in FIELDS_BY_ENTITY.items():
        for name, target in fields.items():
            if not target.sortable:
                continue
            for direction in ("asc", "desc"):
                shapes.append(
                    Shape(
                        f"{entity.value} sort {name} {direction}",
                        entity,
                        {
                            "where": filters[entity],
                            "order_by": [{"order_by": name, "order_direction": direction}],
                        },
                        _sort_shape_index(entity, name, direction == "desc"),
                        plan="page",
                    )
                )
    return shapes


def paging_shapes(values: Values) -> list[Shape]:
    newest = [{"order_by": "created_at", "order_direction": "desc"}]
    status = {"keyword_match": {"must": {"email_status": values.email_status}}}
    created = ("vql_contacts_created_sort",)
    return [
        Shape(
            "contacts populate company",
            Entity.CONTACTS,
            {
                "where": {"range_query": {"must": {"created_at": {"gte": values.created[0]}}}},
                "order_by": newest,
                "company_config": {"populate": True, "select_columns": ["name", "website"]},
            },
            created,
            plan="page",
        ),
        Shape(
            "contacts deep page search_after x20 (limit 100)",
            Entity.CONTACTS,
            {"where": status, "order_by": newest, "limit": 100},
            created,
            deep_pages=20,
            plan="page",
        ),
        Shape(
            "contacts deep page number 40",
            Entity.CONTACTS,
            {"where": status, "order_by": newest, "page": 40},
            created,
            plan="page",
        ),
        Shape(
            "companies deep page search_after x20",
            Entity.COMPANIES,
            {
                "where": {"keyword_match": {"must": {"industries": values.industries[0]}}},
                "order_by": [{"order_by": "employees_count", "order_direction": "desc"}],
            },
            ("vql_companies_employees_count_desc_sort",),
            deep_pages=20,
            plan="page",
        ),
        Shape("contacts no filter", Entity.CONTACTS, {}, ("contacts_pkey",), plan="page"),
        *(
            Shape(
                f"contacts resume at 90% of last_name {direction}{label}",
                Entity.CONTACTS,
                {"order_by": [{"order_by": "last_name", "order_direction": direction}], **where},
                ("vql_contacts_last_name_sort",),
                resume_at=0.9,
                plan="page",
            )
            for direction in ("asc", "desc")
            for label, where in (("", {}), (" + keyword", {"where": status}))
        ),
    ]


def generate(values: Values) -> list[Shape]:
    return [
        *text_shapes(values),
        *filter_shapes(values),
        *sort_shapes(values),
        *paging_shapes(values),
    ]


def example_values() -> Values:
    """Values of the generated sample data (connectra.local.sample), without a database:
    for the DSL benchmark's mix and the plan tests."""
    return Values(
        text={
            (Entity.CONTACTS, "title"): "Senior Software Engineer",
            (Entity.CONTACTS, "first_name"): "Jennifer",
            (Entity.CONTACTS, "last_name"): "Rodriguez",
            (Entity.CONTACTS, "email"): "jennifer.rodriguez12@acmelabs3.com",
            (Entity.CONTACTS, "company_name"): "Globex Initech Labs",
            (Entity.COMPANIES, "name"): "Globex Initech Labs",
            (Entity.COMPANIES, "website"): "https://www.globexinitech3.com",
            (Entity.COMPANIES, "address"): "1234 Walker Street",
        },
        seniorities=("senior", "director"),
        department="engineering",
        email_status="verified",
        country="united states",
        city="austin",
        industries=("computer software", "internet"),
        technology="python",
        company_country="germany",
        employees=(50, 500),
        created=("2023-06-01", "2023-06-08"),
    )
