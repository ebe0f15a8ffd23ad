"""The AST → parameterized PostgreSQL (psycopg `sql.Composed` + a params dict).

Identifiers come from the field catalogue and go through `sql.Identifier`; every value is a
named placeholder. Nothing the caller sends is ever formatted into the SQL text.

The main table is aliased `c`; for contacts, `company_` fields read the LEFT JOINed
live company `co`. The SQL relies on the functions of migration 0002 and the search
structures of `connectra.db.search_structures` (the stored `vql_<field>_folded` and
`vql_<field>_words` columns, one trigram GIN per text field, keyword and sort btrees).

Plans (see `compile_search`): a query sorted by an indexed key is answered by a bounded
probe of the first rows in index order, and only when that window holds too few matches
(a selective filter) by the matching rows sorted; the planner never gets to choose an
unbounded sort-index walk for a filter that matches (almost) nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from connectra.models.fields import (
    CONTACT_TEXT_SORTS,
    COUNTRY_SCOPED_CONTACT_SORTS,
    FEW_VALUED_COMPANY_SORTS,
    WORD_START_INDEXED_COMPANY_FIELDS,
    Entity,
    Field,
    FieldKind,
    company_field_of,
)
from connectra.vql import pinned_sort
from connectra.vql.ast import (
    MIN_SUBSTRING_LENGTH,
    AnyOf,
    Condition,
    Direction,
    KeywordCondition,
    Operator,
    Query,
    RangeCondition,
    SearchType,
    SortKey,
    SortValue,
    TextCondition,
    is_word_prefix,
)
from connectra.vql.distinct_values import (
    VALUE_FOLDED,
    VALUE_WORDS,
    no_value_matches,
    walks_values,
)
from connectra.vql.fuzzy import max_edits
from connectra.vql.fuzzy_sql import (
    fuzzy_match,
    fuzzy_prefilter,
    fuzzy_similarity_threshold,
    fuzzy_trigram_prefilter,
    intact_patterns,
    pieces_prefilter,
    strict_similarity_threshold,
    takes_strict_prefilter,
    trigram_prefilter_is_exact,
)
from connectra.vql.text import word_start_pattern

# Columns that are never NULL: a keyset bound on them can be an index condition.
NOT_NULL_COLUMNS = frozenset({"uuid", "created_at", "updated_at"})


@dataclass
class Params:
    """Named bind parameters, numbered in the order they are added."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> sql.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)


@dataclass(frozen=True)
class CompiledSQL:
    statement: sql.Composed
    params: dict[str, Any]
    # GUCs to set (transaction-locally) before running the statement.
    settings: dict[str, str] = field(default_factory=dict)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def column(entity: Entity, target: Field) -> sql.Composable:
    company_column = company_field_of(target.name) if entity is Entity.CONTACTS else None
    if company_column is not None:
        return sql.Identifier("co", company_column)
    return sql.Identifier("c", target.name)


def search_column(entity: Entity, target: Field, kind: str) -> sql.Composable:
    """The stored `vql_<field>_<kind>` column (db/search_structures.py) of a text field;
    kind: `folded` (connectra_fold) or `words` (connectra_words)."""
    company_column = company_field_of(target.name) if entity is Entity.CONTACTS else None
    if company_column is not None:
        return sql.Identifier("co", f"vql_{company_column}_{kind}")
    return sql.Identifier("c", f"vql_{target.name}_{kind}")


def word_starts_indexed(entity: Entity, target: Field) -> bool:
    """The text field's short substrings have their word-start index (models/fields.py
    WORD_START_INDEXED_COMPANY_FIELDS: companies' fields, and contacts' company_ ones)."""
    name = company_field_of(target.name) if entity is Entity.CONTACTS else target.name
    return name in WORD_START_INDEXED_COMPANY_FIELDS


def search_row_live(entity: Entity, target: Field) -> sql.Composable:
    """`deleted_at IS NULL` of the row holding the field: true wherever the query reads the
    field (its own rows are filtered so; the company is joined only when live, and a
    condition on a company not joined is NULL either way)."""
    is_company = entity is Entity.CONTACTS and company_field_of(target.name) is not None
    return sql.SQL("{} IS NULL").format(sql.Identifier("co" if is_company else "c", "deleted_at"))


# Sort keys served by a btree `(key, uuid)` index (db/search_structures.py) or the primary
# key, in both directions: ascending forwards; descending backwards (on NOT NULL keys the
# ORDER BY is then written without NULLS LAST so that a backward scan matches it; nullable
# keys are read in two parts, see `_nulls_apart_rows`, unless DESC_INDEXED_SORTS has them).
INDEXED_SORTS: dict[Entity, frozenset[str]] = {
    Entity.CONTACTS: frozenset({"uuid", "created_at", "updated_at", *CONTACT_TEXT_SORTS}),
    Entity.COMPANIES: frozenset(
        {
            "uuid",
            "name",
            "normalized_domain",
            "city",
            "state",
            "country",
            "employees_count",
            "annual_revenue",
            "total_funding",
            "created_at",
            "updated_at",
        }
    ),
}
# Nullable sort keys with a `(key DESC NULLS LAST, uuid DESC)` index too (migration 0004):
# descending, the planner walks it for the plain ORDER BY.
DESC_INDEXED_SORTS: dict[Entity, frozenset[str]] = {
    Entity.CONTACTS: frozenset(),
    Entity.COMPANIES: frozenset({"name", "employees_count", "annual_revenue", "total_funding"}),
}
# The probe reads at most max(PROBE_WINDOW, PROBE_FACTOR * rows needed) rows in index order.
# Past it the filter matched fewer than (rows needed / window) of the rows: few enough to
# collect them all and sort them. sqrt(26 * 1M) ~ 5,000 balances the two at 1M rows.
PROBE_WINDOW = 5_000
PROBE_FACTOR = 10


# Settings of a probe statement. JIT pays off for scans of millions of rows, never for a
# page: the gated `matched` arm's estimate (rows it never reads when the probe succeeds)
# would otherwise cross jit_above_cost and compile for 20-400 ms. And a custom plan every
# time: the plan depends on the values (LIMIT, the window, how selective each condition
# is), and psycopg prepares a statement run 5 times, after which PostgreSQL may settle on
# a generic plan (a 25 ms query ran at 180 ms that way).
PAGE_SETTINGS = {"jit": "off", "plan_cache_mode": "force_custom_plan"}


def _not_null(key: SortKey) -> bool:
    return key.field.name in NOT_NULL_COLUMNS and company_field_of(key.field.name) is None


def sort_is_indexed(query: Query) -> bool:
    """True when an index serves ORDER BY (directly, or in the two parts of
    `reads_nulls_apart`), so LIMIT n reads about n rows."""
    keys = query.sort
    if len(keys) > 2 or any(company_field_of(k.field.name) is not None for k in keys):
        return False
    return keys[0].field.name in INDEXED_SORTS[query.entity]


def reads_nulls_apart(query: Query) -> bool:
    """Rows of a nullable key read in two index-ordered parts (`_nulls_apart_rows`), the
    rows with a value and then the NULL rows, where one ordered index scan cannot start at
    the right place:

    * DESC NULLS LAST whose only index is ascending: a backward scan gives NULLS FIRST;
    * ASC after a cursor with a value: the rows after it (`key > v OR key IS NULL`, ties
      by uuid) are not one index range, so a single scan would read the index from its
      start (O(rows before the cursor) a page); as two parts, the rows with a value
      start at `key >= v` and the NULL rows follow."""
    if not sort_is_indexed(query) or len(query.sort) != 2:  # the key, then uuid (tie-break)
        return False
    first = query.sort[0]
    if _not_null(first):
        return False
    if first.direction is Direction.ASC:
        return query.search_after is not None and query.search_after[0] is not None
    return first.field.name not in DESC_INDEXED_SORTS[query.entity]


def needs_company_join(query: Query) -> bool:
    return query.entity is Entity.CONTACTS and any(
        company_field_of(f.name) is not None for f in query.referenced_fields
    )


