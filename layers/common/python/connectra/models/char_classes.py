"""Code point classes as bracket-expression bodies, shared by the text rules
(vql/text.py), the SQL text functions (migration 0008) and the search structures' partial
indexes (db/search_structures.py): one definition below both layers."""

from __future__ import annotations

from connectra.models.unicode_classes import CJK_RANGES, STRIPPED_RANGES, WORD_RANGES


def class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    """A bracket expression's body for code point ranges, in `\\u` + 4 or `\\U` + 8 hex digit
    escapes: the same text is a Python `re` and a PostgreSQL (ARE) character class."""

    def escape(code: int) -> str:
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"

    return "".join(
        escape(low) if low == high else f"{escape(low)}-{escape(high)}" for low, high in ranges
    )


WORD_CLASS = class_body(WORD_RANGES)
CJK_CLASS = class_body(CJK_RANGES)
STRIPPED_CLASS = class_body(STRIPPED_RANGES)
VOICING_CLASS = class_body(((0x3099, 0x309A),))

# Letters to pg_trgm (glibc's iswalnum, C.UTF-8) that connectra_words takes for
# separators: the negative circled and squared Latin letters (So, Alphabetic, without a
# decomposition: connectra_fold keeps them). pg_trgm joins the words beside them: `🅰cax`
# is one pg_trgm word, connectra's word is `cax`. Every such character of the server's
# locale is listed (tests/integration/search/test_text_functions.py checks it).
JOINED_LETTER_RANGES: tuple[tuple[int, int], ...] = ((0x1F150, 0x1F169), (0x1F170, 0x1F189))

# A folded text holding a CJK character, or a letter pg_trgm joins (JOINED_LETTER_RANGES).
# connectra_words makes each CJK character a word of its own, pg_trgm joins it to the
# letters beside it: in `東abdc東` pg_trgm sees one word, so `abcd` (one transposition
# from the word `abdc`) shares no trigram with it. The fuzzy trigram prefilter
# (vql/fuzzy_sql.py) therefore also keeps these rows (few: a small partial index per field
# holds them, db/search_structures.py, whose predicate is this same text).
HOLDS_CJK_PATTERN = f"[{CJK_CLASS}{class_body(JOINED_LETTER_RANGES)}]"


def holds_cjk(folded: str) -> str:
    """The SQL condition "this folded column holds a CJK character", written exactly as
    the partial indexes' predicate (the planner matches the two as expressions)."""
    return f"{folded} ~ '{HOLDS_CJK_PATTERN}'"
