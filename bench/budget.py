"""The slowest query shapes the VQL budget admits (issue 11 item 2), on 1M contacts.

Every shape sits at a limit of `connectra.vql.budget` (the most fuzzy words, substrings,
words, conditions, keyword values, the deepest page), built to be as expensive as the
budget allows: misspelled fuzzy words (every candidate needs a Levenshtein check), OR'ed
so the index prefilter keeps many rows, must_not conditions no index serves. Each is run
as a search and as a count with the API's statement timeout; the acceptance is p95 under
1 s for each. Baseline in the same run: the plain first page (`{"limit": 25}`), so each
shape is also given as a ratio to it. The data set is bench/search.py's (its builder is
reused, not copied).

    python -m bench.run --only budget            # 1M contacts (built once, then reused)
    python -m bench.run --only budget --quick    # 100k contacts
"""

from __future__ import annotations

import sys
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import machine, results_dir, summary_ms, write_result
from bench.search import ENGINE, SECRET, SIZES, database_url, ensure_loaded
from connectra.models.fields import Entity
from connectra.settings import get_settings
from connectra.vql import budget
from connectra.vql.parse import parse_request

TARGET_P95_MS = 1000.0
FUZZY = budget.LIMITS[budget.FUZZY_TERMS].maximum
SUBSTRINGS = budget.LIMITS[budget.SUBSTRING_CONDITIONS].maximum
WORDS = budget.LIMITS[budget.TERMS_PER_CONDITION].maximum
MISSPELLED = [
    "enginer",
    "managr",
    "directr",
    "markting",
    "softwre",
    "operatons",
    "finacial",
    "securty",
    "architct",
    "recruter",
    "contoller",
    "custmer",
]


def _text(value: str, **options: Any) -> dict[str, Any]:
    return {"filter_key": "title", "text_value": value, **options}


def _shapes() -> list[tuple[str, dict[str, Any]]]:
    fuzzy_words = " ".join(MISSPELLED[:FUZZY])
    substring_fields = {
        "title": "eng",
        "first_name": "ann",
        "last_name": "son",
        "email": "exa",
        "company_name": "tech",
        "company_website": "com",
    }
    many_words = " ".join(
        [
            "software",
            "engineer",
            "senior",
            "manager",
            "data",
            "product",
            "sales",
            "vp",
            "head",
            "chief",
            "officer",
            "lead",
        ][:WORDS]
    )
    return [
        ("baseline: first page", {"limit": 25}),
        (
            f"fuzzy OR, {FUZZY} misspelled words",
            {"where": {"text_matches": {"must": [_text(fuzzy_words, fuzzy=True, operator="or")]}}},
        ),
        (
            f"fuzzy AND, {FUZZY} misspelled words",
            {"where": {"text_matches": {"must": [_text(fuzzy_words, fuzzy=True)]}}},
        ),
        (
            f"fuzzy split over {FUZZY} conditions (OR'ed on one key), sorted by last_name",
            {
                "where": {
                    "text_matches": {
                        "must": [_text(word, fuzzy=True) for word in MISSPELLED[:FUZZY]]
                    }
                },
                "order_by": [{"order_by": "last_name"}],
            },
        ),
        (
            f"{SUBSTRINGS} substring conditions on {SUBSTRINGS} fields",
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {"filter_key": key, "text_value": value, "search_type": "substring"}
                            for key, value in list(substring_fields.items())[:SUBSTRINGS]
                        ]
                    }
                }
            },
        ),
        (
            "1 short substring (2 characters: a word-start match)",
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {
                                "filter_key": "first_name",
                                "text_value": "an",
                                "search_type": "substring",
                            }
                        ]
                    }
                }
            },
        ),
        (
            f"shuffle OR, {WORDS} common words",
            {"where": {"text_matches": {"must": [_text(many_words, operator="or")]}}},
        ),
        (
            "20 must_not text conditions + 10 keyword/range conditions",
            {
                "where": {
                    "text_matches": {
                        "must_not": [
                            _text(word)
                            for word in (
                                "intern",
                                "recruit",
                                "counsel",
                                "office",
                                "controller",
                                "qa",
                                "growth",
                                "talent",
                                "hr",
                                "account",
                                "founder",
                                "analyst",
                                "partner",
                                "success",
                                "devops",
                                "site",
                                "security",
                                "staff",
                                "principal",
                                "solutions",
                            )
                        ]
                    },
                    "keyword_match": {
                        "must_not": {
                            "seniority": ["intern"],
                            "country": ["antarctica"],
                            "city": ["nowhere"],
                            "state": ["none"],
                            "departments": ["none"],
                            "email_status": ["bounced"],
                        }
                    },
                    "range_query": {
                        "must": {
                            "created_at": {"gte": "2023-01-01"},
                            "company_employees_count": {"gte": 0},
                        },
                        "must_not": {
                            "updated_at": {"lt": "2000-01-01"},
                            "company_annual_revenue": {"lt": 0},
                        },
                    },
                }
            },
        ),
        (
            "keyword with 2,000 values",
            {
                "where": {
                    "keyword_match": {
                        "must": {
                            "email": [f"person{i}@example.com" for i in range(1000)],
                            "city": [f"city {i}" for i in range(999)] + ["berlin"],
                        }
                    }
                }
            },
        ),
        (
            "deepest page: page 100 × limit 100, sorted by created_at desc",
            {
                "page": 100,
                "limit": 100,
                "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
            },
        ),
    ]


