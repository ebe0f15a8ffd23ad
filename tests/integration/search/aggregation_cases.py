"""Aggregation conformance cases over the VQL fixture (fixture.py).

Every case runs on each engine (PostgreSQL for real, the OpenSearch DSL through the fake
cluster) and must equal the reference evaluator (`connectra.vql.aggregation_evaluate`).
`expected`, where given, pins the answer by hand as well (so the evaluator itself is
checked): the live contacts are ct01-ct24 (ct25 is soft-deleted), ct12 has
no company, ct21's company co09 is soft-deleted, so both have no `company_` values.
"""

from __future__ import annotations

from typing import Any

EMPLOYEE_RANGES = [{"lt": 50}, {"gte": 50, "lt": 500}, {"gte": 500}]

AGGREGATION_CASES: list[dict[str, Any]] = [
    {
        "name": "terms_seniority_counts_and_order",
        "entity": "contacts",
        "body": {"aggregations": [{"name": "s", "type": "terms", "field": "seniority", "size": 3}]},
        "expected": {
            "total": 30,
            "aggregations": {
                "s": {
                    "buckets": [
                        {"key": "senior", "count": 9},
                        {"key": "entry", "count": 7},
                        {"key": "director", "count": 4},
                    ],
                    "other_count": 10,
                    "missing_count": 0,
                }
            },
        },
    },
    {
        "name": "terms_ties_break_by_key",
        "entity": "contacts",
        "body": {
            "where": {"keyword_match": {"must": {"country": "united states"}}},
            "aggregations": [{"name": "c", "type": "terms", "field": "city", "size": 2}],
        },
        "expected": {
            "total": 12,
            "aggregations": {
                "c": {
                    "buckets": [
                        {"key": "san francisco", "count": 5},
                        {"key": "austin", "count": 4},
                    ],
                    "other_count": 3,
                    "missing_count": 0,
                }
            },
        },
    },
    {
        "name": "terms_array_counts_each_value_once_per_record",
        "entity": "contacts",
        "body": {
            "aggregations": [{"name": "d", "type": "terms", "field": "departments", "size": 2}]
        },
        "expected": {
            "total": 30,
            "aggregations": {
                "d": {
                    "buckets": [
                        {"key": "engineering", "count": 18},
                        {"key": "product", "count": 4},
                    ],
                    "other_count": 10,
                    "missing_count": 2,
                }
            },
        },
    },
    {
        "name": "terms_company_array_misses_contacts_without_live_company",
        "entity": "contacts",
        "body": {
            "aggregations": [
                {"name": "i", "type": "terms", "field": "company_industries", "size": 1}
            ]
        },
    },
    {
        "name": "terms_text_field_and_small_size",
        "entity": "contacts",
        "body": {
            "where": {
                "text_matches": {"must": [{"filter_key": "title", "text_value": "engineer"}]}
            },
            "aggregations": [{"name": "t", "type": "terms", "field": "title", "size": 1}],
        },
    },
    {
        "name": "terms_uuid_field",
        "entity": "contacts",
        "body": {"aggregations": [{"name": "co", "type": "terms", "field": "company_id"}]},
    },
    {
        "name": "range_company_size_in_request_order",
        "entity": "contacts",
        "body": {
            "aggregations": [
                {
                    "name": "r",
                    "type": "range",
                    "field": "company_employees_count",
                    "ranges": [{"gte": 500}, {"lt": 50}, {"gte": 50, "lt": 500}],
                }
            ]
        },
        "expected": {
            "total": 30,
            "aggregations": {
                "r": {
                    "buckets": [
                        {"gte": 500, "count": 9},
                        {"lt": 50, "count": 2},
                        {"gte": 50, "lt": 500, "count": 10},
                    ]
                }
            },
        },
    },
    {
        "name": "range_overlapping_and_float_bounds",
        "entity": "companies",
        "body": {
            "aggregations": [
                {
                    "name": "r",
                    "type": "range",
                    "field": "employees_count",
                    "ranges": [{"lt": 200.5}, {"gte": 49.5}, {"gte": 200, "lt": 201}],
                }
            ]
        },
    },
    {
        "name": "range_on_dates_echoes_the_strings",
        "entity": "companies",
        "body": {
            "aggregations": [
                {
                    "name": "r",
                    "type": "range",
                    "field": "created_at",
                    "ranges": [{"lt": "2023-01-10"}, {"gte": "2023-01-10T00:00:00+00:00"}],
                }
            ]
        },
        "expected": {
            "total": 10,
            "aggregations": {
                "r": {
                    "buckets": [
                        {"lt": "2023-01-10", "count": 3},
                        {"gte": "2023-01-10T00:00:00+00:00", "count": 7},
                    ]
                }
            },
        },
    },
    {
        "name": "histogram_month_omits_empty_buckets",
        "entity": "contacts",
        "body": {
            "where": {"range_query": {"must": {"created_at": {"gte": "2024-01-01"}}}},
            "aggregations": [
                {"name": "m", "type": "date_histogram", "field": "created_at", "interval": "month"}
            ],
        },
        "expected": {
            "total": 26,
            "aggregations": {
                "m": {
                    "buckets": [
                        {"key": "2024-01-01", "count": 2},
                        {"key": "2024-02-01", "count": 1},
                        {"key": "2024-03-01", "count": 2},
                        {"key": "2024-04-01", "count": 3},
                        {"key": "2024-05-01", "count": 4},
                        {"key": "2024-06-01", "count": 8},
                        {"key": "2024-07-01", "count": 6},
                    ]
                }
            },
        },
    },
    {
        "name": "histogram_week_starts_monday",
        "entity": "contacts",
        "body": {
            "where": {"range_query": {"must": {"created_at": {"lt": "2024-01-08"}}}},
            "aggregations": [
                {"name": "w", "type": "date_histogram", "field": "created_at", "interval": "week"}
            ],
        },
        "expected": {
            "total": 6,
            "aggregations": {
                "w": {
                    "buckets": [
                        {"key": "2020-12-28", "count": 1},
                        {"key": "2022-06-06", "count": 1},
                        {"key": "2023-05-01", "count": 1},
                        {"key": "2023-12-25", "count": 1},  # a Sunday: the week before
                        {"key": "2024-01-01", "count": 2},
                    ]
                }
            },
        },
    },
    {
        "name": "histogram_day_and_year_on_companies",
        "entity": "companies",
        "body": {
            "where": {"range_query": {"must": {"created_at": {"gte": "2024-01-01"}}}},
            "aggregations": [
                {"name": "d", "type": "date_histogram", "field": "created_at", "interval": "day"},
                {"name": "y", "type": "date_histogram", "field": "created_at", "interval": "year"},
            ],
        },
    },
    {
        "name": "three_kinds_together_with_a_company_filter",
        "entity": "contacts",
        "body": {
            "where": {"keyword_match": {"must": {"company_country": "united states"}}},
            "aggregations": [
                {"name": "s", "type": "terms", "field": "seniority", "size": 10},
                {
                    "name": "r",
                    "type": "range",
                    "field": "company_employees_count",
                    "ranges": EMPLOYEE_RANGES,
                },
                {"name": "m", "type": "date_histogram", "field": "created_at", "interval": "month"},
                {"name": "d", "type": "terms", "field": "departments", "size": 1},
                {"name": "e", "type": "terms", "field": "email_status", "size": 1000},
            ],
        },
    },
    {
        "name": "nothing_matches",
        "entity": "contacts",
        "body": {
            "where": {"keyword_match": {"must": {"country": "atlantis"}}},
            "aggregations": [
                {"name": "s", "type": "terms", "field": "seniority"},
                {"name": "d", "type": "terms", "field": "departments"},
                {
                    "name": "r",
                    "type": "range",
                    "field": "created_at",
                    "ranges": [{"lt": "2030-01-01"}],
                },
                {"name": "m", "type": "date_histogram", "field": "created_at", "interval": "year"},
            ],
        },
        "expected": {
            "total": 0,
            "aggregations": {
                "s": {"buckets": [], "other_count": 0, "missing_count": 0},
                "d": {"buckets": [], "other_count": 0, "missing_count": 0},
                "r": {"buckets": [{"lt": "2030-01-01", "count": 0}]},
                "m": {"buckets": []},
            },
        },
    },
    {
        "name": "missing_values_of_a_company_field",
        "entity": "contacts",
        "body": {
            "aggregations": [
                {"name": "c", "type": "terms", "field": "company_city", "size": 2},
                {"name": "e", "type": "terms", "field": "email", "size": 1},
            ]
        },
    },
]
