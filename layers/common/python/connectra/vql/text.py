"""How text is compared: folded (lower-case, accents removed) and split into words.

One definition for every engine. PostgreSQL folds with `connectra_fold` (lower(unaccent(x)))
and splits with `connectra_words` (migration 0002); this module is the Python twin used
to prepare query terms and by the reference evaluator.

* fold: Unicode NFKD with combining marks removed, a few letters unaccent maps that do
  not decompose (ø → o, ł → l, ß → ss, …), then lower-case.
* words: maximal runs of ASCII letters and digits of the folded text; everything else
  separates words. Text in scripts that do not fold to ASCII is searchable by substring.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that PostgreSQL's unaccent rules map but NFKD does not decompose.
_UNACCENT_EXTRA = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
    }
)
_WORD = re.compile(r"[a-z0-9]+")


def fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.translate(_UNACCENT_EXTRA))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.lower()


def words(folded: str) -> list[str]:
    """The words of already folded text, in order."""
    return _WORD.findall(folded)


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
