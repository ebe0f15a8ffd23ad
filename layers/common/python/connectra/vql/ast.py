"""The parsed, validated VQL query: a small engine-neutral AST.

Every engine (PostgreSQL SQL, OpenSearch DSL, the Python reference evaluator) compiles
this and nothing else, so its meaning is fixed here:

Row filter (`Query.filter`)
  A row matches when it is not soft-deleted, every group of `Filter.must` matches (a group
  matches when ANY of its conditions matches: several text conditions on one filter_key
  are OR'ed; every keyword and range key is its own group), and NO condition of
  `Filter.must_not` matches. A condition on a missing (NULL) value never matches, so a
  must_not condition on a NULL value keeps the row.

Text (`TextCondition`, text fields only; compared folded and split into words as
`connectra.vql.text` defines: lower-case, accents removed, words of letters, marks and
numbers in every script, each CJK character a word):
  * EXACT: `terms` occur in the field's words in this order with at most `slop` other
    words between them in total (slop 0: a phrase). In-order only; a reordered phrase
    never matches, whatever the slop.
  * SHUFFLE: each term equals one of the field's words, or when `fuzzy` is within
    `max_edits(term)` edits of one (AUTO: 0 for 1-2 characters, 1 for 3-5, 2 longer;
    insertions, deletions, substitutions and transpositions of adjacent characters each
    count one edit: OpenSearch's default `fuzzy_transpositions: true`).
    operator AND: every term must match; OR: any term.
  * SUBSTRING: `terms` are the whitespace-separated parts of the folded text; each term
    matches when the folded field contains it anywhere (across words too); operator AND:
    every term, OR: any term ("soft eng" matches "Senior Software Engineer"). A term
    shorter than `MIN_SUBSTRING_LENGTH` (3: trigram indexes, and n-grams of 3-10, cannot
    serve it) matches the START of a word instead: it occurs at the start of the folded
    field or right after a character that is not a word character (or after a CJK
    character, itself a word; a term starting with a CJK character matches anywhere).
Keyword (`KeywordCondition`): the field equals one of `values`, compared lower-cased
  (case-insensitive, accents significant); an array field matches when any element
  does; uuid fields compare as uuids.
Range (`RangeCondition`): number or date (timezone-aware datetime; a date-only bound is
  midnight UTC) within every given bound; gte/gt/lte/lt combine with AND.

Fields of contacts prefixed `company_` are the contact's company's fields (through
contacts.company_id; no company, or a soft-deleted one, means NULL values).

Order (`Query.sort`)
  Sort keys in order; the last key is always `uuid`, the tie-break, in the direction of
  the last requested key (ascending when none is requested). NULL values sort last in
  both directions. Strings sort by code point (PostgreSQL `COLLATE "C"`, OpenSearch
  keyword order).

Paging
  `search_after` (decoded from the cursor, one value per sort key) returns rows strictly
  after that position in sort order, and then `offset` is 0. Otherwise `offset` =
  (page - 1) * limit, with page * limit capped at `MAX_WINDOW`.

Projection
  `select_columns`: table columns of the entity to return (uuid always included).
  `company_columns`: when `populate_company` (contacts only), each contact gets a
  `company` object with these columns of its live company, or null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from connectra.models.fields import Entity, Field

MAX_WINDOW = 10_000
MIN_SUBSTRING_LENGTH = 3


class SearchType(StrEnum):
    EXACT = "exact"
    SHUFFLE = "shuffle"
    SUBSTRING = "substring"


class Operator(StrEnum):
    AND = "and"
    OR = "or"


class Direction(StrEnum):
    ASC = "asc"
    DESC = "desc"


RangeValue = int | float | datetime
SortValue = str | int | float | datetime | None


@dataclass(frozen=True)
class TextCondition:
    field: Field
    text: str  # the caller's text, stripped
    folded: str  # fold(text): what SUBSTRING looks for
    # EXACT: the words of `folded` in order; SHUFFLE: deduplicated; SUBSTRING: the
    # whitespace-separated parts of `folded`, deduplicated.
    terms: tuple[str, ...]
    search_type: SearchType
    operator: Operator = Operator.AND  # SHUFFLE and SUBSTRING; AND for EXACT
    fuzzy: bool = False  # SHUFFLE only
    slop: int = 0  # EXACT only


def is_word_prefix(term: str) -> bool:
    """A SUBSTRING term too short for trigrams: matches word starts (see module docs)."""
    return len(term) < MIN_SUBSTRING_LENGTH


@dataclass(frozen=True)
class KeywordCondition:
    field: Field
    values: tuple[str, ...]  # lower-cased; canonical uuid strings for uuid fields


@dataclass(frozen=True)
class RangeCondition:
    field: Field
    gte: RangeValue | None = None
    gt: RangeValue | None = None
    lte: RangeValue | None = None
    lt: RangeValue | None = None


Condition = TextCondition | KeywordCondition | RangeCondition


@dataclass(frozen=True)
class AnyOf:
    """A group of conditions that matches when any one of them matches."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Filter:
    must: tuple[AnyOf, ...] = ()
    must_not: tuple[Condition, ...] = ()

    @property
    def fields(self) -> tuple[Field, ...]:
        found = [c.field for group in self.must for c in group.conditions]
        found.extend(c.field for c in self.must_not)
        return tuple(found)


@dataclass(frozen=True)
class SortKey:
    field: Field
    direction: Direction


@dataclass(frozen=True)
class Query:
    entity: Entity
    filter: Filter
    sort: tuple[SortKey, ...]  # ends with the uuid tie-break
    limit: int
    page: int = 1
    search_after: tuple[SortValue, ...] | None = None  # one value per sort key
    select_columns: tuple[str, ...] = ()
    populate_company: bool = False
    company_columns: tuple[str, ...] = ()
    fingerprint: str = ""  # identifies filter + sort; cursors carry it

    @property
    def offset(self) -> int:
        return 0 if self.search_after is not None else (self.page - 1) * self.limit

    @property
    def referenced_fields(self) -> tuple[Field, ...]:
        """Every field the filter or the sort reads (to know whether companies are needed)."""
        return (*self.filter.fields, *(key.field for key in self.sort))
