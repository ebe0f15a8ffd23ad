"""The PostgreSQL form of fuzzy text conditions (vql/sql.py's compiler calls these): the
exact per-word check and the trigram prefilter its index serves."""

from __future__ import annotations

import itertools
import unicodedata
from typing import TYPE_CHECKING

from psycopg import sql

from connectra.models.char_classes import HOLDS_CJK_PATTERN
from connectra.vql.fuzzy import max_edits

if TYPE_CHECKING:
    from connectra.vql.sql import Params


def fuzzy_match(params: Params, term: str, words: sql.Composable, edits: int) -> sql.Composable:
    """Some stored word within `edits` (1 or 2) OSA edits of the term: the semantics of
    migration 0008's connectra_fuzzy_match, written inline (a SQL function holding a
    sub-select is never inlined: its per-call overhead dominated fuzzy rechecks).

    A word within `edits` Levenshtein edits matches. Otherwise it matches only through
    a transposition of adjacent characters; once that transposition is undone (one of
    the term's one-swap variants) at most edits - 1 OSA edits remain. With one edit the
    word is then exactly a variant. With two it is within one OSA edit of a variant,
    so within 2 Levenshtein edits of it: a cheap C check that leaves the exact OSA
    distance (connectra_osa_distance, PL/pgSQL) to the few words that pass it.
    """
    term_param = params.add(term)
    variants = params.add(swap_variants(term)[1:])
    if edits == 1:
        transposed = sql.SQL("w.word = ANY({}::text[])").format(variants)
    else:
        transposed = sql.SQL(
            "EXISTS (SELECT 1 FROM unnest({variants}::text[]) AS v(variant) "
            "WHERE public.levenshtein_less_equal(w.word, v.variant, 2) <= 2) "
            "AND public.connectra_osa_distance(w.word, {term}) <= 2"
        ).format(variants=variants, term=term_param)
    return sql.SQL(
        "EXISTS (SELECT 1 FROM unnest({words}) AS w(word) "
        "WHERE abs(length(w.word) - {length}) <= {edits} "
        "AND (public.levenshtein_less_equal(w.word, {term}, {edits}) <= {edits} "
        "OR ({transposed})))"
    ).format(
        words=words,
        length=params.add(len(term)),
        edits=sql.Literal(edits),
        term=term_param,
        transposed=transposed,
    )


def swap_variants(term: str) -> list[str]:
    """The term and every spelling of it with two adjacent characters swapped."""
    variants = [term]
    for i in range(len(term) - 1):
        swapped = term[:i] + term[i + 1] + term[i] + term[i + 2 :]
        if swapped not in variants:
            variants.append(swapped)
    return variants


# At most how many of a word's padded trigrams one edit changes: a transposition (the
# trigrams holding either swapped character; an insertion, deletion or substitution
# changes at most 3).
TRIGRAMS_PER_EDIT = 4


def fuzzy_prefilter(term: str) -> str:
    """The text whose trigrams every word within AUTO edits of `term` shares one of.

    pg_trgm pads a word of length L to "  word ", L + 1 trigrams. k edits (insertions,
    deletions, substitutions, transpositions of adjacent characters) change at most
    4k of them and the others stay, so when L + 1 > 4k the term itself is enough: L >= 4
    for one edit, L >= 8 for two. Shorter terms (3, 6 and 7 characters) also take their
    one-swap variants, joined by spaces (one condition the trigram GIN serves; an OR of
    one per variant is not index-served): once the word's first transposition is
    swapped back (one of the variants) at most one edit remains, which changes at most 4
    of L + 1 >= 7 trigrams when k = 2 and none when k = 1; with no transposition at
    most 3k of the term's L + 1 change, L + 1 - 3k >= 1.
    """
    if len(term) + 1 > TRIGRAMS_PER_EDIT * max_edits(term):
        return term
    return " ".join(swap_variants(term))


def fuzzy_trigram_prefilter(
    shared: list[sql.Composable], folded: sql.Composable, live: sql.Composable
) -> sql.Composable:
    """The fuzzy terms' index-served prefilter: the folded text shares a trigram with each
    term's prefilter text, or has a word close enough to it (`shared`: `folded %> text`
    conditions under fuzzy_similarity_threshold, `folded %>> text` ones under
    strict_similarity_threshold), or holds a CJK character (where pg_trgm's words are not
    connectra's: HOLDS_CJK_PATTERN). A BitmapOr of the field's trigram GIN and its CJK
    partial index; loses no match.

    Written as the bitmap's own condition, `((index conditions AND the trigram index's
    predicate) OR the CJK index's predicate)`: `live` is the row's `deleted_at IS NULL`
    (which the query requires anyway), and `%>` the form the GIN takes. PostgreSQL then
    finds the query's condition among the bitmap's (equal()) and checks it once, in the
    recheck; otherwise it checked the OR again as a filter (`%>` is STABLE: no implication
    proof), a second trigram test per candidate (+20-30 % on fuzzy hits)."""
    return sql.SQL("(({} AND {}) OR {} ~ {})").format(
        sql.SQL(" AND ").join(shared), live, folded, sql.Literal(HOLDS_CJK_PATTERN)
    )


