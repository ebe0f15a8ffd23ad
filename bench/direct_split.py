"""Where the database's time goes inside the SQL path's one statement per clean batch.

`bench.ingest_profile --explain` has the server log every slow statement's plan with
actual times (auto_explain). This module reads those plans of `DirectLoad`'s statement
(ingest/staged_direct.py) back from the log and splits its time by part: each part is
one of the statement's CTEs, whose plan node reports the time spent producing its rows.
The CTEs are forced one after another by the statement's final counts (InitPlans run in
order), so each node's time is its own work plus reading rows already materialized; the
foreign key checks are the trigger time the plan reports separately. What no named part
holds (the filter count deltas, the returned counts) is "the rest".

Instrumented plans run slower than plain ones (timing every node), so the split is a
share of the time, to be read beside the uninstrumented µs per row of the same profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The statement's CTEs, in the order they run, and what each of them does.
PARTS = {
    "checked": "checks of the CSV cells (plain cells, lengths, email, uuid syntax)",
    "typed": "typed values (uuid_generate_v5 of the natural key, lower, list cells)",
    "batch": "last row of a key in the batch (sort, unique)",
    "recorded": "the job's key ledger (import_keys upsert)",
    "kept": "rows kept after the ledger (hash join)",
    "inserted": "insert into contacts (heap and its indexes)",
    "queued": "the search outbox's entries",
}
FOREIGN_KEYS = "foreign key checks (RI trigger per row)"
REST = "the rest (filter count deltas, returned counts)"

_DURATION = re.compile(r"LOG:  duration: ([\d.]+) ms  plan:")
_ACTUAL = re.compile(r"actual time=[\d.]+\.\.([\d.]+) rows=(\d+) loops=(\d+)")
_TRIGGER = re.compile(r"Trigger for constraint \S+_fkey on contacts: time=([\d.]+)")


@dataclass
class Split:
    """Milliseconds per part over the direct statements found, and their rows."""

    statements: int = 0
    rows: int = 0
    milliseconds: dict[str, float] = field(default_factory=dict)

    def add(self, part: str, value: float) -> None:
        self.milliseconds[part] = self.milliseconds.get(part, 0.0) + value

    def us_per_row(self) -> dict[str, float]:
        return {part: ms * 1000 / self.rows for part, ms in self.milliseconds.items()}


def _plans(log_text: str) -> list[tuple[float, list[str]]]:
    """(duration ms, plan lines) of every logged plan."""
    starts = [(match.start(), float(match.group(1))) for match in _DURATION.finditer(log_text)]
    ends = [start for start, _ in starts[1:]] + [len(log_text)]
    return [
        (duration, log_text[start:end].splitlines())
        for (start, duration), end in zip(starts, ends, strict=True)
    ]


def _cte_node(lines: list[str], name: str) -> tuple[float, int] | None:
    """Total time (ms, all loops) and rows of the plan nodes under `CTE name` (and
    `CTE name_<n>`: a part written as several numbered CTEs, as the outbox's)."""
    found: tuple[float, int] | None = None
    for index, line in enumerate(lines[:-1]):
        label = line.strip()
        if label == f"CTE {name}" or re.fullmatch(rf"CTE {name}_\d+", label):
            match = _ACTUAL.search(lines[index + 1])
            if match is None:
                continue
            loops = int(match.group(3))
            milliseconds, rows = float(match.group(1)) * loops, int(match.group(2)) * loops
            found = (
                (milliseconds, rows)
                if found is None
                else (found[0] + milliseconds, found[1] + rows)
            )
    return found


def split(log_text: str) -> Split:
    """The split over every logged plan of the direct statement in `log_text`."""
    result = Split()
    for duration, lines in _plans(log_text):
        checked = _cte_node(lines, "checked")
        if checked is None or _cte_node(lines, "recorded") is None:
            continue  # another statement
        result.statements += 1
        result.rows += checked[1]
        named = 0.0
        for name, part in PARTS.items():
            node = _cte_node(lines, name)
            value = node[0] if node is not None else 0.0
            result.add(part, value)
            named += value
        trigger = _TRIGGER.search("\n".join(lines))
        foreign_keys = float(trigger.group(1)) if trigger else 0.0
        result.add(FOREIGN_KEYS, foreign_keys)
        # The trigger runs inside the statement: its time is part of the duration.
        result.add(REST, max(0.0, duration - named - foreign_keys))
    return result


def markdown(result: Split, run_cpu_us_per_row: float | None) -> str:
    """The split as a table (µs per row of the instrumented statements, and shares);
    `run_cpu_us_per_row`: the database's CPU per row over the whole instrumented run
    (every statement, COPY and commits included)."""
    per_row = result.us_per_row() if result.rows else {}
    total = sum(per_row.values()) or 1.0
    lines = [
        f"{result.statements} statements, {result.rows:,} rows (instrumented: every plan "
        f"node timed); instrumented total {total:.2f} µs/row"
        + (
            f"; the database's CPU over the whole run (every statement, instrumented): "
            f"{run_cpu_us_per_row:.2f} µs/row"
            if run_cpu_us_per_row is not None
            else ""
        )
        + ".",
        "",
        "| part | µs per row | share |",
        "|---|---:|---:|",
    ]
    lines += [f"| {part} | {value:.2f} | {value / total:.0%} |" for part, value in per_row.items()]
    return "\n".join(lines) + "\n"