class _Compiler:
    def __init__(self, query: Query) -> None:
        self.query = query
        self.params = Params()
        # The `%>` prefilter texts of the fuzzy terms (fuzzy_prefilter), and the terms
        # whose prefilter is `%>>` (takes_strict_prefilter): each sets its threshold.
        self.fuzzy_prefilters: list[str] = []
        self.strict_fuzzy_terms: list[str] = []
        # True: conditions in the shape their index matches. False while compiling the
        # filter of a probe's window (rows read in index or table order, no index to
        # match): each condition in its cheapest per-row form deciding the same rows.
        self.index_shaped = True

    def column(self, target: Field) -> sql.Composable:
        return column(self.query.entity, target)

    # -- conditions --------------------------------------------------------------------

    def condition(self, condition: Condition) -> sql.Composable:
        if isinstance(condition, TextCondition):
            return self.text(condition)
        if isinstance(condition, KeywordCondition):
            return self.keyword(condition)
        return self.range(condition)

    def text(self, condition: TextCondition) -> sql.Composable:
        # Stored connectra_fold(field) and connectra_words(field) (db/search_structures.py).
        folded = search_column(self.query.entity, condition.field, "folded")
        words = search_column(self.query.entity, condition.field, "words")
        matched = self.text_match(condition, folded, words)
        # No walk in a probe's window (its rows are read anyway: a hit found there never
        # pays the walk) nor on a field without a sort index to walk.
        if not self.index_shaped or not walks_values(self.query.entity, condition.field):
            return matched
        # A miss proved on the field's distinct values skips the scan (distinct_values.py).
        self.index_shaped = False  # one value at a time: the per-row form
        try:
            on_value = self.text_match(condition, VALUE_FOLDED, VALUE_WORDS)
        finally:
            self.index_shaped = True
        proof = no_value_matches(self.query.entity, condition.field, on_value, self.params.add)
        return sql.SQL("(NOT {} AND {})").format(proof, matched)

    def text_match(
        self, condition: TextCondition, folded: sql.Composable, words: sql.Composable
    ) -> sql.Composable:
        terms = list(condition.terms)
        if condition.search_type is SearchType.SUBSTRING:
            indexed = word_starts_indexed(self.query.entity, condition.field)
            contained = [self.substring_term(term, folded, indexed) for term in terms]
            if len(contained) == 1:
                return contained[0]
            joiner = " AND " if condition.operator is Operator.AND else " OR "
            return sql.SQL("({})").format(sql.SQL(joiner).join(contained))
        if condition.search_type is SearchType.EXACT:
            return self.phrase(condition, folded, words)
        if not condition.fuzzy:
            return self.words(condition, folded, words)
        live = search_row_live(self.query.entity, condition.field)
        if condition.operator is Operator.OR:
            parts = [self.fuzzy_term(term, folded, words) for term in terms]
            alternatives = [
                check
                if shares is None
                else sql.SQL("({} AND {})").format(
                    fuzzy_trigram_prefilter([shares], folded, live), check
                )
                for shares, check in parts
            ]
            return sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives))
        # A long term's patterns find few rows (intact_patterns); the other terms' `%>`
        # (one shared trigram) then narrows nothing yet costs a word_similarity per row
        # (3 µs on an email, twice their exact check): a long term leaves them out.
        shares_trigram = all(intact_patterns(term) is None for term in terms)
        parts = [self.fuzzy_term(term, folded, words, shares_trigram) for term in terms]
        # (P1 OR cjk) AND (P2 OR cjk) is (P1 AND P2) OR cjk: the terms' trigram conditions
        # stay together, one trigram-GIN scan intersecting them (one BitmapOr per term
        # read each term's rows whole: 4-6 times slower over 100k companies).
        shared = [shares for shares, _check in parts if shares is not None]
        checks = [check for _shares, check in parts]
        if shared:
            checks.insert(0, fuzzy_trigram_prefilter(shared, folded, live))
        return sql.SQL("({})").format(sql.SQL(" AND ").join(checks))

    def substring_term(
        self, term: str, folded: sql.Composable, word_starts_indexed: bool
    ) -> sql.Composable:
        """One whitespace-separated term of a substring query: contained in the folded
        field, or at a word start when too short for the trigram index (then served by the
        field's word-start index where it has one: `word_starts_indexed`)."""
        if is_word_prefix(term):
            # Function calls, never an index condition: no trigram index serves a term
            # under 3 characters, yet `folded ~ pattern` is a trigram-GIN operator and the
            # word-start class (thousands of ranges) makes the planner expect ~1 row, so it
            # chose a full scan of the GIN returning every row, each then rechecked through
            # the regular expression (13 s over 1M contacts). As functions they filter a
            # sequential pass (or the rows other conditions' indexes find). The CASE fixes
            # the order (the planner sorts AND-ed conditions by cost, the cheaper-looking
            # regexp_like first): the C-level strpos first, the regular expression only on
            # rows holding the term somewhere. (regexp_like, PostgreSQL 15+, is `~` as a
            # function: the same matches.)
            pattern = self.params.add(word_start_pattern(term))
            at_word_start = sql.SQL(
                "CASE WHEN strpos({folded}, {term}) > 0 "
                "THEN regexp_like({folded}, {pattern}) ELSE false END"
            ).format(folded=folded, term=self.params.add(term), pattern=pattern)
            if not (word_starts_indexed and self.index_shaped):
                return at_word_start
            # The GIN on connectra_word_start_grams(folded) holds the term wherever it
            # occurs at a word start (migration 0024 proves it): the candidates come from
            # the index (a miss reads no row), the CASE decides. GIN's `@>` needs no
            # recheck of the function.
            return sql.SQL(
                "(public.connectra_word_start_grams({folded}) @> {grams}::text[] AND {exact})"
            ).format(folded=folded, grams=self.params.add([term]), exact=at_word_start)
        like = self.params.add(f"%{escape_like(term)}%")
        return sql.SQL("{} LIKE {}").format(folded, like)

    def trigram_prefilter(self, folded: sql.Composable, terms: list[str]) -> sql.Composable | None:
        """`folded LIKE '%t1%t2%…%'`: the terms occur in this order as substrings of the
        folded text, which every row whose words hold them (in this order) satisfies. The
        field's trigram GIN serves it (set in db/search_structures.py); None when no term
        is long enough to have a trigram (the words check alone then decides)."""
        if all(len(term) < MIN_SUBSTRING_LENGTH for term in terms):
            return None
        pattern = "%" + "%".join(escape_like(term) for term in terms) + "%"
        return sql.SQL("{} LIKE {}").format(folded, self.params.add(pattern))

    def phrase(
        self, condition: TextCondition, folded: sql.Composable, words: sql.Composable
    ) -> sql.Composable:
        """EXACT: the trigram prefilter on the terms in order, then the stored words."""
        terms = list(condition.terms)
        checks: list[sql.Composable] = [
            sql.SQL("{} @> {}::text[]").format(words, self.params.add(terms))
        ]
        if len(terms) > 1 and condition.slop == 0:
            # Adjacent words, in order: the phrase is a space-delimited run of the words
            # joined by spaces (words never hold a space). A C-level LIKE per candidate,
            # several times cheaper than the PL/pgSQL scan below.
            joined = " " + " ".join(escape_like(term) for term in terms) + " "
            checks.append(
                sql.SQL("(' ' || array_to_string({}, ' ') || ' ') LIKE {}").format(
                    words, self.params.add(f"%{joined}%")
                )
            )
        elif len(terms) > 1:
            checks.append(
                sql.SQL("connectra_phrase_match({}, {}::text[], {})").format(
                    words, self.params.add(terms), self.params.add(condition.slop)
                )
            )
        prefilter = self.trigram_prefilter(folded, terms)
        if prefilter is not None:
            checks.insert(0, prefilter)
        return sql.SQL("({})").format(sql.SQL(" AND ").join(checks))

    def words(
        self, condition: TextCondition, folded: sql.Composable, words: sql.Composable
    ) -> sql.Composable:
        """SHUFFLE: each term (AND) or any term (OR) prefiltered as a substring, then the
        stored words (`@>` all, `&&` any)."""
        terms = list(condition.terms)
        is_and = condition.operator is Operator.AND
        operator = "@>" if is_and else "&&"
        check = sql.SQL("{} {} {}::text[]").format(words, sql.SQL(operator), self.params.add(terms))
        prefilters = [self.trigram_prefilter(folded, [term]) for term in terms]
        if any(p is None for p in prefilters) and not is_and:
            return check  # some term has no trigram: an OR cannot be prefiltered
        present = [p for p in prefilters if p is not None]
        if not present:
            return check
        joined = sql.SQL(" AND " if is_and else " OR ").join(present)
        return sql.SQL("(({}) AND {})").format(joined, check)

    def fuzzy_term(
        self,
        term: str,
        folded: sql.Composable,
        words: sql.Composable,
        shares_trigram: bool = True,
    ) -> tuple[sql.Composable | None, sql.Composable]:
        """(The term's trigram condition `folded %> text` or `folded %>> text`, or None; the
        rest of its check).
        The caller adds the rows holding a CJK character to the trigram condition
        (fuzzy_sql.py fuzzy_trigram_prefilter). Without `shares_trigram`, a term too short
        for patterns has no prefilter (another term's patterns find the rows)."""
        edits = max_edits(term)
        if edits == 0:
            return None, sql.SQL("{} @> ARRAY[{}]::text[]").format(words, self.params.add(term))
        match = fuzzy_match(self.params, term, words, edits)
        if not trigram_prefilter_is_exact(term):
            return None, match
        patterns = intact_patterns(term)
        if patterns is not None:
            # A long term: substrings some match holds (intact_patterns), far fewer rows
            # than those sharing one trigram with it. Per row (a probe's window) a few
            # C-level LIKEs spare most rows the words check.
            prefilter = pieces_prefilter(self.params, folded, patterns)
            return None, sql.SQL("({} AND {})").format(prefilter, match)
        if not shares_trigram or not self.index_shaped:
            return None, match
        prefilter_text = fuzzy_prefilter(term)
        # `folded %> text` (`text <% folded` commuted, the form the trigram GIN's operator
        # class takes; `%%` for psycopg): one trigram-GIN condition per term, the rows
        # sharing a trigram with the prefilter text (fuzzy_similarity_threshold), which
        # loses no match (fuzzy_prefilter) but where a CJK character stands; or, when every
        # match keeps several of its trigrams, `folded %>> text`: the rows with a word
        # close enough to it (strict_similarity_threshold, strict_similarity_floor).
        # Written in the index's form so that the planner sees the bitmap's condition as
        # the query's own and checks it once (fuzzy_trigram_prefilter).
        if takes_strict_prefilter(term):
            self.strict_fuzzy_terms.append(term)
            operator = sql.SQL("%%>>")
        else:
            self.fuzzy_prefilters.append(prefilter_text)
            operator = sql.SQL("%%>")
        shares = sql.SQL("{} {} {}").format(folded, operator, self.params.add(prefilter_text))
        return shares, match

    def keyword(self, condition: KeywordCondition) -> sql.Composable:
        target = self.column(condition.field)
        values = list(condition.values)
        if condition.field.kind is FieldKind.UUID:
            return sql.SQL("{} = ANY({}::uuid[])").format(target, self.params.add(values))
        if condition.field.is_array and not self.index_shaped:
            # Some element lower-cased is a value: the same rows as the overlap below
            # (NULL arrays and elements match nothing; NOT/IS NOT TRUE treat false and
            # NULL alike).
            return sql.SQL(
                "EXISTS (SELECT 1 FROM unnest({}) AS item WHERE lower(item) = ANY({}::text[]))"
            ).format(target, self.params.add(values))
        if condition.field.is_array:
            return sql.SQL("connectra_lower_array({}) && {}::text[]").format(
                target, self.params.add(values)
            )
        return sql.SQL("lower({}) = ANY({}::text[])").format(target, self.params.add(values))

    def range(self, condition: RangeCondition) -> sql.Composable:
        target = self.column(condition.field)
        bounds = [
            sql.SQL("{} {} {}").format(target, sql.SQL(operator), self.params.add(value))
            for operator, value in (
                (">=", condition.gte),
                (">", condition.gt),
                ("<=", condition.lte),
                ("<", condition.lt),
            )
            if value is not None
        ]
        return sql.SQL("({})").format(sql.SQL(" AND ").join(bounds))

    def where(self, *, paged: bool = True, gated: bool = False) -> sql.Composable:
        """The row filter; `gated`: the company text groups (`company_text_groups`) as
        membership of the statement's `gate_companies` (`_GATE_COMPANIES`)."""
        return sql.SQL(" AND ").join(self.where_parts(paged=paged, gated=gated))

    def probe_where(self, *, paged: bool = True) -> sql.Composable:
        """`where` for the rows of a probe's window, each condition in its cheapest
        per-row form (the same rows match): no fuzzy trigram prefilter (word_similarity per
        row doubled the inline fuzzy check's cost), array keywords without the
        connectra_lower_array call their GIN index matches (an SQL function PostgreSQL
        cannot inline: ~20 µs a row)."""
        self.index_shaped = False
        try:
            return self.where(paged=paged)
        finally:
            self.index_shaped = True

    def where_parts(self, *, paged: bool = True, gated: bool = False) -> list[sql.Composable]:
        """The conjuncts of the row filter (with the keyset bound when `paged`; `gated`:
        see `where`)."""
        parts: list[sql.Composable] = [sql.SQL("c.deleted_at IS NULL")]
        replaced = company_text_groups(self.query) if gated else []
        if replaced:
            parts.append(sql.SQL("c.company_id IN (SELECT g.uuid FROM gate_companies AS g)"))
        for group in self.query.filter.must:
            if any(group is other for other in replaced):
                continue
            alternatives = [self.condition(c) for c in group.conditions]
            if len(alternatives) == 1:
                parts.append(alternatives[0])
            else:
                parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)))
        # IS NOT TRUE: a condition on a NULL value is unknown, and must keep the row.
        parts.extend(
            sql.SQL("({}) IS NOT TRUE").format(self.condition(c))
            for c in self.query.filter.must_not
        )
        if paged and self.query.search_after is not None:
            parts.append(self.keyset(self.query.sort, self.query.search_after))
        return parts

    def window_parts(self, *, paged: bool = True) -> list[sql.Composable]:
        """Conjuncts on the leading sort key alone (the keyset bound when `paged`, must
        ranges on it): index conditions of the sort index, applied before the probe's
        window is cut."""
        parts: list[sql.Composable] = [sql.SQL("c.deleted_at IS NULL")]
        leading = self.query.sort[0].field
        for group in self.query.filter.must:
            only = group.conditions[0] if len(group.conditions) == 1 else None
            if isinstance(only, RangeCondition) and only.field == leading:
                parts.append(self.range(only))
        if paged and self.query.search_after is not None:
            parts.append(self.keyset(self.query.sort, self.query.search_after))
        return parts

    # -- order and keyset --------------------------------------------------------------

    def sort_expression(self, key: SortKey) -> sql.Composable:
        target = self.column(key.field)
        if key.field.kind in (FieldKind.TEXT, FieldKind.KEYWORD):
            return sql.SQL('({} COLLATE "C")').format(target)
        return target

    def order_by(self, expressions: list[sql.Composable] | None = None) -> sql.Composable:
        """ORDER BY the sort keys (or `expressions`, one per key: the probe's sort columns).
        NULLs last; on a NOT NULL key DESC is written plainly (NULLS FIRST, the same order
        there), which a backward scan of an ascending index serves."""
        if expressions is None:
            expressions = [self.sort_expression(key) for key in self.query.sort]
        return sql.SQL(", ").join(
            self.order_term(key, expression)
            for key, expression in zip(self.query.sort, expressions, strict=True)
        )

    def order_term(self, key: SortKey, expression: sql.Composable | None = None) -> sql.Composable:
        """One key of `order_by`."""
        if expression is None:
            expression = self.sort_expression(key)
        if key.direction is Direction.ASC:
            return sql.SQL("{} ASC NULLS LAST").format(expression)
        if _not_null(key):
            return sql.SQL("{} DESC").format(expression)
        return sql.SQL("{} DESC NULLS LAST").format(expression)

    def after(self, key: SortKey, value: SortValue) -> sql.Composable:
        """Rows strictly after `value` on this one key (NULLs sort last)."""
        if value is None:
            return sql.SQL("false")
        expression = self.sort_expression(key)
        operator = sql.SQL("<" if key.direction is Direction.DESC else ">")
        strictly = sql.SQL("{} {} {}").format(expression, operator, self.params.add(value))
        if key.field.name in NOT_NULL_COLUMNS and company_field_of(key.field.name) is None:
            return strictly
        return sql.SQL("({} OR {} IS NULL)").format(strictly, expression)

    def equal(self, key: SortKey, value: SortValue) -> sql.Composable:
        expression = self.sort_expression(key)
        if value is None:
            return sql.SQL("{} IS NULL").format(expression)
        return sql.SQL("{} = {}").format(expression, self.params.add(value))

    def keyset(self, sort: tuple[SortKey, ...], values: tuple[SortValue, ...]) -> sql.Composable:
        """(k1 after v1) OR (k1 = v1 AND k2 after v2) OR … — rows after the cursor."""
        alternatives: list[sql.Composable] = []
        for index, key in enumerate(sort):
            equalities = [self.equal(sort[i], values[i]) for i in range(index)]
            alternatives.append(
                sql.SQL("({})").format(
                    sql.SQL(" AND ").join([*equalities, self.after(key, values[index])])
                )
            )
        chain = sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives))
        first, first_value = sort[0], values[0]
        if first.field.name in NOT_NULL_COLUMNS and first_value is not None:
            # Redundant with the chain, but an index condition: the scan starts at the cursor.
            operator = "<=" if first.direction is Direction.DESC else ">="
            bound = sql.SQL("{} {} {}").format(
                self.sort_expression(first), sql.SQL(operator), self.params.add(first_value)
            )
            return sql.SQL("({} AND {})").format(bound, chain)
        return chain

    # -- statements --------------------------------------------------------------------

    def source(self) -> sql.Composable:
        table = sql.SQL("{} AS c").format(sql.Identifier(self.query.entity.value))
        if needs_company_join(self.query):
            return sql.SQL(
                "{} LEFT JOIN companies AS co ON co.uuid = c.company_id AND co.deleted_at IS NULL"
            ).format(table)
        return table

    def settings(self) -> dict[str, str]:
        thresholds = {
            "pg_trgm.word_similarity_threshold": fuzzy_similarity_threshold(self.fuzzy_prefilters),
            "pg_trgm.strict_word_similarity_threshold": strict_similarity_threshold(
                self.strict_fuzzy_terms
            ),
        }
        return {name: f"{value:.9g}" for name, value in thresholds.items() if value is not None}


