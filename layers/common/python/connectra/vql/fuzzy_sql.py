"""The PostgreSQL form of fuzzy text conditions (vql/sql.py's compiler calls these): the
exact per-word check and the trigram prefilter its index serves."""

from __future__ import annotations

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
    term's prefilter text (`shared`: `folded %> text` conditions, fuzzy_similarity_threshold),
    or holds a CJK character (where pg_trgm's words are not connectra's: HOLDS_CJK_PATTERN).
    A BitmapOr of the field's trigram GIN and its CJK partial index; loses no match.

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


def intact_pieces(term: str) -> list[str] | None:
    """Pieces of the term at least one of which every word within AUTO edits of it holds
    verbatim; None when the term is too short for pieces of 3 characters (the trigram
    index serves `LIKE '%piece%'` only from 3 characters on).

    The term is cut into k + 1 pieces (k = its AUTO edits) with one character left out
    between consecutive pieces. Take the k edits turning the term into a word (optimal
    string alignment: substitutions, deletions, insertions, transpositions of adjacent
    characters, no character edited twice). A substitution or deletion touches the one
    piece holding its character (or none, on a left-out one); an insertion touches the
    piece it falls strictly inside (none between pieces); a transposition touches two
    adjacent characters, and two pieces are never adjacent (a left-out character lies
    between), so it touches at most one. k edits touch at most k pieces: one is left
    whole, and sits in the word unchanged. The word is a substring of the folded text
    (connectra_words cuts the folded text into words), so the folded text holds that
    piece: `folded LIKE '%piece%'` for one piece at least (a plain substring test, which
    neither pg_trgm's word boundaries nor its similarity measures enter).
    """
    edits = max_edits(term)
    kept = len(term) - edits  # characters in the pieces
    if edits == 0 or kept < MIN_PIECE_LENGTH * (edits + 1):
        return None
    if not trigram_prefilter_is_exact(term):
        return None  # pg_trgm would cut a piece at a mark: fewer trigrams, or none
    pieces: list[str] = []
    start = 0
    for index in range(edits + 1):
        # The kept characters spread evenly; the longer pieces first.
        length = kept // (edits + 1) + (1 if index < kept % (edits + 1) else 0)
        pieces.append(term[start : start + length])
        start += length + 1  # then one left-out character
    return pieces


# The shortest substring the trigram index serves: `LIKE '%abc%'` looks up trigram "abc".
MIN_PIECE_LENGTH = 3


def pieces_prefilter(params: Params, folded: sql.Composable, pieces: list[str]) -> sql.Composable:
    """The folded text holds one of the pieces: a BitmapOr of trigram-GIN scans, each
    rechecked by LIKE itself (exact). Pieces are letters and digits (intact_pieces), so
    nothing in them is a LIKE wildcard or escape."""
    return sql.SQL("({})").format(
        sql.SQL(" OR ").join(
            sql.SQL("{} LIKE {}").format(folded, params.add(f"%{piece}%")) for piece in pieces
        )
    )
