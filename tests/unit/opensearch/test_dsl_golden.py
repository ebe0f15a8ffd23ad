"""Golden tests: the exact DSL emitted for every conformance case (search and count).

Each case of tests/integration/search/cases.py has `golden/<case name>.json` holding the
bodies `compile_search` and `compile_count` emit. A change to the compiler that alters
any body fails here until the golden files are regenerated on purpose:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/opensearch/test_dsl_golden.py

(then review the diff of tests/unit/opensearch/golden/ before committing it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from connectra.models.fields import Entity
from connectra.vql.dsl import compile_count, compile_search
from connectra.vql.parse import parse_request
from tests.integration.search.cases import CASES

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def emitted(case: dict[str, Any]) -> dict[str, Any]:
    query = parse_request(case["vql"], Entity(case["entity"]), cursor_secret="golden")
    return {"search": compile_search(query), "count": compile_count(query)}


def render(bodies: dict[str, Any]) -> str:
    # ensure_ascii: the sort sentinel U+10FFFF stays readable as an escape in the file
    return json.dumps(bodies, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_dsl_matches_the_golden_file(case: dict[str, Any]) -> None:
    path = GOLDEN / f"{case['name']}.json"
    text = render(emitted(case))
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file for {case['name']}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_every_golden_file_belongs_to_a_case() -> None:
    names = {case["name"] for case in CASES}
    stale = sorted(path.stem for path in GOLDEN.glob("*.json") if path.stem not in names)
    assert stale == []
    assert len(list(GOLDEN.glob("*.json"))) == len(CASES)