def compile_search(query: Query) -> CompiledSQL:
    """uuid and sort values of the page's rows, in order; one row more than the limit
    (when it comes back there is a next page).

    With a row filter and a sort an index serves, one statement in two steps:
    1. `probe`: the first `window` rows in index order (cut after the conditions on the sort
       key itself), filtered, the first `need` = offset + limit + 1 kept. When it finds
       `need` rows they are exactly the first `need` matches of the whole table: a match
       outside the window sorts after every row inside it.
    2. Otherwise (only then: the arm is gated on the probe's count) `matched`: every
       matching row, found through the filter's own indexes (a MATERIALIZED CTE: the planner
       cannot turn it into a sort-index walk), then sorted. The filter matched under
       need / window of the rows, so there are few.
    Either way the cost is bounded by the window or by the number of matches, whatever the
    planner estimates a text condition's selectivity to be.
    """
    compiler = _Compiler(query)
    sort_values = _sort_values(compiler, query)
    if walks_companies(query):
        return _compile_company_walk(compiler, query, sort_values)
    if (not query.filter.must and not query.filter.must_not) or not sort_is_indexed(query):
        return _compile_unprobed(compiler, query, sort_values)
    if pinned_sort.pinning_condition(query) is not None:
        return _compile_probed(compiler, query, sort_values, _pinned_probe)
    return _compile_probed(compiler, query, sort_values)