def _time(conn: psycopg.Connection[Any], body: dict[str, Any], count: bool, runs: int) -> Any:
    query = parse_request(body, Entity.CONTACTS, cursor_secret=SECRET)  # admitted or raises
    samples: list[float] = []
    timeouts = 0
    for attempt in range(runs + 1):  # the first run warms caches and plans
        started = time.perf_counter()
        try:
            with conn.transaction():
                timeout = get_settings().api_statement_timeout_ms
                conn.execute(f"SET LOCAL statement_timeout = {int(timeout)}")
                if count:  # as the count route answers: exact up to its bound
                    bound = get_settings().count_exact_up_to
                    ENGINE.count_up_to(conn, Entity.CONTACTS, query, bound)
                else:
                    ENGINE.search(conn, Entity.CONTACTS, query)
        except psycopg.errors.QueryCanceled:
            timeouts += 1
        if attempt:
            samples.append(time.perf_counter() - started)
    return {**summary_ms(samples), "timeouts": timeouts}


def run(quick: bool = False) -> dict[str, Any]:
    contacts, companies = SIZES[quick]
    url = database_url(quick)
    load = ensure_loaded(url, contacts, companies)
    runs = 5 if quick else 7
    shapes: dict[str, Any] = {}
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        for name, body in _shapes():
            shapes[name] = {
                "search": _time(conn, body, count=False, runs=runs),
                "count": _time(conn, body, count=True, runs=runs),
            }
            print(f"budget {name}: {shapes[name]}", file=sys.stderr)
    baseline = shapes["baseline: first page"]["search"]["p50_ms"] or 0.001
    slowest = sorted(
        (
            (max(entry["search"]["p95_ms"], entry["count"]["p95_ms"]), name)
            for name, entry in shapes.items()
        ),
        reverse=True,
    )
    result = {
        "machine": machine(),
        "quick": quick,
        "contacts": contacts,
        "load": load,
        "runs_per_shape": runs,
        "limits": {name: limit.maximum for name, limit in budget.LIMITS.items()},
        "shapes": shapes,
        "p50_ratio_to_baseline": {
            name: round(entry["search"]["p50_ms"] / baseline, 1) for name, entry in shapes.items()
        },
        "slowest": [{"shape": name, "p95_ms": p95} for p95, name in slowest[:5]],
        "target_p95_ms": TARGET_P95_MS,
        "all_under_target": all(p95 < TARGET_P95_MS for p95, _ in slowest),
    }
    write_result("budget", result)
    (results_dir(quick) / "budget.md").write_text(markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Query budget: slowest admitted shapes ({result['contacts']:,} contacts)",
        "",
        f"Target: p95 < {result['target_p95_ms']:.0f} ms for every shape, search and count "
        f"({result['runs_per_shape']} runs each after a warm-up; other work shared the CPUs).",
        "",
        "| shape | search p50 | search p95 | count p50 | count p95 | timeouts | vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in result["shapes"].items():
        search, count = entry["search"], entry["count"]
        lines.append(
            f"| {name} | {search['p50_ms']} | {search['p95_ms']} | {count['p50_ms']} | "
            f"{count['p95_ms']} | {search['timeouts'] + count['timeouts']} | "
            f"{result['p50_ratio_to_baseline'][name]}× |"
        )
    verdict = "all under target" if result["all_under_target"] else "SOME OVER TARGET"
    return "\n".join([*lines, "", f"Verdict: {verdict}.", ""])