def trigram_prefilter_is_exact(term: str) -> bool:
    """pg_trgm cuts words at characters that are not letters or digits (combining marks
    of some scripts among them): the trigram bound below holds for terms of letters and
    digits only; other terms are checked without the prefilter."""
    return all(unicodedata.category(char)[0] in "LN" for char in term)


def trigram_count_bound(text: str) -> int:
    """At most how many distinct trigrams pg_trgm extracts from `text`: each word of
    length n is padded to "  word " and gives n + 1."""
    return sum(len(word) + 1 for word in text.split())


def padded_trigrams(word: str) -> list[str]:
    """pg_trgm's trigrams of one word of letters and digits, in order: "  word " cut into
    its len(word) + 1 windows of 3 characters."""
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def fewest_kept_trigrams(word: str, edits: int, per_edit: int) -> int:
    """The fewest distinct trigrams of `word` (padded_trigrams) that `edits` edits can
    leave in place, each edit spoiling at most `per_edit` consecutive trigram windows.

    An edit of the optimal string alignment touches one character of the word
    (substitution, deletion: the <= 3 windows holding it), the gap between two (insertion:
    the <= 2 windows spanning it) or two adjacent ones (transposition: the <= 4 windows
    holding either); a window touched by no edit reads the same in the edited word, padding
    included. Spoiling a longer run only keeps fewer, so the edits are taken as runs of
    exactly `per_edit` windows (cut at the word's ends), at every position."""
    windows = padded_trigrams(word)
    starts = range(1 - per_edit, len(windows))
    fewest = len(set(windows))
    for chosen in itertools.combinations_with_replacement(starts, edits):
        spoiled = {at for start in chosen for at in range(start, start + per_edit)}
        kept = {window for at, window in enumerate(windows) if at not in spoiled}
        fewest = min(fewest, len(kept))
    return fewest


def shared_trigram_floor(term: str) -> int:
    """At least how many distinct trigrams of `fuzzy_prefilter(term)` every word within AUTO
    edits of the term holds (each one of them within the word's own trigram windows).

    A term alone as its prefilter (len + 1 > 4k): k edits, each spoiling <= 4 windows. With
    its swap variants: a word reached without transposition took k edits of <= 3 windows;
    otherwise, once its first transposition is undone (one of the variants; swapping two
    equal characters is no edit), k - 1 edits remain, of <= 4 windows each, in the
    variant's windows. The term's and the variants'
    trigrams are all the prefilter's. Trigrams of non-ASCII characters are hashed to 3
    bytes by pg_trgm, and two may merge: one trigram is all such a term is credited with
    (one survives: fuzzy_prefilter)."""
    edits = max_edits(term)
    if not term.isascii():
        return 1
    if len(term) + 1 > TRIGRAMS_PER_EDIT * edits:  # fuzzy_prefilter's test: the term alone
        return fewest_kept_trigrams(term, edits, TRIGRAMS_PER_EDIT)
    untransposed = fewest_kept_trigrams(term, edits, 3)
    transposed = [
        fewest_kept_trigrams(variant, edits - 1, TRIGRAMS_PER_EDIT)
        for variant in swap_variants(term)[1:]
    ]
    return min([untransposed, *transposed])