def _sort_values(compiler: _Compiler, query: Query) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(compiler.column(key.field), sql.Identifier(f"sort_{index}"))
        for index, key in enumerate(query.sort)
    )


def _compile_unprobed(
    compiler: _Compiler, query: Query, sort_values: sql.Composable
) -> CompiledSQL:
    """No row filter, or a sort no index serves: one plain sorted, paged SELECT."""
    if reads_nulls_apart(query):  # no filter: the first rows of the two-part walk
        return _compile_unfiltered_nulls_apart(compiler, query, sort_values)
    statement = sql.SQL(
        "SELECT {sort_values} FROM {source} WHERE {where} ORDER BY {order} "
        "LIMIT {limit} OFFSET {offset}"
    ).format(
        sort_values=sort_values,
        source=compiler.source(),
        where=compiler.where(),
        order=compiler.order_by(),
        limit=compiler.params.add(query.limit + 1),
        offset=compiler.params.add(query.offset),
    )
    return CompiledSQL(statement, compiler.params.values, compiler.settings())


def _compile_unfiltered_nulls_apart(
    compiler: _Compiler, query: Query, sort_values: sql.Composable
) -> CompiledSQL:
    """No filter, DESC NULLS LAST from an ascending index: the first offset + limit + 1
    rows of the two parts (`_nulls_apart_rows`), sorted."""
    parts = compiler.where_parts(paged=False)  # each part bounds itself by the cursor
    need = compiler.params.add(query.offset + query.limit + 1)
    statement = sql.SQL(
        "SELECT {sort_values} FROM (({present}) UNION ALL ({absent})) AS c "
        "ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    ).format(
        sort_values=sort_values,
        present=_nulls_apart_rows(compiler, parts, need, present=True),
        absent=_nulls_apart_rows(compiler, parts, need, present=False),
        order=compiler.order_by(),
        limit=compiler.params.add(query.limit + 1),
        offset=compiler.params.add(query.offset),
    )
    return CompiledSQL(statement, compiler.params.values, {**compiler.settings(), **PAGE_SETTINGS})


def _nulls_apart_rows(
    compiler: _Compiler, parts: list[sql.Composable], limit: sql.Composable, *, present: bool
) -> sql.Composable:
    """One part of a nullable key's order read from its ascending `(key, uuid)` index
    (`reads_nulls_apart`), as a SELECT of `c.*` in the query's order: the rows with a value
    (`present`: the first `limit`, read backwards for DESC), or the NULL rows (only as many
    as the first part leaves missing of `limit`, counted only when this arm runs: LIMIT 0
    reads nothing). Together, exactly the first `limit` rows of the whole order.

    Each part's keys all have a value, or are all NULL: the plain direction orders it as
    NULLS LAST does, and is what a scan of the index gives (backwards for DESC)."""
    present_rows = _nulls_apart_part(compiler, parts, present=True)
    if not present:
        limit = sql.SQL(
            "greatest({limit} - (SELECT count(*) FROM (SELECT 1 FROM {present_rows} "
            "LIMIT {limit}) AS present), 0)"
        ).format(limit=limit, present_rows=present_rows)
    return sql.SQL("SELECT c.* FROM {} ORDER BY {} LIMIT {}").format(
        _nulls_apart_part(compiler, parts, present=present), _nulls_apart_order(compiler), limit
    )


def _nulls_apart_part(
    compiler: _Compiler, parts: list[sql.Composable], *, present: bool
) -> sql.Composable:
    """`<table> AS c WHERE …` of one part's rows: `parts` and the key (not) NULL."""
    expression = compiler.sort_expression(compiler.query.sort[0])
    present_bound, null_bound = _nulls_apart_bounds(compiler)
    if present:
        condition = sql.SQL("{} IS NOT NULL{}").format(expression, present_bound)
    else:
        condition = sql.SQL("{} IS NULL{}").format(expression, null_bound)
    return sql.SQL("{} AS c WHERE {} AND {}").format(
        sql.Identifier(compiler.query.entity.value), sql.SQL(" AND ").join(parts), condition
    )


def _nulls_apart_order(compiler: _Compiler) -> sql.Composable:
    key, tie = compiler.query.sort
    direction = sql.SQL("DESC" if key.direction is Direction.DESC else "ASC")
    return sql.SQL("{} {}, {}").format(
        compiler.sort_expression(key), direction, compiler.order_term(tie)
    )


