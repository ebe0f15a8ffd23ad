"""The VQL conformance cases: data, shared by every engine.

Each case: `name`, `entity`, `vql` (the request body) and `expected`, the short ids of the
fixture records (`fixture.py`) the query returns, in order. Optional: `walk` (page through
the whole result with search_after at this page size: same ids, no gaps or repeats),
`columns` (exact keys of each returned row), `companies` (contact → its populated company
short id, or None) and `company_columns` (exact keys of a populated company).

The expectations were written from the semantics of `connectra.vql.ast` and checked by
hand against the fixture; engines must return exactly these.
"""

from __future__ import annotations

from typing import Any

CASES: list[dict[str, Any]] = [
    {
        "name": "exact_phrase_in_order",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "software engineer",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct19"],
    },
    {
        "name": "exact_is_case_insensitive",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "SENIOR SOFTWARE ENGINEER",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct19"],
    },
    {
        "name": "exact_word_order_matters",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "engineer software",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct16"],
    },
    {
        "name": "exact_with_slop_allows_gaps",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "senior engineer",
                            "search_type": "exact",
                            "slop": 1,
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct07", "ct19"],
    },
    {
        "name": "exact_without_slop_needs_adjacency",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "senior engineer",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "exact_single_word",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "intern", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct12", "ct13"],
    },
    {
        "name": "exact_is_accent_insensitive",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "first_name", "text_value": "jose", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct03"],
    },
    {
        "name": "exact_accented_query_matches_plain",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "first_name", "text_value": "Sören", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct05"],
    },
    {
        "name": "exact_punctuation_separates_words",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "co founder", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct18"],
    },
    {
        "name": "exact_on_company_name",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "name",
                            "text_value": "societe generale",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["co05"],
    },
    {
        "name": "shuffle_and_any_order",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "engineer senior",
                            "search_type": "shuffle",
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct07", "ct16", "ct19"],
    },
    {
        "name": "shuffle_is_default_search_type",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "software engineer"}]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct16", "ct19"],
    },
    {
        "name": "shuffle_or_any_word",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "scientist recruiter",
                            "operator": "or",
                        }
                    ]
                }
            }
        },
        "expected": ["ct06", "ct21"],
    },
    {
        "name": "shuffle_and_needs_every_word",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "scientist recruiter",
                            "operator": "and",
                        }
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "shuffle_whole_words_only",
        "entity": "contacts",
        "vql": {
            "where": {"text_matches": {"must": [{"filter_key": "title", "text_value": "engineer"}]}}
        },
        "expected": ["ct01", "ct02", "ct07", "ct14", "ct16", "ct19", "ct22", "ct24"],
    },
    {
        "name": "shuffle_fuzzy_finds_typos",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "softwre enginer", "fuzzy": True}
                    ]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct16", "ct19", "ct20"],
    },
    {
        "name": "shuffle_not_fuzzy_misses_typos",
        "entity": "contacts",
        "vql": {
            "where": {"text_matches": {"must": [{"filter_key": "title", "text_value": "enginer"}]}}
        },
        "expected": ["ct20"],
    },
    {
        "name": "shuffle_fuzzy_one_edit_for_short_terms",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "last_name", "text_value": "smyth", "fuzzy": True}]
                }
            }
        },
        "expected": ["ct01", "ct24"],
    },
    {
        "name": "shuffle_fuzzy_two_edits_for_long_terms",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "last_name", "text_value": "jonsen", "fuzzy": True}]
                }
            }
        },
        "expected": ["ct09"],
    },
    {
        "name": "shuffle_fuzzy_no_edits_for_two_letters",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "vq", "fuzzy": True}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "shuffle_fuzzy_three_edits_is_too_many",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "engxxxeer", "fuzzy": True}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "shuffle_fuzzy_or",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "scientst recruter",
                            "fuzzy": True,
                            "operator": "or",
                        }
                    ]
                }
            }
        },
        "expected": ["ct06", "ct21"],
    },
    {
        "name": "shuffle_on_company_name",
        "entity": "companies",
        "vql": {
            "where": {"text_matches": {"must": [{"filter_key": "name", "text_value": "cafe"}]}}
        },
        "expected": ["co05"],
    },
    {
        "name": "substring_inside_words",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "eng", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": [
            "ct01",
            "ct02",
            "ct03",
            "ct04",
            "ct07",
            "ct13",
            "ct14",
            "ct16",
            "ct19",
            "ct20",
            "ct22",
            "ct24",
        ],
    },
    {
        "name": "substring_each_term_contained",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "ware eng",
                            "search_type": "substring",
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct13", "ct16", "ct19"],
    },
    {
        "name": "substring_case_and_accents",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "last_name",
                            "text_value": "MULL",
                            "search_type": "substring",
                        }
                    ]
                }
            }
        },
        "expected": ["ct04"],
    },
    {
        "name": "substring_on_email",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "email", "text_value": "@globex", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct02", "ct08", "ct18"],
    },
    {
        "name": "substring_short_is_word_prefix",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "in", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct12", "ct13"],
    },
    {
        "name": "substring_short_after_punctuation",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "last_name", "text_value": "br", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct08", "ct18"],
    },
    {
        "name": "substring_like_wildcards_are_literal",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "e_r", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "substring_short_with_punctuation",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "last_name", "text_value": "o'", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct18"],
    },
    {
        "name": "substring_on_company_field",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "company_name",
                            "text_value": "tech",
                            "search_type": "substring",
                        }
                    ]
                }
            }
        },
        "expected": ["ct03", "ct09", "ct19", "ct24"],
    },
    {
        "name": "same_key_conditions_are_ored",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "data scientist",
                            "search_type": "exact",
                        },
                        {"filter_key": "title", "text_value": "recruiter"},
                    ]
                }
            }
        },
        "expected": ["ct06", "ct21"],
    },
    {
        "name": "different_keys_are_anded",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "engineer"},
                        {"filter_key": "last_name", "text_value": "smith"},
                    ]
                }
            }
        },
        "expected": ["ct01", "ct24"],
    },
    {
        "name": "must_not_text_excludes",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "engineer"}],
                    "must_not": [
                        {"filter_key": "title", "text_value": "senior", "search_type": "exact"}
                    ],
                }
            }
        },
        "expected": ["ct02", "ct14", "ct22", "ct24"],
    },
    {
        "name": "must_not_any_of_several",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "engineer"}],
                    "must_not": [
                        {"filter_key": "title", "text_value": "senior"},
                        {"filter_key": "title", "text_value": "qa"},
                    ],
                }
            }
        },
        "expected": ["ct02", "ct14", "ct22"],
    },
    {
        "name": "must_not_alone",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must_not": [
                        {"filter_key": "title", "text_value": "eng", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": [
            "ct05",
            "ct06",
            "ct08",
            "ct09",
            "ct10",
            "ct11",
            "ct12",
            "ct15",
            "ct17",
            "ct18",
            "ct21",
            "ct23",
            "ct26",
            "ct27",
            "ct28",
            "ct29",
            "ct30",
            "ct31",
        ],
        "walk": 5,
    },
    {
        "name": "must_not_keeps_null_values",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must_not": {"email_status": "verified"}}}},
        "expected": ["ct03", "ct05", "ct07", "ct09", "ct12", "ct16", "ct19", "ct20"],
    },
    {
        "name": "keyword_single_value",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"seniority": "senior"}}}},
        "expected": ["ct01", "ct06", "ct07", "ct09", "ct14", "ct16", "ct19", "ct22", "ct29"],
    },
    {
        "name": "keyword_list_is_any_of",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"seniority": ["vp", "c_suite", "owner"]}}}},
        "expected": ["ct05", "ct11", "ct15", "ct18"],
    },
    {
        "name": "keyword_is_case_insensitive",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"country": "UNITED KINGDOM"}}}},
        "expected": ["ct06", "ct13", "ct22"],
    },
    {
        "name": "keyword_is_accent_sensitive",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"first_name": "jose"}}}},
        "expected": [],
    },
    {
        "name": "keyword_whole_value_only",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"title": "software engineer"}}}},
        "expected": ["ct02"],
    },
    {
        "name": "keyword_array_any_element",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"departments": "product"}}}},
        "expected": ["ct03", "ct08", "ct09", "ct17"],
    },
    {
        "name": "keyword_array_list",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"departments": ["sales", "marketing"]}}}},
        "expected": ["ct10", "ct11", "ct12", "ct23", "ct30"],
    },
    {
        "name": "keyword_array_must_not",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {
                    "must": {"seniority": "senior"},
                    "must_not": {"departments": "data"},
                }
            }
        },
        "expected": ["ct01", "ct09", "ct14", "ct16", "ct19", "ct22", "ct29"],
    },
    {
        "name": "keyword_two_keys_and",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {"must": {"seniority": "senior", "country": "united states"}}
            }
        },
        "expected": ["ct01", "ct07", "ct09", "ct19"],
    },
    {
        "name": "keyword_uuid_field",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {"must": {"company_id": ["a0000000-0000-4000-8000-000000000002"]}}
            }
        },
        "expected": ["ct02", "ct08", "ct18"],
    },
    {
        "name": "keyword_company_array",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"company_technologies": "aws"}}}},
        "expected": ["ct01", "ct05", "ct07", "ct11", "ct17", "ct20", "ct23"],
    },
    {
        "name": "keyword_company_industries_on_companies",
        "entity": "companies",
        "vql": {"where": {"keyword_match": {"must": {"industries": "computer software"}}}},
        "expected": ["co01", "co03", "co08"],
    },
    {
        "name": "keyword_must_not_company_field",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {
                    "must": {"seniority": "senior"},
                    "must_not": {"company_country": "united states"},
                }
            }
        },
        "expected": ["ct06", "ct14", "ct16", "ct22", "ct29"],
    },
    {
        "name": "range_number_gte_lte",
        "entity": "companies",
        "vql": {"where": {"range_query": {"must": {"employees_count": {"gte": 50, "lte": 800}}}}},
        "expected": ["co01", "co03", "co06", "co08", "co10"],
    },
    {
        "name": "range_number_gt_lt",
        "entity": "companies",
        "vql": {"where": {"range_query": {"must": {"employees_count": {"gt": 50, "lt": 800}}}}},
        "expected": ["co03", "co10"],
    },
    {
        "name": "range_float_bound",
        "entity": "companies",
        "vql": {"where": {"range_query": {"must": {"employees_count": {"gte": 199.5}}}}},
        "expected": ["co02", "co03", "co04", "co06", "co10", "co11"],
    },
    {
        "name": "range_must_not_number",
        "entity": "companies",
        "vql": {"where": {"range_query": {"must_not": {"total_funding": {"gt": 0}}}}},
        "expected": ["co01", "co04", "co05", "co08", "co10", "co11"],
    },
    {
        "name": "range_date",
        "entity": "contacts",
        "vql": {
            "where": {
                "range_query": {"must": {"created_at": {"gte": "2024-04-01", "lt": "2024-05-01"}}}
            }
        },
        "expected": ["ct08", "ct09", "ct10"],
    },
    {
        "name": "range_datetime_with_zone",
        "entity": "contacts",
        "vql": {
            "where": {"range_query": {"must": {"created_at": {"gt": "2024-03-09T23:00:00-02:00"}}}},
            "limit": 3,
        },
        "expected": ["ct08", "ct09", "ct10"],
    },
    {
        "name": "range_must_not_date",
        "entity": "contacts",
        "vql": {"where": {"range_query": {"must_not": {"created_at": {"gte": "2024-01-01"}}}}},
        "expected": ["ct04", "ct05", "ct15", "ct18"],
    },
    {
        "name": "range_company_employees",
        "entity": "contacts",
        "vql": {
            "where": {
                "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 5000}}}
            }
        },
        "expected": [
            "ct02",
            "ct03",
            "ct04",
            "ct05",
            "ct08",
            "ct09",
            "ct11",
            "ct14",
            "ct18",
            "ct19",
            "ct20",
            "ct24",
            "ct26",
            "ct29",
        ],
        "walk": 5,
    },
    {
        "name": "range_company_revenue_and_keyword",
        "entity": "contacts",
        "vql": {
            "where": {
                "range_query": {"must": {"company_annual_revenue": {"gte": 100000000}}},
                "keyword_match": {"must": {"seniority": ["senior", "vp"]}},
            }
        },
        "expected": ["ct11", "ct14"],
    },
    {
        "name": "text_keyword_range_together",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {"must": [{"filter_key": "title", "text_value": "engineer"}]},
                "keyword_match": {"must": {"email_status": "verified"}},
                "range_query": {"must": {"created_at": {"gte": "2024-05-01"}}},
            }
        },
        "expected": ["ct14", "ct22", "ct24"],
    },
    {
        "name": "reference_example_query",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "software engineer",
                            "search_type": "shuffle",
                            "fuzzy": True,
                            "operator": "and",
                        }
                    ],
                    "must_not": [
                        {"filter_key": "title", "text_value": "intern", "search_type": "exact"}
                    ],
                },
                "keyword_match": {
                    "must": {"seniority": ["senior", "lead", "entry"]},
                    "must_not": {"email_status": "invalid"},
                },
                "range_query": {"must": {"company_employees_count": {"gte": 10, "lte": 5000}}},
            }
        },
        "expected": ["ct01", "ct02", "ct16", "ct20"],
    },
    {
        "name": "empty_query_lists_live_rows",
        "entity": "companies",
        "vql": {},
        "expected": [
            "co01",
            "co02",
            "co03",
            "co04",
            "co05",
            "co06",
            "co07",
            "co08",
            "co10",
            "co11",
        ],
    },
    {
        "name": "deleted_rows_never_match",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"email": "ghost@acme.com"}}}},
        "expected": [],
    },
    {
        "name": "deleted_company_fields_are_null",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"company_name": "ghost corp"}}}},
        "expected": [],
    },
    {
        "name": "sort_date_desc_ties_by_uuid",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": "senior"}}},
            "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
        },
        "expected": ["ct29", "ct22", "ct19", "ct16", "ct14", "ct09", "ct07", "ct06", "ct01"],
    },
    {
        "name": "sort_date_asc_ties_by_uuid",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": "senior"}}},
            "order_by": [{"order_by": "created_at", "order_direction": "asc"}],
        },
        "expected": ["ct01", "ct06", "ct07", "ct09", "ct14", "ct16", "ct19", "ct22", "ct29"],
    },
    {
        "name": "sort_text_code_point_order",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"country": "united states"}}},
            "order_by": [{"order_by": "last_name"}],
        },
        "expected": [
            "ct08",
            "ct07",
            "ct02",
            "ct03",
            "ct21",
            "ct09",
            "ct23",
            "ct17",
            "ct18",
            "ct19",
            "ct01",
            "ct24",
        ],
        "walk": 5,
    },
    {
        "name": "sort_number_nulls_last_desc",
        "entity": "companies",
        "vql": {"order_by": [{"order_by": "employees_count", "order_direction": "desc"}]},
        "expected": [
            "co04",
            "co11",
            "co02",
            "co06",
            "co10",
            "co03",
            "co08",
            "co01",
            "co05",
            "co07",
        ],
        "walk": 3,
    },
    {
        "name": "sort_number_nulls_last_asc",
        "entity": "companies",
        "vql": {"order_by": [{"order_by": "employees_count", "order_direction": "asc"}]},
        "expected": [
            "co05",
            "co01",
            "co08",
            "co03",
            "co10",
            "co06",
            "co02",
            "co11",
            "co04",
            "co07",
        ],
    },
    {
        # DESC NULLS LAST on a nullable text field with an ascending index: the non-NULL
        # values backwards, then the NULL rows by uuid (vql/sql.py `_nulls_apart_rows`).
        "name": "sort_text_desc_nulls_last_unfiltered",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "state", "order_direction": "desc"}], "limit": 50},
        "expected": [
            "ct15",
            "ct10",
            "ct29",
            "ct16",
            "ct24",
            "ct19",
            "ct09",
            "ct03",
            "ct20",
            "ct11",
            "ct05",
            "ct18",
            "ct08",
            "ct02",
            "ct22",
            "ct13",
            "ct06",
            "ct23",
            "ct21",
            "ct17",
            "ct07",
            "ct01",
            "ct14",
            "ct04",
            "ct31",
            "ct30",
            "ct28",
            "ct27",
            "ct26",
            "ct12",
        ],
        "walk": 4,
    },
    {
        "name": "sort_text_desc_nulls_last_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"departments": "engineering"}}},
            "order_by": [{"order_by": "email", "order_direction": "desc"}],
        },
        "expected": [
            "ct04",
            "ct07",
            "ct29",
            "ct05",
            "ct19",
            "ct13",
            "ct20",
            "ct14",
            "ct03",
            "ct01",
            "ct02",
            "ct26",
            "ct22",
            "ct16",
            "ct24",
            "ct31",
            "ct28",
            "ct27",
        ],
        "walk": 3,
    },
    {
        "name": "sort_keyword_desc_nulls_last_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "entry"]}}},
            "order_by": [{"order_by": "state", "order_direction": "desc"}],
        },
        "expected": [
            "ct10",
            "ct29",
            "ct16",
            "ct24",
            "ct19",
            "ct09",
            "ct20",
            "ct02",
            "ct22",
            "ct06",
            "ct21",
            "ct07",
            "ct01",
            "ct14",
            "ct31",
            "ct28",
        ],
        "walk": 2,
    },
    {
        "name": "sort_keyword_desc_nulls_last_uuid_asc",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "entry"]}}},
            "order_by": [
                {"order_by": "state", "order_direction": "desc"},
                {"order_by": "uuid", "order_direction": "asc"},
            ],
        },
        "expected": [
            "ct10",
            "ct16",
            "ct29",
            "ct09",
            "ct19",
            "ct24",
            "ct20",
            "ct02",
            "ct06",
            "ct22",
            "ct01",
            "ct07",
            "ct21",
            "ct14",
            "ct28",
            "ct31",
        ],
        "walk": 3,
    },
    # ASC on a nullable key after a cursor with a value: the rows with a value from the
    # cursor on, then the NULL rows by uuid, two index ranges (vql/sql.py
    # `reads_nulls_apart`), not the index read from its start.
    {
        "name": "sort_text_asc_nulls_last_unfiltered",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "state", "order_direction": "asc"}], "limit": 50},
        "expected": [
            "ct04",
            "ct14",
            "ct01",
            "ct07",
            "ct17",
            "ct21",
            "ct23",
            "ct06",
            "ct13",
            "ct22",
            "ct02",
            "ct08",
            "ct18",
            "ct05",
            "ct11",
            "ct20",
            "ct03",
            "ct09",
            "ct19",
            "ct24",
            "ct16",
            "ct29",
            "ct10",
            "ct15",
            "ct12",
            "ct26",
            "ct27",
            "ct28",
            "ct30",
            "ct31",
        ],
        "walk": 4,
    },
    {
        "name": "sort_keyword_asc_nulls_last_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "entry"]}}},
            "order_by": [{"order_by": "state", "order_direction": "asc"}],
        },
        "expected": [
            "ct14",
            "ct01",
            "ct07",
            "ct21",
            "ct06",
            "ct22",
            "ct02",
            "ct20",
            "ct09",
            "ct19",
            "ct24",
            "ct16",
            "ct29",
            "ct10",
            "ct28",
            "ct31",
        ],
        "walk": 2,
    },
    {
        "name": "sort_keyword_asc_nulls_last_uuid_desc",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "entry"]}}},
            "order_by": [
                {"order_by": "state", "order_direction": "asc"},
                {"order_by": "uuid", "order_direction": "desc"},
            ],
        },
        "expected": [
            "ct14",
            "ct21",
            "ct07",
            "ct01",
            "ct22",
            "ct06",
            "ct02",
            "ct20",
            "ct24",
            "ct19",
            "ct09",
            "ct29",
            "ct16",
            "ct10",
            "ct31",
            "ct28",
        ],
        "walk": 3,
    },
    {
        "name": "sort_text_asc_nulls_last_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"departments": "engineering"}}},
            "order_by": [{"order_by": "email", "order_direction": "asc"}],
        },
        "expected": [
            "ct24",
            "ct16",
            "ct22",
            "ct26",
            "ct02",
            "ct01",
            "ct03",
            "ct14",
            "ct20",
            "ct13",
            "ct19",
            "ct05",
            "ct29",
            "ct07",
            "ct04",
            "ct27",
            "ct28",
            "ct31",
        ],
        "walk": 3,
    },
    {
        "name": "companies_sort_name_asc_nulls_last_walk",
        "entity": "companies",
        "vql": {"order_by": [{"order_by": "name", "order_direction": "asc"}]},
        "expected": [
            "co01",
            "co02",
            "co03",
            "co05",
            "co06",
            "co04",
            "co07",
            "co08",
            "co10",
            "co11",
        ],
        "walk": 3,
    },
    {
        "name": "sort_two_keys",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"departments": "engineering"}}},
            "order_by": [
                {"order_by": "country"},
                {"order_by": "created_at", "order_direction": "desc"},
            ],
        },
        "expected": [
            "ct20",
            "ct05",
            "ct14",
            "ct04",
            "ct29",
            "ct16",
            "ct28",
            "ct22",
            "ct13",
            "ct24",
            "ct19",
            "ct07",
            "ct03",
            "ct02",
            "ct01",
            "ct27",
            "ct26",
            "ct31",
        ],
        "walk": 3,
    },
    # Contacts sorted on a company field: the probe walks the companies in that order
    # (vql/sql.py `walks_companies`); expected ids from the plain ORDER BY path.
    {
        "name": "sort_by_company_name_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"departments": "engineering"}}},
            "order_by": [{"order_by": "company_name"}],
        },
        "expected": [
            "ct01",
            "ct07",
            "ct02",
            "ct03",
            "ct19",
            "ct24",
            "ct05",
            "ct20",
            "ct04",
            "ct14",
            "ct13",
            "ct22",
            "ct16",
            "ct26",
            "ct29",
            "ct27",
            "ct28",
            "ct31",
        ],
        "walk": 3,
    },
    {
        "name": "sort_by_company_number_with_ties",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "company_employees_count"}], "limit": 50},
        "expected": [
            "ct10",
            "ct15",
            "ct01",
            "ct07",
            "ct16",
            "ct17",
            "ct23",
            "ct03",
            "ct09",
            "ct19",
            "ct24",
            "ct26",
            "ct05",
            "ct11",
            "ct20",
            "ct02",
            "ct08",
            "ct18",
            "ct29",
            "ct04",
            "ct14",
            "ct06",
            "ct12",
            "ct13",
            "ct21",
            "ct22",
            "ct27",
            "ct28",
            "ct30",
            "ct31",
        ],
        "walk": 4,
    },
    {
        "name": "sort_by_company_number_desc_company_range",
        "entity": "contacts",
        "vql": {
            "where": {"range_query": {"must": {"company_employees_count": {"gte": 10}}}},
            "order_by": [{"order_by": "company_annual_revenue", "order_direction": "desc"}],
            "limit": 50,
        },
        "expected": [
            "ct14",
            "ct04",
            "ct18",
            "ct08",
            "ct02",
            "ct20",
            "ct11",
            "ct05",
            "ct24",
            "ct19",
            "ct09",
            "ct03",
            "ct23",
            "ct17",
            "ct07",
            "ct01",
            "ct16",
            "ct15",
            "ct10",
            "ct29",
            "ct26",
        ],
        "walk": 5,
    },
    {
        "name": "sort_by_unindexed_company_keyword_desc",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "company_city", "order_direction": "desc"}], "limit": 50},
        "expected": [
            "ct26",
            "ct20",
            "ct11",
            "ct05",
            "ct29",
            "ct16",
            "ct23",
            "ct17",
            "ct07",
            "ct01",
            "ct15",
            "ct10",
            "ct18",
            "ct08",
            "ct02",
            "ct22",
            "ct13",
            "ct06",
            "ct14",
            "ct04",
            "ct24",
            "ct19",
            "ct09",
            "ct03",
            "ct31",
            "ct30",
            "ct28",
            "ct27",
            "ct21",
            "ct12",
        ],
        "walk": 4,
    },
    # Companies by domain: its sort index (migration 0015), both ways; expected ids from
    # the plain ORDER BY path.
    {
        "name": "sort_companies_by_domain_desc",
        "entity": "companies",
        "vql": {
            "order_by": [{"order_by": "normalized_domain", "order_direction": "desc"}],
            "limit": 50,
        },
        "expected": [
            "co07",
            "co04",
            "co11",
            "co06",
            "co10",
            "co03",
            "co02",
            "co05",
            "co01",
            "co08",
        ],
        "walk": 3,
    },
    {
        "name": "sort_companies_by_domain_filtered",
        "entity": "companies",
        "vql": {
            "where": {"keyword_match": {"must_not": {"country": "germany"}}},
            "order_by": [{"order_by": "normalized_domain"}],
        },
        "expected": ["co01", "co05", "co02", "co03", "co10", "co06", "co11", "co07", "co08"],
        "walk": 2,
    },
    # Contacts sorted on a company key with few values: one value's companies at a time,
    # contacts by uuid (vql/sql.py `_GROUP_PROBE`); expected ids from the plain ORDER BY path.
    {
        "name": "sort_by_company_country_filtered",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must_not": {"seniority": "senior"}}},
            "order_by": [{"order_by": "company_country"}],
        },
        "expected": [
            "ct05",
            "ct11",
            "ct20",
            "ct10",
            "ct15",
            "ct04",
            "ct13",
            "ct02",
            "ct03",
            "ct08",
            "ct17",
            "ct18",
            "ct23",
            "ct24",
            "ct26",
            "ct12",
            "ct21",
            "ct27",
            "ct28",
            "ct30",
            "ct31",
        ],
        "walk": 2,
    },
    {
        "name": "sort_by_company_state_desc_uuid_asc",
        "entity": "contacts",
        "vql": {
            "order_by": [
                {"order_by": "company_state", "order_direction": "desc"},
                {"order_by": "uuid", "order_direction": "asc"},
            ],
            "limit": 50,
        },
        "expected": [
            "ct10",
            "ct15",
            "ct16",
            "ct29",
            "ct03",
            "ct09",
            "ct19",
            "ct24",
            "ct05",
            "ct11",
            "ct20",
            "ct02",
            "ct08",
            "ct18",
            "ct06",
            "ct13",
            "ct22",
            "ct01",
            "ct07",
            "ct17",
            "ct23",
            "ct04",
            "ct14",
            "ct12",
            "ct21",
            "ct26",
            "ct27",
            "ct28",
            "ct30",
            "ct31",
        ],
        "walk": 3,
    },
    {
        "name": "sort_by_company_field",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "manager"]}}},
            "order_by": [{"order_by": "company_employees_count", "order_direction": "desc"}],
        },
        "expected": [
            "ct14",
            "ct29",
            "ct08",
            "ct19",
            "ct09",
            "ct03",
            "ct23",
            "ct16",
            "ct07",
            "ct01",
            "ct30",
            "ct22",
            "ct06",
        ],
        "walk": 2,
    },
    {
        "name": "page_two",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "created_at"}], "page": 2, "limit": 5},
        "expected": ["ct02", "ct03", "ct06", "ct07", "ct08"],
    },
    {
        "name": "limit_caps_the_page",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"departments": "engineering"}}}, "limit": 4},
        "expected": ["ct01", "ct02", "ct03", "ct04"],
    },
    {
        "name": "select_columns_projects",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": "vp"}}},
            "select_columns": ["first_name", "email"],
        },
        "expected": ["ct11"],
        "columns": ["uuid", "first_name", "email"],
    },
    {
        "name": "populate_attaches_companies",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["owner", "intern"]}}},
            "select_columns": ["first_name"],
            "company_config": {"populate": True, "select_columns": ["name"]},
        },
        "expected": ["ct12", "ct13", "ct18"],
        "columns": ["uuid", "first_name", "company"],
        "companies": {"ct12": None, "ct13": "co07", "ct18": "co02"},
        "company_columns": ["uuid", "name"],
    },
    {
        "name": "populate_deleted_company_is_null",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"departments": "human resources"}}},
            "company_config": {"populate": True},
        },
        "expected": ["ct21"],
        "companies": {"ct21": None},
    },
    {
        "name": "companies_select_columns",
        "entity": "companies",
        "vql": {
            "where": {"keyword_match": {"must": {"country": "germany"}}},
            "select_columns": ["name", "industries", "employees_count"],
        },
        "expected": ["co04"],
        "columns": ["uuid", "name", "industries", "employees_count"],
    },
    {
        "name": "all_contacts_newest_first",
        "entity": "contacts",
        "vql": {"order_by": [{"order_by": "created_at", "order_direction": "desc"}], "limit": 50},
        "expected": [
            "ct31",
            "ct30",
            "ct29",
            "ct28",
            "ct27",
            "ct26",
            "ct24",
            "ct23",
            "ct22",
            "ct21",
            "ct20",
            "ct19",
            "ct17",
            "ct16",
            "ct14",
            "ct13",
            "ct12",
            "ct11",
            "ct10",
            "ct09",
            "ct08",
            "ct07",
            "ct06",
            "ct03",
            "ct02",
            "ct01",
            "ct04",
            "ct05",
            "ct15",
            "ct18",
        ],
        "walk": 4,
    },
    {
        "name": "substring_terms_anywhere_in_any_order",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "soft eng",
                            "search_type": "substring",
                        }
                    ]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct13", "ct16", "ct19", "ct20"],
    },
    {
        "name": "substring_terms_or",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "scien recruit",
                            "search_type": "substring",
                            "operator": "or",
                        }
                    ]
                }
            }
        },
        "expected": ["ct06", "ct21"],
    },
    {
        "name": "substring_short_term_is_word_prefix_among_terms",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "eng in", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct13"],
    },
    {
        "name": "shuffle_fuzzy_transposition_is_one_edit",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "slaes", "fuzzy": True}]
                }
            }
        },
        "expected": ["ct11"],
    },
    {
        "name": "shuffle_fuzzy_transposition_and_substitution",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "engienre", "fuzzy": True}]
                }
            }
        },
        "expected": ["ct01", "ct02", "ct07", "ct14", "ct16", "ct19", "ct20", "ct22", "ct24"],
    },
    {
        # A long term: its rows come through its pieces "eni", "nee", "rng" (a left-out
        # letter between each; vql/fuzzy_sql.py intact_pieces). Two swaps, each with a
        # left-out letter, turn it into "engineering", which holds only "nee" whole.
        "name": "shuffle_fuzzy_long_term_two_swaps_at_the_pieces_edges",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "enigneeirng", "fuzzy": True}]
                }
            }
        },
        "expected": ["ct03", "ct04", "ct13"],
    },
    {
        "name": "shuffle_fuzzy_long_term_three_swaps_is_too_many",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "enigneeirgn", "fuzzy": True}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "shuffle_fuzzy_long_term_swap_over_a_left_out_letter",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "Site reliabiltiy", "fuzzy": True}
                    ]
                }
            }
        },
        "expected": ["ct14"],
    },
    {
        "name": "unicode_exact_cyrillic_phrase",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "главный инженер",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct26"],
    },
    {
        "name": "unicode_shuffle_cyrillic_word_case_insensitive",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {"must": [{"filter_key": "first_name", "text_value": "ИВАН"}]}
            }
        },
        "expected": ["ct26"],
    },
    {
        "name": "unicode_cyrillic_short_i_folds",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "главныи", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct26"],
    },
    {
        "name": "unicode_mixed_scripts_need_every_word",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "last_name",
                            "text_value": "Иван Smith",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "unicode_greek_accent_and_final_sigma",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "διευθυντής λογισμικου",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct27"],
    },
    {
        "name": "unicode_turkish_dotted_and_dotless_i",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "YAZILIM MÜHENDİSİ",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct28"],
    },
    {
        "name": "unicode_turkish_upper_case_words",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {"must": [{"filter_key": "title", "text_value": "satis muduru"}]}
            }
        },
        "expected": ["ct30"],
    },
    {
        "name": "unicode_cjk_characters_are_words",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "エンジニア", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["ct29"],
    },
    {
        # One transposition from `ginza` in 東京都中央区Ginza四丁目: no padded trigram in common
        # with pg_trgm's one word there (models/char_classes.py HOLDS_CJK_PATTERN).
        "name": "unicode_cjk_fuzzy_finds_a_word_against_cjk_characters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "address", "text_value": "gizna", "fuzzy": True}]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_fuzzy_two_edits_beside_cjk_is_too_many",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "address", "text_value": "gizan", "fuzzy": True}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "unicode_cjk_exact_finds_a_word_against_cjk_characters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "address", "text_value": "ginza", "search_type": "exact"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_shuffle_finds_a_word_against_cjk_characters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "address", "text_value": "Ginza", "search_type": "shuffle"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_substring_inside_a_word_against_cjk_characters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "address", "text_value": "inz", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_substring_word_start_against_cjk_characters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "address", "text_value": "gi", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_phrase_order_matters",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "name", "text_value": "京東", "search_type": "exact"}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "unicode_cjk_shuffle_finds_characters",
        "entity": "companies",
        "vql": {
            "where": {"text_matches": {"must": [{"filter_key": "name", "text_value": "会社 東京"}]}}
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_short_substring_anywhere",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "name", "text_value": "電機", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cjk_long_substring",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "name", "text_value": "株式会社", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["co11"],
    },
    {
        "name": "unicode_cyrillic_substring",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "name",
                            "text_value": "ромаш инж",
                            "search_type": "substring",
                        }
                    ]
                }
            }
        },
        "expected": ["co10"],
    },
    {
        "name": "unicode_arabic_word",
        "entity": "contacts",
        "vql": {
            "where": {"text_matches": {"must": [{"filter_key": "title", "text_value": "مهندس"}]}}
        },
        "expected": ["ct31"],
    },
    {
        "name": "unicode_keyword_turkish_case",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"country": ["TÜRKİYE"]}}}},
        "expected": ["ct28", "ct30"],
    },
    {
        "name": "unicode_keyword_accents_significant",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"country": ["turkiye"]}}}},
        "expected": [],
    },
    {
        "name": "unicode_keyword_greek_sigma",
        "entity": "contacts",
        "vql": {"where": {"keyword_match": {"must": {"country": ["ΕΛΛΆΔΑ"]}}}},
        "expected": ["ct27"],
    },
    # A text condition proved to match no row from the field's distinct values
    # (vql/distinct_values.py); test_distinct_values.py runs every case with the walk's
    # bound exceeded as well.
    {
        "name": "distinct_values_exact_miss_of_present_words",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "engineer senior",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "distinct_values_exact_hit_of_one_value",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "SOFTWARE SENIOR",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
        "expected": ["ct16"],
    },
    {
        "name": "distinct_values_short_substring_miss",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "qz", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "distinct_values_short_substring_folds_case_and_accents",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "MÜ", "search_type": "substring"}
                    ]
                }
            }
        },
        "expected": ["ct28", "ct30"],
    },
    {
        "name": "distinct_values_must_not_miss_keeps_null_values",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {"must": {"seniority": "entry"}},
                "text_matches": {
                    "must_not": [
                        {"filter_key": "email", "text_value": "com acme", "search_type": "exact"}
                    ]
                },
            }
        },
        "expected": ["ct02", "ct10", "ct20", "ct21", "ct24", "ct28", "ct31"],
    },
    {
        "name": "distinct_values_or_of_a_miss_and_a_hit",
        "entity": "contacts",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "title", "text_value": "qz", "search_type": "substring"},
                        {"filter_key": "title", "text_value": "recruiter", "search_type": "exact"},
                    ]
                }
            }
        },
        "expected": ["ct21"],
    },
    {
        "name": "distinct_values_value_of_a_deleted_row_only",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "name", "text_value": "ghost", "search_type": "exact"}]
                }
            }
        },
        "expected": [],
    },
    {
        "name": "distinct_values_company_name_miss_and_accent_hit",
        "entity": "companies",
        "vql": {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "name",
                            "text_value": "analytics acme",
                            "search_type": "exact",
                        },
                        {"filter_key": "name", "text_value": "GÉN", "search_type": "substring"},
                    ]
                }
            }
        },
        "expected": ["co05"],
    },
    # Sorted on a key the filter pins to a few values: the pinned value walk (vql/sql.py
    # `_pinned_probe`, vql/pinned_sort.py) pages one raw value at a time by uuid; two raw
    # spellings of one folded value (TÜRKİYE, Türkiye) are two values of the sort.
    {
        "name": "sort_by_country_pinned_by_its_filter",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"country": ["TÜRKİYE", "united states"]}}},
            "order_by": [{"order_by": "country"}],
        },
        "expected": [
            "ct30",
            "ct28",
            "ct01",
            "ct02",
            "ct03",
            "ct07",
            "ct08",
            "ct09",
            "ct17",
            "ct18",
            "ct19",
            "ct21",
            "ct23",
            "ct24",
        ],
        "walk": 3,
    },
    {
        "name": "sort_by_country_desc_pinned_with_another_filter",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {
                    "must": {
                        "country": ["germany", "united states", "canada"],
                        "departments": "engineering",
                    }
                }
            },
            "order_by": [{"order_by": "country", "order_direction": "desc"}],
        },
        "expected": [
            "ct24",
            "ct19",
            "ct07",
            "ct03",
            "ct02",
            "ct01",
            "ct14",
            "ct04",
            "ct20",
            "ct05",
        ],
        "walk": 2,
    },
    {
        "name": "sort_by_seniority_pinned_by_its_filter",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"seniority": ["senior", "manager"]}}},
            "order_by": [{"order_by": "seniority"}],
            "limit": 50,
        },
        "expected": [
            "ct03",
            "ct08",
            "ct23",
            "ct30",
            "ct01",
            "ct06",
            "ct07",
            "ct09",
            "ct14",
            "ct16",
            "ct19",
            "ct22",
            "ct29",
        ],
        "walk": 4,
    },
    {
        "name": "companies_sort_by_country_desc_pinned_by_its_filter",
        "entity": "companies",
        "vql": {
            "where": {
                "keyword_match": {"must": {"country": ["germany", "united states", "japan"]}}
            },
            "order_by": [{"order_by": "country", "order_direction": "desc"}],
        },
        "expected": ["co03", "co02", "co01", "co11", "co08", "co04"],
        "walk": 2,
    },
    # Sorted by a key that lies within a country, filtered on one country: the probe's
    # window is that country's rows in key order (vql/sql.py `_country_scope`).
    {
        "name": "sort_by_city_within_one_country",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"country": "united states"}}},
            "order_by": [{"order_by": "city"}],
        },
        "expected": [
            "ct03",
            "ct09",
            "ct19",
            "ct24",
            "ct02",
            "ct08",
            "ct18",
            "ct01",
            "ct07",
            "ct17",
            "ct21",
            "ct23",
        ],
        "walk": 5,
    },
    {
        "name": "sort_by_state_desc_within_one_country_and_another_filter",
        "entity": "contacts",
        "vql": {
            "where": {
                "keyword_match": {
                    "must": {
                        "country": "united states",
                        "seniority": ["senior", "manager", "entry"],
                    }
                }
            },
            "order_by": [{"order_by": "state", "order_direction": "desc"}],
        },
        "expected": [
            "ct24",
            "ct19",
            "ct09",
            "ct03",
            "ct08",
            "ct02",
            "ct23",
            "ct21",
            "ct07",
            "ct01",
        ],
        "walk": 3,
    },
    {
        "name": "sort_by_state_desc_within_one_country_all_missing",
        "entity": "contacts",
        "vql": {
            "where": {"keyword_match": {"must": {"country": "TÜRKİYE"}}},
            "order_by": [{"order_by": "state", "order_direction": "desc"}],
        },
        "expected": ["ct30", "ct28"],
        "walk": 1,
    },
]
