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
# is one pg_trgm word, connectra's word is `cax`.
JOINED_LETTER_RANGES: tuple[tuple[int, int], ...] = ((0x1F150, 0x1F169), (0x1F170, 0x1F189))
# The other way round: word characters of connectra_words (L*, M*, N*) that connectra_fold
# keeps and pg_trgm cuts words at (not iswalnum: numerals of other scripts, some marks,
# variation selectors): `sa\ufe0fles` is one connectra word, two pg_trgm words.
# Both lists hold every such character of the server's locale
# (tests/integration/search/test_text_functions.py checks them).
SPLIT_LETTER_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),
    (0x0488, 0x0489),
    (0x09F4, 0x09F9),
    (0x0AFD, 0x0AFF),
    (0x0B55, 0x0B55),
    (0x0B72, 0x0B77),
    (0x0BF0, 0x0BF2),
    (0x0C04, 0x0C04),
    (0x0C78, 0x0C7E),
    (0x0D58, 0x0D5E),
    (0x0D70, 0x0D78),
    (0x0E47, 0x0E47),
    (0x0E4C, 0x0E4C),
    (0x0E4E, 0x0E4E),
    (0x0ECC, 0x0ECC),
    (0x0F2A, 0x0F33),
    (0x0F3E, 0x0F3F),
    (0x1369, 0x137C),
    (0x17B4, 0x17B5),
    (0x17C9, 0x17D1),
    (0x17D3, 0x17D3),
    (0x17F0, 0x17F9),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x19DA, 0x19DA),
    (0x1ABE, 0x1ABE),
    (0x1CE1, 0x1CE1),
    (0x1CF7, 0x1CF7),
    (0x20DD, 0x20E0),
    (0x20E2, 0x20E4),
    (0x24EB, 0x24FF),
    (0x2776, 0x2793),
    (0x2CFD, 0x2CFD),
    (0x3248, 0x324F),
    (0xA670, 0xA672),
    (0xA830, 0xA835),
    (0xABEC, 0xABEC),
    (0xFE00, 0xFE0F),
    (0x10107, 0x10133),
    (0x10175, 0x10178),
    (0x1018A, 0x1018B),
    (0x102E1, 0x102FB),
    (0x10320, 0x10323),
    (0x10858, 0x1085F),
    (0x10879, 0x1087F),
    (0x108A7, 0x108AF),
    (0x108FB, 0x108FF),
    (0x10916, 0x1091B),
    (0x109BC, 0x109BD),
    (0x109C0, 0x109CF),
    (0x109D2, 0x109FF),
    (0x10A40, 0x10A48),
    (0x10A7D, 0x10A7E),
    (0x10A9D, 0x10A9F),
    (0x10AEB, 0x10AEF),
    (0x10B58, 0x10B5F),
    (0x10B78, 0x10B7F),
    (0x10BA9, 0x10BAF),
    (0x10CFA, 0x10CFF),
    (0x10E60, 0x10E7E),
    (0x10F1D, 0x10F26),
    (0x10F51, 0x10F54),
    (0x10FC5, 0x10FCB),
    (0x11052, 0x11065),
    (0x11080, 0x11081),
    (0x111C9, 0x111C9),
    (0x111CB, 0x111CC),
    (0x111E1, 0x111F4),
    (0x1173A, 0x1173B),
    (0x118EA, 0x118F2),
    (0x11A33, 0x11A33),
    (0x11A98, 0x11A98),
    (0x11C5A, 0x11C6C),
    (0x11FC0, 0x11FD4),
    (0x16B5B, 0x16B61),
    (0x16E80, 0x16E96),
    (0x16FE4, 0x16FE4),
    (0x1BC9D, 0x1BC9D),
    (0x1CF00, 0x1CF2D),
    (0x1CF30, 0x1CF46),
    (0x1D2E0, 0x1D2F3),
    (0x1D360, 0x1D378),
    (0x1DA00, 0x1DA36),
    (0x1DA3B, 0x1DA6C),
    (0x1DA75, 0x1DA75),
    (0x1DA84, 0x1DA84),
    (0x1DA9B, 0x1DA9F),
    (0x1DAA1, 0x1DAAF),
    (0x1E8C7, 0x1E8CF),
    (0x1EC71, 0x1ECAB),
    (0x1ECAD, 0x1ECAF),
    (0x1ECB1, 0x1ECB4),
    (0x1ED01, 0x1ED2D),
    (0x1ED2F, 0x1ED3D),
    (0x1F10B, 0x1F10C),
    (0xE0100, 0xE01EF),
)

# A folded text holding a character where pg_trgm's words and connectra's part: a CJK
# character, a letter pg_trgm joins (JOINED_LETTER_RANGES) or one it cuts at
# (SPLIT_LETTER_RANGES). connectra_words makes each CJK character a word of its own,
# pg_trgm joins it to the letters beside it: in `東abdc東` pg_trgm sees one word, so `abcd`
# (one transposition from the word `abdc`) shares no trigram with it. The fuzzy trigram
# prefilter (vql/fuzzy_sql.py) therefore also keeps these rows (few: a small partial index
# per field holds them, db/search_structures.py, whose predicate is this same text).
HOLDS_CJK_PATTERN = (
    f"[{CJK_CLASS}{class_body(JOINED_LETTER_RANGES)}{class_body(SPLIT_LETTER_RANGES)}]"
)


def holds_cjk(folded: str) -> str:
    """The SQL condition "this folded column holds a CJK character", written exactly as
    the partial indexes' predicate (the planner matches the two as expressions)."""
    return f"{folded} ~ '{HOLDS_CJK_PATTERN}'"