def _nulls_apart_bounds(compiler: _Compiler) -> tuple[sql.Composable, sql.Composable]:
    """Each part's rows after the cursor, exactly, as conditions of the `(key, uuid)` index
    (the parts are given without the keyset: its OR of alternatives, planned as a
    BitmapOr, would be read whole and sorted). The tie-break uuid goes the key's way, so
    after a value v the rows with a value are the row comparison `(key, uuid) > (v, u)`
    (`<` for DESC), one index range the scan starts at (an explicit uuid the other way:
    the range from v, its ties filtered), and every NULL row follows; after
    a NULL (the cursor is among the NULL rows) none with a value is left, and the NULL rows
    resume after the cursor's uuid."""
    query = compiler.query
    if query.search_after is None:
        return sql.SQL(""), sql.SQL("")
    key, tie = query.sort
    value, tie_value = query.search_after
    if value is None:
        return sql.SQL(" AND false"), sql.SQL(" AND {}").format(compiler.after(tie, tie_value))
    expression, strictly = (
        compiler.sort_expression(key),
        "<" if key.direction is Direction.DESC else ">",
    )
    if tie.direction is key.direction:
        bound = sql.SQL(" AND ({}, {}) {} ({}, {})").format(
            expression,
            compiler.sort_expression(tie),
            sql.SQL(strictly),
            compiler.params.add(value),
            compiler.params.add(tie_value),
        )
        return bound, sql.SQL("")
    # uuid the other way: the scan starts at the value, the ties are filtered.
    placeholder = compiler.params.add(value)
    bound = sql.SQL(
        " AND {key} {strictly}= {value} AND ({key} {strictly} {value} OR {tie})"
    ).format(
        key=expression,
        strictly=sql.SQL(strictly),
        value=placeholder,
        tie=compiler.after(tie, tie_value),
    )
    return bound, sql.SQL("")


# Parameters are numbered in the order they are added: the arguments below are evaluated
# in that order, so their order is part of the statement.
_PROBED_SEARCH = sql.SQL(
    "WITH {gate_companies}{probe}, matched AS MATERIALIZED ("
    "SELECT {sort_values} FROM {source} WHERE {where}"
    ") "
    "SELECT * FROM ("
    "SELECT * FROM probe WHERE (SELECT count(*) FROM probe) = {need} "
    "UNION ALL "
    "SELECT * FROM matched WHERE (SELECT count(*) FROM probe) < {need}"
    ") AS found ORDER BY {outer_order} LIMIT {limit} OFFSET {offset}"
)
# The probe: the window (rows in index order), filtered, the first `need` kept. A LIMIT on
# an ordered subquery stops reading once it has its rows.
_PROBE = sql.SQL(
    "probe AS MATERIALIZED ("
    "SELECT {sort_values} FROM ("
    "SELECT c.* FROM {table} AS c WHERE {window_where} ORDER BY {order} LIMIT {window}"
    ") AS c{join} WHERE {probe_where} ORDER BY {order} LIMIT {need})"
)
# The probe when the window comes in two parts (`_nulls_apart_rows`): the matches among the
# rows with a value, then (only when too few: a LIMIT 0 arm reads nothing) those among the
# NULL rows. Each arm is read in index order and stops at its LIMIT; no sort of the window.
_NULLS_APART_PROBE = sql.SQL(
    "probe_present AS MATERIALIZED ("
    "SELECT {sort_values} FROM ({present}) AS c{join} WHERE {probe_where} ORDER BY {order} "
    "LIMIT {need}), "
    "probe AS MATERIALIZED (SELECT * FROM probe_present UNION ALL ("
    "SELECT {sort_values} FROM ({absent}) AS c{join} WHERE {probe_where} ORDER BY {order} "
    "LIMIT greatest({need} - (SELECT count(*) FROM probe_present), 0)))"
)


def _compile_probed(
    compiler: _Compiler,
    query: Query,
    sort_values: sql.Composable,
    probe: Callable[[_Compiler, sql.Composable, sql.Composable], sql.Composable] | None = None,
) -> CompiledSQL:
    """The two-step statement (`probe`, else `matched`) of `compile_search`'s docstring;
    `probe(compiler, sort_values, need)` builds the probe (default: the sort index walk)."""
    need = compiler.params.add(query.offset + query.limit + 1)
    gated = probe is None and bool(company_text_groups(query))
    statement = _PROBED_SEARCH.format(
        gate_companies=_gate_companies(compiler) if gated else sql.SQL(""),
        probe=(probe or _probe)(compiler, sort_values, need),
        sort_values=sort_values,
        where=compiler.where(gated=gated),
        need=need,
        source=compiler.source(),
        outer_order=compiler.order_by(_outer_sort_columns(query)),
        limit=compiler.params.add(query.limit + 1),
        offset=compiler.params.add(query.offset),
    )
    return CompiledSQL(statement, compiler.params.values, {**compiler.settings(), **PAGE_SETTINGS})


def _probe_window(query: Query) -> int:
    """Rows a probe reads at most (see PROBE_WINDOW)."""
    return max(PROBE_WINDOW, PROBE_FACTOR * (query.offset + query.limit + 1))


def _probe(
    compiler: _Compiler, sort_values: sql.Composable, need: sql.Composable
) -> sql.Composable:
    query = compiler.query
    window = compiler.params.add(_probe_window(query))
    nulls_apart = reads_nulls_apart(query)  # its parts bound themselves by the cursor
    window_parts = [*compiler.window_parts(paged=not nulls_apart), *_country_scope(compiler)]
    gate = _company_gate(compiler)
    probe_where = compiler.probe_where()
    if gate is not None:
        probe_where = sql.SQL("{} AND {}").format(gate, probe_where)
    if not nulls_apart:
        order = compiler.order_by()
        return _PROBE.format(
            sort_values=sort_values,
            table=sql.Identifier(query.entity.value),
            window_where=sql.SQL(" AND ").join(window_parts),
            order=order,
            window=window,
            join=_probe_join(query),
            probe_where=probe_where,
            need=need,
        )
    return _NULLS_APART_PROBE.format(
        present=_nulls_apart_rows(compiler, window_parts, window, present=True),
        sort_values=sort_values,
        join=_probe_join(query),
        probe_where=probe_where,
        order=_nulls_apart_order(compiler),
        need=need,
        absent=_nulls_apart_rows(compiler, window_parts, window, present=False),
    )


# Contacts filtered on their company's fields: the live companies those conditions select,
# found once for the gate and for `matched` (a CTE is read as far as its readers go: the
# gate stops at its LIMIT, `matched` reads on).
_GATE_COMPANIES = sql.SQL(
    "gate_companies AS MATERIALIZED (SELECT co.uuid FROM companies AS co "
    "WHERE co.deleted_at IS NULL AND {conditions}), "
)
# Their contacts (deleted ones too: index-only), counted up to COMPANY_GATE_CONTACTS.
_COMPANY_GATE = sql.SQL(
    "(SELECT count(*) FROM (SELECT 1 FROM gate_companies AS co "
    "JOIN contacts AS gated ON gated.company_id = co.uuid LIMIT {most}) AS gate) >= {most}"
)
# Under this many contacts `matched` sorts them all for less than the probe's window read
# (2,000 key lookups and heap rows, against 5,000 contacts and their companies read one by
# one: 40-60 ms whatever the company filter); the count reads the matching companies up to
# it (about 200 of them, at 10 contacts each), the price paid by a filter matching many.
COMPANY_GATE_CONTACTS = 2_000


def company_text_groups(query: Query) -> list[AnyOf]:
    """Contacts' `must` groups of text conditions on company fields only (the gate's).
    Text conditions only: a common company keyword or range made the planner read a
    company sort index for the gate's LIMIT (45k entries for one country, +10-20 ms),
    where the probe alone took 2-4 ms."""
    if query.entity is not Entity.CONTACTS:
        return []
    return [
        group
        for group in query.filter.must
        if all(
            isinstance(c, TextCondition) and company_field_of(c.field.name) is not None
            for c in group.conditions
        )
    ]


