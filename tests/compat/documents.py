"""The request examples of the reference documents, copied as written there.

README = connectra-readme.md, API_README = connectra-api-readme.md,
SYSTEM = connectra-system.md (all in ../shared/reference/).
"""

from __future__ import annotations

from typing import Any

# README, "Custom Query Language (VQL)": the full VQL example.
README_VQL: dict[str, Any] = {
    "where": {
        "text_matches": {
            "must": [
                {
                    "filter_key": "title",
                    "text_value": "Software Engineer",
                    "search_type": "shuffle",
                    "fuzzy": True,
                    "operator": "and",
                }
            ],
            "must_not": [{"filter_key": "title", "text_value": "Intern", "search_type": "exact"}],
        },
        "keyword_match": {
            "must": {"seniority": ["senior", "lead", "principal"], "country": "united states"},
            "must_not": {"email_status": "invalid"},
        },
        "range_query": {
            "must": {
                "company_employees_count": {"gte": 100, "lte": 5000},
                "company_annual_revenue": {"gte": 1000000},
            }
        },
    },
    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
    "page": 1,
    "limit": 25,
    "select_columns": ["first_name", "last_name", "email", "title"],
    "company_config": {"populate": True, "select_columns": ["name", "website", "industries"]},
}

# API_README, "1. VQL - Vivek Query Language".
API_README_VQL: dict[str, Any] = {
    "where": {
        "text_matches": {
            "must": [
                {
                    "filter_key": "title",
                    "text_value": "Software Engineer",
                    "search_type": "shuffle",
                    "fuzzy": True,
                }
            ]
        },
        "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "united states"}},
        "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 1000}}},
    },
    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
    "page": 1,
    "limit": 25,
    "company_config": {"populate": True, "select_columns": ["name", "website", "industries"]},
}

# README, search types table: (search_type, text_value, a title it finds).
README_SEARCH_TYPES: list[tuple[str, str, str]] = [
    ("exact", "Senior Engineer", "Senior Software Engineer"),
    ("shuffle", "Engineer Senior", "Senior Software Engineer"),
    ("substring", "Eng", "Engineering Manager"),
]

# SYSTEM, "Job Tracking Example": `POST /common/jobs`.
SYSTEM_JOB_LIST: dict[str, Any] = {"status": ["processing", "completed", "failed"], "limit": 10}

# SYSTEM, "Authentication" and "Rate Limiting": the documented error bodies.
SYSTEM_UNAUTHORIZED = {"error": "unauthorized", "message": "invalid API key"}
SYSTEM_RATE_LIMITED = {
    "error": "rate limit exceeded",
    "message": "too many requests, please try again later",
}
# README, "Centralized Error Definitions".
README_PAGE_SIZE_EXCEEDED = "page size exceeds maximum limit"

# Route tables of the three documents: (method, path with sample parameters, document).
ROUTE_TABLES: list[tuple[str, str, str]] = [
    ("POST", "/contacts/filter", "API_README"),
    ("POST", "/contacts/count", "API_README"),
    ("POST", "/companies/filter", "API_README"),
    ("POST", "/companies/count", "API_README"),
    ("GET", "/common/filters/contacts", "API_README"),
    ("POST", "/common/filters/contacts/data", "API_README"),
    ("GET", "/health", "API_README"),
    ("POST", "/contacts/", "README"),
    ("POST", "/companies/", "README"),
    ("GET", "/common/contacts/filters", "README"),
    ("POST", "/common/companies/filters/data", "README"),
    ("POST", "/common/jobs", "README"),
]