def strict_similarity_floor(term: str) -> float:
    """A lower bound of `strict_word_similarity(fuzzy_prefilter(term), folded)` over every
    folded text holding a word within AUTO edits of the term.

    strict_word_similarity(q, f) (pg_trgm, non-CJK text) is the best, over extents of f's
    trigram sequence from a word's first trigram to a word's last, of c / (N + x): N the
    distinct trigrams of q, c those of q in the extent, x the extent's other distinct
    trigrams. pg_trgm's search (iterate_word_similarity, strict) moves the extent's start
    only when it reaches a word's last trigram, and then only to a word start at or before
    it: on reaching the matching word's last trigram the start has not passed that word's
    first one, so the extent of that word alone is among those it weighs. That extent
    holds c >= shared_trigram_floor(term) of q's trigrams, and at most len(word) + 1 <=
    len(term) + k + 1 = P trigrams in all, so x <= P - c and c / (N + x) >=
    c / (N + P - c) >= floor / (N + P - floor). N: the distinct trigrams of the prefilter
    (an upper bound for non-ASCII terms, whose hashed trigrams may merge: the bound falls
    as N grows).

    Like the one-trigram prefilter, this takes pg_trgm's words for connectra's: the rows
    holding a character where the two part (CJK, models/char_classes.py
    JOINED_LETTER_RANGES, which pg_trgm joins to its neighbours, SPLIT_LETTER_RANGES,
    which it cuts words at) are ORed in (fuzzy_trigram_prefilter).
    """
    prefilter = fuzzy_prefilter(term)
    floor = shared_trigram_floor(term)
    if term.isascii():
        distinct = len({t for word in prefilter.split() for t in padded_trigrams(word)})
    else:
        distinct = trigram_count_bound(prefilter)
    longest = len(term) + max_edits(term) + 1
    return floor / (distinct + longest - floor)


def takes_strict_prefilter(term: str) -> bool:
    """Whether the term's prefilter is `folded %>> text` under strict_similarity_threshold
    (every match keeps 2 or more of the text's trigrams: rows sharing one are dropped), or
    `folded %> text` under fuzzy_similarity_threshold (one shared trigram, where the floor
    is 1: the same rows either way, and the plans `%>`'s estimates gave)."""
    return shared_trigram_floor(term) >= STRICT_FLOOR


STRICT_FLOOR = 2
# Under the exact bound: float4 similarities in pg_trgm against a double threshold.
THRESHOLD_MARGIN = 0.99


def fuzzy_similarity_threshold(prefilters: list[str]) -> float | None:
    """A `<%` threshold under which `prefilter <% folded` holds exactly when the folded text
    shares at least one trigram with the prefilter text (`fuzzy_prefilter`).

    `q <% f` is word_similarity(q, f) >= threshold, and word_similarity is the largest
    share of q's N distinct trigrams found in one extent of f: at least 1 / N when one
    trigram is shared, 0 when none is. Any threshold in (0, 1 / N] for every prefilter of
    the query therefore means "one shared trigram" (the GIN index's consistent check,
    shared / N >= threshold, says the same).
    """
    if not prefilters:
        return None
    return 0.99 / max(trigram_count_bound(prefilter) for prefilter in prefilters)


def strict_similarity_threshold(terms: list[str]) -> float | None:
    """pg_trgm.strict_word_similarity_threshold for the `folded %>> prefilter` conditions of
    the terms that take them (takes_strict_prefilter; one setting for all of them): the
    least strict_similarity_floor of the terms, so that no match is lost (a little under
    it: THRESHOLD_MARGIN).

    The trigram GIN's check, (q's trigrams in the row) / N >= threshold, bounds the
    similarity from above (c / (N + x) <= c / N), so it keeps every row the similarity
    keeps. Each term then needs at least threshold * N of its prefilter's trigrams in the
    row: 2 or more for most, where one trigram of a short term (e.g. the first letter,
    "  y") let through a third of the rows.
    """
    if not terms:
        return None
    return THRESHOLD_MARGIN * min(strict_similarity_floor(term) for term in terms)


def intact_pieces(term: str) -> list[str] | None:
    """Pieces of the term at least one of which every word within AUTO edits of it holds
    verbatim; None when the term is too short for pieces of 3 characters (the trigram
    index serves `LIKE '%piece%'` only from 3 characters on).

    The term is cut into k + 1 pieces (k = its AUTO edits) with one character left out
    between consecutive pieces (`_cut`: any such cut, here the kept characters spread
    evenly). Take the k edits turning the term into a word (optimal string alignment:
    substitutions, deletions, insertions, transpositions of adjacent characters, no
    character edited twice). A substitution or deletion touches the one piece holding
    its character (or none, on a left-out one); an insertion touches the piece it falls
    strictly inside (none between pieces); a transposition touches two adjacent
    characters, and two pieces are never adjacent (a left-out character lies between),
    so it touches at most one. k edits touch at most k pieces: one is left whole
    ("intact": its characters sit in the word unchanged and side by side). The word is a
    substring of the folded text (connectra_words cuts the folded text into words), so
    the folded text holds that piece: `folded LIKE '%piece%'` for one piece at least (a
    plain substring test, which neither pg_trgm's word boundaries nor its similarity
    measures enter).
    """
    spans = _even_cut(term)
    return None if spans is None else [term[start:end] for start, end in spans]