def _gate_companies(compiler: _Compiler) -> sql.Composable:
    """The `gate_companies` CTE: the live companies meeting every company text group."""
    conditions = [
        sql.SQL("({})").format(sql.SQL(" OR ").join(compiler.condition(c) for c in g.conditions))
        for g in company_text_groups(compiler.query)
    ]
    return _GATE_COMPANIES.format(conditions=sql.SQL(" AND ").join(conditions))


def _company_gate(compiler: _Compiler) -> sql.Composable | None:
    """For contacts with company text groups (`company_text_groups`): the probe runs
    only when the companies those groups select (`gate_companies`) hold at least
    COMPANY_GATE_CONTACTS contacts (a one-time condition: otherwise it reads nothing).
    Every match is among those contacts, so below it `matched` finds them all from the
    same companies (the company_id key) and sorts fewer rows than the probe would read.
    At or past it the probe runs as without the gate, after an index-only count of that
    many keys of contacts_company_id_idx. None when no such group."""
    if not company_text_groups(compiler.query):
        return None
    return _COMPANY_GATE.format(most=compiler.params.add(COMPANY_GATE_CONTACTS))


def _country_scope(compiler: _Compiler) -> list[sql.Composable]:
    """`lower(country) = value` when contacts sorted by a key with a country-scoped sort
    index (COUNTRY_SCOPED_CONTACT_SORTS) must be in one country: a condition every match
    meets, so the probe's window (then the first rows of that country in key order, read
    from that index) still holds every match up to its last row."""
    query = compiler.query
    if query.entity is not Entity.CONTACTS:
        return []
    if query.sort[0].field.name not in COUNTRY_SCOPED_CONTACT_SORTS:
        return []
    for group in query.filter.must:
        only = group.conditions[0] if len(group.conditions) == 1 else None
        if (
            isinstance(only, KeywordCondition)
            and only.field.name == "country"
            and len(only.values) == 1
        ):
            return [sql.SQL("lower(c.country) = {}").format(compiler.params.add(only.values[0]))]
    return []


# Contacts sorted on a company field: the probe reads this many companies in that order,
# and every other company sharing the last one's value, up to COMPANY_WINDOW_CAP in all.
# A company has ~10 contacts, so a filter matching 1 contact in 10 finds ~500 in them.
COMPANY_PROBE_WINDOW = 500
COMPANY_WINDOW_CAP = 4 * COMPANY_PROBE_WINDOW
# Company sort keys the walk serves: those with a companies sort index.
COMPANY_WALK_SORTS = INDEXED_SORTS[Entity.COMPANIES]
# Keys with a few dozen values (city, state, country): thousands of companies share each,
# so no window of companies ends between two values. The page's first rows are those of
# the first value's companies, in uuid order: `_group_probe` walks contacts by uuid.
COMPANY_GROUPED_SORTS = frozenset(FEW_VALUED_COMPANY_SORTS)
# The group probe reads at most this many contacts in uuid order: enough when the first
# value's companies hold 1 in 20 contacts and the filter keeps 1 in 10 of those (0.5 %).
GROUP_PROBE_WINDOW = 20_000
NIL_UUID = "00000000-0000-0000-0000-000000000000"
MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"


def walks_companies(query: Query) -> bool:
    """Contacts sorted first on a `company_` field the walk serves, from the start or from
    a cursor on a company value (a cursor among the contacts without one is past every
    company)."""
    column_name = company_field_of(query.sort[0].field.name)
    return (
        query.entity is Entity.CONTACTS
        and column_name in COMPANY_WALK_SORTS
        and (query.search_after is None or query.search_after[0] is not None)
    )


# Contacts sorted on a company field (`walks_companies`): the probe takes the first
# companies in that order with all those sharing the last one's value (`company_window`: a
# range of the sort index up to that value, at most {cap} companies) and the matching
# contacts among theirs. Its `need` rows are the first of the whole order when the window
# is complete (under {cap} companies: every company up to its last value is in it), or
# when the last of them sorts strictly before the window's last company value ({exact}):
# every contact outside the window has a company value from there on (or none: NULLs sort
# last). Else `matched`, as `_PROBED_SEARCH`.
_COMPANY_WALK_SEARCH = sql.SQL(
    "WITH company_window AS MATERIALIZED ("
    "SELECT co.* FROM companies AS co WHERE co.deleted_at IS NULL AND {key} IS NOT NULL{bound} "
    "AND {key} {within} coalesce((SELECT {key} FROM companies AS co WHERE co.deleted_at IS NULL "
    "AND {key} IS NOT NULL{bound} ORDER BY {company_order} OFFSET {window} - 1 LIMIT 1), "
    "(SELECT {last}({key}) FROM companies AS co WHERE co.deleted_at IS NULL)) "
    "ORDER BY {company_order} LIMIT {cap}"
    "), probe AS MATERIALIZED ("
    "SELECT {sort_values} FROM company_window AS co "
    "JOIN contacts AS c ON c.company_id = co.uuid "
    "WHERE {probe_where} ORDER BY {order} LIMIT {need}"
    "), {group_probe}matched AS MATERIALIZED ("
    "SELECT {sort_values} FROM {source} WHERE {where}"
    ") "
    "SELECT * FROM ("
    "SELECT * FROM probe WHERE {exact} "
    "UNION ALL {group_arm}"
    "SELECT * FROM matched WHERE NOT {exact}{not_group}"
    ") AS found ORDER BY {outer_order} LIMIT {limit} OFFSET {offset}"
)
# When the window is one value's companies cut at the cap (`_COMPANY_CAPPED_RUN`: 66k of
# 100k companies share a total funding of 0, so no window ends between two values) the
# probe cannot be exact (its last value is the window's), and the group probe
# (`_GROUP_PROBE`) pages that first value by contact uuid instead: it answers when it finds
# `need` rows. Tried only then: for a value of a few companies its uuid walk finds nothing.
_COMPANY_CAPPED_RUN = sql.SQL(
    "((SELECT count(*) FROM company_window) = {cap} "
    "AND (SELECT min({key}) = max({key}) FROM company_window AS co))"
)


def _compile_company_walk(
    compiler: _Compiler, query: Query, sort_values: sql.Composable
) -> CompiledSQL:
    """`_COMPANY_WALK_SEARCH` for the query."""
    if company_field_of(query.sort[0].field.name) in COMPANY_GROUPED_SORTS and len(query.sort) == 2:
        return _compile_probed(compiler, query, sort_values, _group_probe)
    need = compiler.params.add(query.offset + query.limit + 1)
    companies = max(COMPANY_PROBE_WINDOW, PROBE_FACTOR * (query.offset + query.limit + 1), 1)
    window = compiler.params.add(companies)
    cap = compiler.params.add(max(COMPANY_WINDOW_CAP, companies))
    descending = query.sort[0].direction is Direction.DESC
    exact, group_probe, group_arm, not_group = _company_group_arms(compiler, sort_values, need, cap)
    statement = _COMPANY_WALK_SEARCH.format(
        key=compiler.sort_expression(query.sort[0]),
        bound=_company_window_bound(compiler),
        within=sql.SQL(">=" if descending else "<="),
        # Fewer companies than the window: up to the last value (an index condition, so
        # the scan stops there).
        last=sql.SQL("min" if descending else "max"),
        company_order=_company_window_order(compiler),
        window=window,
        cap=cap,
        sort_values=sort_values,
        probe_where=compiler.probe_where(),
        order=compiler.order_by(),
        need=need,
        source=compiler.source(),
        where=compiler.where(),
        exact=exact,
        group_probe=group_probe,
        group_arm=group_arm,
        not_group=not_group,
        outer_order=compiler.order_by(_outer_sort_columns(query)),
        limit=compiler.params.add(query.limit + 1),
        offset=compiler.params.add(query.offset),
    )
    return CompiledSQL(statement, compiler.params.values, {**compiler.settings(), **PAGE_SETTINGS})


