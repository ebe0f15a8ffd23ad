"""How text is compared: folded (lower-case, accents removed) and split into words.

One definition for every engine (README "How text is compared"). PostgreSQL folds with
`connectra_fold` and splits with `connectra_words` (migration 0008_unicode_text); the
OpenSearch index receives text folded here and splits it with an analyzer of the same
definition (`connectra.search.index_model`); this module is the Python twin used to
prepare query terms and by the reference evaluator.

* lower (keywords): per-character SIMPLE lower-casing, as Lucene's lowercase filter and
  PostgreSQL's `lower()` in a UTF-8 locale do: one code point at a time, so `İ` → `i`
  (not `i̇`) and every `Σ` → `σ` (no final `ς`). Accents stay significant.
* fold (text): a few letters that do not decompose are spelled out (ø → o, ł → l,
  ß → ss, æ → ae, ı → i, final ς → σ, …), then Unicode NFKD, then combining marks
  (canonical combining class not 0) are removed — except the kana voicing marks
  (U+3099, U+309A), which change the syllable, not an accent — then `lower`.
* words: maximal runs of word characters (Unicode letters, marks and numbers: general
  categories L*, M*, N*) of the folded text, except that each CJK character (Han
  ideographs, hiragana, katakana, with its voicing mark) is a word by itself: CJK text
  has no spaces, so a phrase of ideographs is searched as a phrase of one-character
  words. Everything else separates words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from connectra.models.char_classes import CJK_CLASS, STRIPPED_CLASS, VOICING_CLASS, WORD_CLASS

# Letters that PostgreSQL's unaccent rules map but NFKD does not decompose.
UNACCENT_EXTRA: dict[str, str] = {
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "þ": "th",
    "Þ": "TH",
    "\u0131": "i",  # dotless i
    "ς": "σ",  # Greek final sigma: upper-case Σ lowers to σ wherever it stands
}
_UNACCENT_TABLE = str.maketrans(UNACCENT_EXTRA)
# Kana voicing marks (dakuten, handakuten): kept by fold, part of the kana's word.
KANA_VOICING = "\u3099\u309a"


# A word: one CJK character (with its voicing mark), or a run of other word characters.
# The two alternatives never start on the same character, so Python's first-match and
# PostgreSQL's longest-match regular expressions find the same words.
WORD_PATTERN = f"[{CJK_CLASS}][{VOICING_CLASS}]?|[{WORD_CLASS}]+"
# What may precede a word start: nothing, a non-word character, or a CJK word.
WORD_START_PRECEDER = f"(^|[^{WORD_CLASS}])"


# Compiled on first use, not at import: these classes span thousands of ranges, and
# compiling them is a visible share of the API's cold start (most requests never fold).
@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_WORD = WORD_PATTERN
_CJK = f"[{CJK_CLASS}]"
_WORD_CHAR = f"[{WORD_CLASS}]"
_STRIPPED = f"[{STRIPPED_CLASS}]+"


def lower(value: str) -> str:
    """Per-character simple lower-casing (keywords; the last step of `fold`).

    Python's `str.lower` is the full mapping: the same except for U+0130 (İ → i + U+0307)
    and a word-final capital sigma (→ ς); both are mapped one code point first.
    """
    return value.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


def fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.translate(_UNACCENT_TABLE))
    return lower(_pattern(_STRIPPED).sub("", decomposed))


def words(folded: str) -> list[str]:
    """The words of already folded text, in order."""
    return _pattern(_WORD).findall(folded)


def substring_terms(folded: str) -> list[str]:
    """The whitespace-separated terms of a folded substring query, in order."""
    return folded.split()


def is_cjk(char: str) -> bool:
    return _pattern(_CJK).fullmatch(char) is not None


def word_start_pattern(fragment: str) -> str:
    """A regular expression (Python `re` and PostgreSQL) matching `fragment` where a word
    of the folded text begins: anywhere when it begins with a CJK character."""
    escaped = "".join(
        f"\\u{ord(c):04X}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08X}" for c in fragment
    )
    if fragment and is_cjk(fragment[0]):
        return escaped
    return WORD_START_PRECEDER + escaped


def starts_word(folded: str, position: int) -> bool:
    """True when `word_start_pattern` of a fragment starting at `position` matches there:
    the text starts there, the character before is not a word character (CJK ones are
    not, in this sense: each is a word of its own), or a CJK character is there."""
    if position == 0 or is_cjk(folded[position]):
        return True
    return _pattern(_WORD_CHAR).fullmatch(folded[position - 1]) is None


def contains_at_word_start(folded: str, fragment: str) -> bool:
    """True when `fragment` occurs in `folded` where a word begins (short substrings)."""
    return re.search(word_start_pattern(fragment), folded) is not None


def phrase_matches(field_words: list[str], terms: tuple[str, ...], slop: int) -> bool:
    """True when `terms` occur in `field_words` in order with at most `slop` words between
    them in total (slop 0: adjacent, a plain phrase).

    For each start position the earliest next occurrence of every following term gives the
    shortest span, so a greedy scan is exact. SQL's `connectra_phrase_match` is the twin.
    """
    if not terms:
        return False
    for start, word in enumerate(field_words):
        if word != terms[0]:
            continue
        position = start
        for term in terms[1:]:
            try:
                position = field_words.index(term, position + 1)
            except ValueError:
                return False  # later starts cannot find the term either
        if position - start - (len(terms) - 1) <= slop:
            return True
    return False