def intact_patterns(term: str) -> list[str] | None:
    """LIKE patterns at least one of which the folded text of every row holding a word
    within AUTO edits of the term matches: narrower than the pieces alone (`intact_pieces`),
    which a common run of the term (a company name inside a domain) can leave thousands
    of rows each. None when the term is too short for pieces.

    Two cuts of the term (`_cut`), the even one and one with 3-character end pieces and
    a long middle, each leave one piece intact (`intact_pieces`' proof holds for any
    cut): the word holds an intact piece `a` of the first and an intact piece `b` of the
    second, both unedited in the alignment. When they overlap in the term (or one holds
    the other) the alignment maps their shared characters to the same place in the word,
    so the word holds their union, one substring; when they are apart it keeps their
    order, so the word holds the first, then (not overlapping) the second: `%first%second%`.
    One pattern per pair, a trigram-GIN scan each (their trigrams intersected inside the
    index), and every match matches the pattern of its intact pair: no match is lost.
    """
    even = _even_cut(term)
    if even is None:
        return None
    middle = _long_middle_cut(term)
    patterns = {_pair_pattern(term, a, b) for a in even for b in middle}
    # A pattern whose every match matches another one adds no row to the OR: one index
    # scan fewer (`%pedtailspin3%` beside `%ailspin3%`).
    return sorted(p for p in patterns if not any(_implies(p, q) for q in patterns - {p}))


Span = tuple[int, int]  # [start, end) of a piece in the term


def _even_cut(term: str) -> list[Span] | None:
    """The k + 1 pieces of `intact_pieces`, the kept characters spread evenly (the longer
    pieces first); None when the term is too short or not all letters and digits."""
    edits = max_edits(term)
    kept = len(term) - edits  # characters in the pieces
    if edits == 0 or kept < MIN_PIECE_LENGTH * (edits + 1):
        return None
    if not trigram_prefilter_is_exact(term):
        return None  # pg_trgm would cut a piece at a mark: fewer trigrams, or none
    count = edits + 1
    return _cut([kept // count + (1 if index < kept % count else 0) for index in range(count)])


def _long_middle_cut(term: str) -> list[Span]:
    """k + 1 pieces (the term has `_even_cut` pieces): the first and last of
    MIN_PIECE_LENGTH characters, the middle ones sharing the rest evenly (with one edit,
    a short first piece and a long second)."""
    count = max_edits(term) + 1
    kept = len(term) - (count - 1)
    if count == 2:
        return _cut([MIN_PIECE_LENGTH, kept - MIN_PIECE_LENGTH])
    middle = kept - 2 * MIN_PIECE_LENGTH
    inner = count - 2
    lengths = [middle // inner + (1 if index < middle % inner else 0) for index in range(inner)]
    return _cut([MIN_PIECE_LENGTH, *lengths, MIN_PIECE_LENGTH])


def _cut(lengths: list[int]) -> list[Span]:
    """Consecutive pieces of these lengths from the term's start, one character left out
    between neighbours."""
    spans: list[Span] = []
    start = 0
    for length in lengths:
        spans.append((start, start + length))
        start += length + 1
    return spans


def _implies(pattern: str, other: str) -> bool:
    """Every text matching `pattern` matches `other` (both `%piece%…%`): the other's
    pieces lie in order inside the pattern's pieces, each within one of them (its
    characters then occur in every match in that order, none overlapping)."""
    pieces = pattern.strip("%").split("%")
    index, offset = 0, 0
    for needed in other.strip("%").split("%"):
        while index < len(pieces) and (found := pieces[index].find(needed, offset)) < 0:
            index, offset = index + 1, 0
        if index == len(pieces):
            return False
        offset = found + len(needed)
    return True


def _pair_pattern(term: str, one: Span, other: Span) -> str:
    """The LIKE pattern a word holding both pieces intact matches (`intact_patterns`)."""
    (first_start, first_end), (second_start, second_end) = sorted([one, other])
    if second_start < first_end:  # they overlap: one substring
        return f"%{term[first_start : max(first_end, second_end)]}%"
    return f"%{term[first_start:first_end]}%{term[second_start:second_end]}%"


# The shortest substring the trigram index serves: `LIKE '%abc%'` looks up trigram "abc".
MIN_PIECE_LENGTH = 3


def pieces_prefilter(params: Params, folded: sql.Composable, patterns: list[str]) -> sql.Composable:
    """The folded text matches one of the patterns (`intact_patterns`): a BitmapOr of
    trigram-GIN scans, each rechecked by LIKE itself (exact). Pieces are letters and
    digits (`_even_cut`), so nothing in them is a LIKE wildcard or escape."""
    return sql.SQL("({})").format(
        sql.SQL(" OR ").join(
            sql.SQL("{} LIKE {}").format(folded, params.add(pattern)) for pattern in patterns
        )
    )