def _company_group_arms(
    compiler: _Compiler, sort_values: sql.Composable, need: sql.Composable, cap: sql.Composable
) -> tuple[sql.Composable, sql.Composable, sql.Composable, sql.Composable]:
    """For `_COMPANY_WALK_SEARCH`: the probe's `exact` condition, the group probe's CTEs,
    its arm, and what `matched` adds against it (`_COMPANY_CAPPED_RUN`). No group arm when
    keys come between the company key and the uuid tie-break: it pages by uuid alone."""
    query = compiler.query
    exact = _company_probe_is_exact(compiler, need, cap)
    if len(query.sort) != 2:
        return exact, sql.SQL(""), sql.SQL(""), sql.SQL("")
    capped_run = _COMPANY_CAPPED_RUN.format(cap=cap, key=compiler.sort_expression(query.sort[0]))
    answers = sql.SQL("({} AND (SELECT count(*) FROM group_probe) = {})").format(capped_run, need)
    return (
        # The same truth value as `exact` alone (see above), without running the probe.
        sql.SQL("(NOT {} AND {})").format(capped_run, exact),
        sql.SQL("{}, ").format(_group_probe(compiler, sort_values, need, name="group_probe")),
        sql.SQL("SELECT * FROM group_probe WHERE {} UNION ALL ").format(answers),
        sql.SQL(" AND NOT {}").format(answers),
    )


# Contacts sorted on a company key with few values (COMPANY_GROUPED_SORTS): `first_value`
# is the first company value in that order (from the cursor's on), `next_value` the one
# after it, and the probe walks the contacts by uuid (from the cursor's uuid when the
# cursor is in the first value) for those of the first value's companies that match,
# then, only when they are too few (a LIMIT 0 arm reads nothing), from the first uuid for
# those of the next value's: a page that crosses from one value to the next, as every
# walk of the whole result does once per value. Within each value uuid order is the
# page's order, each value's rows come before the next's, no company value lies between
# the two, and every match outside the walks comes after: `need` rows found are the page.
_GROUP_PROBE = sql.SQL(
    "first_value AS MATERIALIZED ("
    "SELECT {key} AS value FROM companies AS co WHERE co.deleted_at IS NULL AND {key} IS NOT NULL"
    "{bound} ORDER BY {company_order} LIMIT 1"
    "), next_value AS MATERIALIZED ("
    "SELECT {key} AS value FROM companies AS co WHERE co.deleted_at IS NULL AND {key} IS NOT NULL"
    " AND {key} {beyond} (SELECT value FROM first_value) ORDER BY {company_order} LIMIT 1"
    "), {walks}"
)
# Two values' walks as one probe named {name}: the first value's matches (at most `need`),
# then the next value's, only when the first are too few AND its walk read every row it
# could (fewer than `window`: a walk cut at its window may have left matches of the first
# value unread, and then the next value's rows are not the page's). Both checks run only
# when needed (the AND stops at the first; a LIMIT 0 arm reads nothing, not even
# `next_value`), the second re-reading the first walk's rows, uuids only.
_TWO_VALUE_WALKS = sql.SQL(
    "{first_part} AS MATERIALIZED ({first_walk} LIMIT {need}"
    "), {name} AS MATERIALIZED (SELECT * FROM {first_part} UNION ALL ({next_walk} "
    "LIMIT CASE WHEN (SELECT count(*) FROM {first_part}) < {need} "
    "AND (SELECT count(*) FROM ({first_read}) AS first_read) < {window} "
    "THEN {need} - (SELECT count(*) FROM {first_part}) ELSE 0 END))"
)
# One value's walk: contacts from `from_uuid` on in uuid order (`read`: at most `window`),
# those of the value's live companies that match, in uuid order.
_GROUP_READ = sql.SQL(
    "SELECT c.* FROM contacts AS c WHERE c.deleted_at IS NULL AND c.uuid {from_uuid} "
    "ORDER BY c.uuid {direction} LIMIT {window}"
)
_GROUP_WALK = sql.SQL(
    "SELECT {sort_values} FROM ({read}) AS c JOIN LATERAL (SELECT co.* FROM companies AS co "
    "WHERE co.uuid = c.company_id AND co.deleted_at IS NULL "
    "AND {key} = (SELECT value FROM {value}) OFFSET 0) AS co ON true "
    "WHERE {probe_where} ORDER BY c.uuid {direction}"
)


def _group_probe(
    compiler: _Compiler, sort_values: sql.Composable, need: sql.Composable, name: str = "probe"
) -> sql.Composable:
    """`_GROUP_PROBE` for the query: the probe of `_compile_probed`'s statement (or of the
    company walk's, under another `name`)."""
    query = compiler.query
    descending = query.sort[1].direction is Direction.DESC  # the uuid tie-break
    key = compiler.sort_expression(query.sort[0])
    direction = sql.SQL("DESC" if descending else "ASC")
    window = compiler.params.add(GROUP_PROBE_WINDOW)
    probe_where = compiler.probe_where()

    def walk(value: str, from_uuid: sql.Composable) -> tuple[sql.Composable, sql.Composable]:
        read = _GROUP_READ.format(from_uuid=from_uuid, direction=direction, window=window)
        return read, _GROUP_WALK.format(
            sort_values=sort_values,
            read=read,
            key=key,
            value=sql.Identifier(value),
            probe_where=probe_where,
            direction=direction,
        )

    return _GROUP_PROBE.format(
        key=key,
        bound=_company_window_bound(compiler),
        company_order=_company_window_order(compiler),
        beyond=sql.SQL("<" if query.sort[0].direction is Direction.DESC else ">"),
        walks=_two_value_walks(compiler, walk, need, window, name),
    )


def _two_value_walks(
    compiler: _Compiler,
    walk: Callable[[str, sql.Composable], tuple[sql.Composable, sql.Composable]],
    need: sql.Composable,
    window: sql.Composable,
    name: str,
) -> sql.Composable:
    """`_TWO_VALUE_WALKS` of `walk(value CTE, where its uuid walk starts)`, which gives the
    walk's rows read (at most `window`) and its matches: `first_value`'s from the cursor
    (`_group_walk_start`), `next_value`'s from the first uuid."""
    descending = compiler.query.sort[1].direction is Direction.DESC  # the uuid tie-break
    first_uuid = sql.SQL("{} {}::uuid").format(
        sql.SQL("<=" if descending else ">="),
        compiler.params.add(MAX_UUID if descending else NIL_UUID),
    )
    first_read, first_walk = walk("first_value", _group_walk_start(compiler, descending))
    return _TWO_VALUE_WALKS.format(
        first_part=sql.Identifier(f"{name}_first_value"),
        first_walk=first_walk,
        need=need,
        name=sql.SQL(name),
        next_walk=walk("next_value", first_uuid)[1],
        first_read=first_read,
        window=window,
    )


def _pinned_probe(
    compiler: _Compiler, sort_values: sql.Composable, need: sql.Composable
) -> sql.Composable:
    """The pinned value walk (vql/pinned_sort.py): the probe of `_compile_probed`'s
    statement, over the first value the filter keeps and the next one."""
    query = compiler.query
    condition = pinned_sort.pinning_condition(query)
    assert condition is not None
    order, beyond = pinned_sort.walk_direction(query)
    descending = query.sort[1].direction is Direction.DESC  # the uuid tie-break
    table = sql.Identifier(query.entity.value)
    key = compiler.sort_expression(query.sort[0])
    values = compiler.params.add(list(condition.values))
    steps = compiler.params.add(pinned_sort.PINNED_VALUE_STEPS)

    def kept_value(name: str, bound: sql.Composable) -> sql.Composable:
        return pinned_sort.PINNED_VALUE.format(
            name=sql.Identifier(name),
            column=compiler.column(query.sort[0].field),
            table=table,
            key=key,
            bound=bound,
            direction=order,
            beyond=beyond,
            values=values,
            steps=steps,
        )

    window = compiler.params.add(_probe_window(query))
    probe_where = compiler.probe_where()

    direction = sql.SQL("DESC" if descending else "ASC")

    def walk(value: str, from_uuid: sql.Composable) -> tuple[sql.Composable, sql.Composable]:
        read = pinned_sort.PINNED_READ.format(
            table=table,
            key=key,
            value=sql.Identifier(value),
            from_uuid=from_uuid,
            direction=direction,
            window=window,
        )
        return read, pinned_sort.PINNED_WALK.format(
            sort_values=sort_values,
            read=read,
            table=table,
            join=_probe_join(query),
            probe_where=probe_where,
            direction=direction,
        )

    after_first = sql.SQL(' AND {} {} ((SELECT value FROM first_value) COLLATE "C")').format(
        key, beyond
    )
    return sql.SQL("{}, {}, {}").format(
        kept_value("first_value", _company_window_bound(compiler)),
        kept_value("next_value", after_first),
        _two_value_walks(compiler, walk, need, window, "probe"),
    )


def _group_walk_start(compiler: _Compiler, descending: bool) -> sql.Composable:
    """Where the uuid walk starts (an index condition): the cursor's uuid when the cursor
    is in the first value (the keyset then excludes the cursor's row itself), else the
    first uuid in the walk's direction."""
    query = compiler.query
    operator, first = ("<=", MAX_UUID) if descending else (">=", NIL_UUID)
    start: sql.Composable = sql.SQL("{}::uuid").format(compiler.params.add(first))
    if query.search_after is not None:
        value, cursor_uuid = query.search_after
        start = sql.SQL("CASE WHEN value = {} THEN {}::uuid ELSE {} END").format(
            compiler.params.add(value), compiler.params.add(cursor_uuid), start
        )
    return sql.SQL("{} (SELECT {} FROM first_value)").format(sql.SQL(operator), start)


def _company_window_bound(compiler: _Compiler) -> sql.Composable:
    """After a cursor, the window starts at its company value (the keyset stays the exact
    filter of the contacts)."""
    query = compiler.query
    if query.search_after is None:
        return sql.SQL("")
    first = query.sort[0]
    operator = "<=" if first.direction is Direction.DESC else ">="
    return sql.SQL(" AND {} {} {}").format(
        compiler.sort_expression(first),
        sql.SQL(operator),
        compiler.params.add(query.search_after[0]),
    )


def _company_window_order(compiler: _Compiler) -> sql.Composable:
    """The companies' sort index order (the value is never NULL in the window): ascending,
    or a descending index's `DESC NULLS LAST` where companies have one, else a backward
    scan of the ascending index."""
    first = compiler.query.sort[0]
    key = compiler.sort_expression(first)
    if first.direction is Direction.ASC:
        return sql.SQL("{} ASC, co.uuid ASC").format(key)
    column_name = company_field_of(first.field.name)
    if column_name in DESC_INDEXED_SORTS[Entity.COMPANIES]:
        return sql.SQL("{} DESC NULLS LAST, co.uuid DESC").format(key)
    return sql.SQL("{} DESC, co.uuid DESC").format(key)


def _company_probe_is_exact(
    compiler: _Compiler, need: sql.Composable, cap: sql.Composable
) -> sql.Composable:
    """The probe holds `need` rows and either the window is complete (under the cap) or
    the probe's last value sorts strictly before the window's last one."""
    first = compiler.query.sort[0]
    probe_key = _outer_sort_columns(compiler.query)[0]
    window_key = compiler.sort_expression(first)
    last, before = ("min", ">") if first.direction is Direction.DESC else ("max", "<")
    return sql.SQL(
        "((SELECT count(*) FROM probe) = {need} AND ("
        "(SELECT count(*) FROM company_window) < {window} OR "
        "(SELECT {last}({probe_key}) FROM probe) {before} "
        "(SELECT {last}({window_key}) FROM company_window AS co)))"
    ).format(
        need=need,
        window=cap,
        last=sql.SQL(last),
        probe_key=probe_key,
        before=sql.SQL(before),
        window_key=window_key,
    )


def _probe_join(query: Query) -> sql.Composable:
    if needs_company_join(query):
        return sql.SQL(
            " LEFT JOIN companies AS co ON co.uuid = c.company_id AND co.deleted_at IS NULL"
        )
    return sql.SQL("")


def _outer_sort_columns(query: Query) -> list[sql.Composable]:
    """The page's sort columns by name; text ones in "C" collation, as `sort_expression`."""
    sort_columns: list[sql.Composable] = []
    for index, key in enumerate(query.sort):
        name = sql.Identifier(f"sort_{index}")
        if key.field.kind in (FieldKind.TEXT, FieldKind.KEYWORD):
            sort_columns.append(sql.SQL('({} COLLATE "C")').format(name))
        else:
            sort_columns.append(name)
    return sort_columns


def compile_count(query: Query, up_to: int | None = None) -> CompiledSQL:
    """The number of matches, exact; with `up_to`, bounded (see `_bounded_count`)."""
    compiler = _Compiler(query)
    where = compiler.where(paged=False)
    if up_to is None:
        statement = sql.SQL("SELECT count(*) AS count FROM {source} WHERE {where}").format(
            source=compiler.source(), where=where
        )
        return CompiledSQL(statement, compiler.params.values, compiler.settings())
    if not _probe_pays(query):
        # count(created_at), never NULL: a column the scan must return that no index
        # holding a filtered column has. Without it the planner may read the filtered
        # field's own sort index (field, uuid) index-only, costed as if the matches were
        # spread evenly along it; but that index is sorted by the field, so its matches
        # sit together, maybe at the end: 780k entries read for `seniority = senior`
        # (350 ms at 1M) where the sequential scan stops after 9k rows (5 ms).
        statement = sql.SQL(
            "SELECT count(m.created_at) AS count FROM (SELECT c.created_at FROM {source} "
            "WHERE {where} LIMIT {bound}) AS m"
        ).format(source=compiler.source(), where=where, bound=compiler.params.add(up_to + 1))
        return CompiledSQL(
            statement, compiler.params.values, {**compiler.settings(), **PAGE_SETTINGS}
        )
    return _bounded_count(compiler, where, up_to)


def _probe_pays(query: Query) -> bool:
    """The count probe saves the bitmap of a frequent word's trigrams, which only a must
    word, phrase or substring condition builds; keyword and range indexes give their
    matches cheaply, and a fuzzy condition costs too much per row to test 20,000 rows."""
    return any(
        isinstance(condition, TextCondition) and not condition.fuzzy
        for group in query.filter.must
        for condition in group.conditions
    )


# A bounded count first reads this many rows in table order: a filter matching more than
# the bound among them is answered there ("gte"), before any index is read.
COUNT_PROBE_ROWS = 20_000


def _bounded_count(compiler: _Compiler, where: sql.Composable, up_to: int) -> CompiledSQL:
    """At most `up_to` + 1 matches counted (one more than the bound says "at least").

    Two steps, as the page probe (`compile_search`): `probe` reads the first
    COUNT_PROBE_ROWS rows in table order and keeps the matches, up to the bound + 1.
    When it finds that many, that is the answer: a dense filter costs a short sequential
    read, never the full bitmap of a frequent word's trigrams. Otherwise (only then: the
    CASE evaluates the other subquery lazily) the filter's own indexes find the matches,
    still stopping at the bound + 1; the filter matched under bound / COUNT_PROBE_ROWS of
    the rows, so its index has few enough entries.
    """
    query = compiler.query
    bound = compiler.params.add(up_to + 1)
    join = sql.SQL("")
    if needs_company_join(query):
        join = sql.SQL(
            " LEFT JOIN companies AS co ON co.uuid = c.company_id AND co.deleted_at IS NULL"
        )
    statement = sql.SQL(
        "WITH probe AS MATERIALIZED ("
        "SELECT 1 FROM (SELECT c.* FROM {table} AS c WHERE c.deleted_at IS NULL LIMIT {rows}"
        ") AS c{join} WHERE {probe_where} LIMIT {bound}"
        ") SELECT CASE WHEN (SELECT count(*) FROM probe) = {bound} THEN {bound} "
        "ELSE (SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {bound}) AS m) "
        "END AS count"
    ).format(
        table=sql.Identifier(query.entity.value),
        rows=compiler.params.add(COUNT_PROBE_ROWS),
        join=join,
        probe_where=compiler.probe_where(paged=False),
        where=where,
        bound=bound,
        source=compiler.source(),
    )
    return CompiledSQL(statement, compiler.params.values, {**compiler.settings(), **PAGE_SETTINGS})
