"""Words and folding in every script (connectra_fold, connectra_words redefined), and
fuzzy matching that counts a transposition as one edit (connectra_fuzzy_match).

Revision ID: unicode_1
Revises: compat_1

The definition is README "How text is compared" and `connectra.vql.text` (its Python twin;
the tests compare the two over text in many scripts):

* connectra_fold: the letters unaccent maps but NFKD does not decompose are spelled out
  (ø → o, ß → ss, …), `normalize(…, NFKD)`, combining marks removed (a bracket expression
  of their code points, kana voicing marks kept), then `lower()`. Before: lower(unaccent(x)),
  which kept Cyrillic, Greek and most non-Latin accents, and depended on unaccent's rules.
* connectra_words: the words of the folded text: runs of Unicode letters, marks and
  numbers, each CJK character (Han, kana) a word by itself. Before: runs of [a-z0-9], so
  "Иван" had no words at all.

ASCII text (most rows) takes a fast path with the same result: lower() and [a-z0-9]+.

`lower()` is PostgreSQL's: in a UTF-8 locale (C.UTF-8, en_US.UTF-8: RDS's default) it
lower-cases one code point at a time with the C library's simple mapping (İ → i, Σ → σ),
the definition the other engines use; in the C/POSIX locale it lower-cases ASCII only.
The upgrade checks both the encoding and lower() and stops with a clear error otherwise.

The code point classes come from `connectra.models.unicode_classes` (generated, frozen): the
Python tokenizer and these functions read the same ranges.

What depends on the functions is recomputed: the stored generated columns of 0004
(`vql_<col>_folded`, `vql_<col>_words`) by rewriting each row's source columns (their GIN
indexes follow the rows); there are no triggers on the tables, so nothing else changes.
The rewrite leaves one dead version of every row for autovacuum.
"""

from alembic import op

from connectra.models.char_classes import CJK_CLASS, STRIPPED_CLASS, VOICING_CLASS, WORD_CLASS

revision = "unicode_1"
down_revision = "compat_1"
branch_labels = None
depends_on = None

# Source columns of the stored search columns (migration 0004).
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("first_name", "last_name", "email", "title"),
    "companies": ("name", "website", "address"),
}

# Single letters unaccent maps that NFKD does not decompose (translate), and the ones
# spelled with two letters (replace). Same table as connectra.vql.text.UNACCENT_EXTRA.
ONE_TO_ONE = ("øØłŁđĐıς", "oOlLdDiσ")
ONE_TO_TWO = (("ß", "ss"), ("ẞ", "SS"), ("æ", "ae"), ("Æ", "AE"), ("œ", "oe"), ("Œ", "OE"),
              ("þ", "th"), ("Þ", "TH"))  # fmt: skip


def _spelled_out(expression: str) -> str:
    spelled = f"pg_catalog.translate({expression}, '{ONE_TO_ONE[0]}', '{ONE_TO_ONE[1]}')"
    for letter, letters in ONE_TO_TWO:
        spelled = f"pg_catalog.replace({spelled}, '{letter}', '{letters}')"
    return spelled


def functions_sql() -> str:
    cjk_unit = f"[{CJK_CLASS}][{VOICING_CLASS}]?"
    decomposed = f"pg_catalog.normalize({_spelled_out('value')}, 'NFKD')"
    return f"""
-- Not STRICT (NULL gives NULL anyway): the ASCII test reads the value first.
CREATE OR REPLACE FUNCTION connectra_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN pg_catalog.octet_length(value) = pg_catalog.length(value)
    THEN pg_catalog.lower(value)
    ELSE pg_catalog.lower(pg_catalog.regexp_replace(
        {decomposed}, '[{STRIPPED_CLASS}]+', '', 'g')) END $$;

-- Inlined into callers (one SELECT, no FROM, no sublink): each CJK character (with its
-- voicing mark) is spaced out, then the text splits on what is not a word character.
CREATE OR REPLACE FUNCTION connectra_words(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN pg_catalog.octet_length(value) = pg_catalog.length(value)
    THEN pg_catalog.array_remove(
        pg_catalog.regexp_split_to_array(pg_catalog.lower(value), '[^a-z0-9]+'), '')
    ELSE pg_catalog.array_remove(pg_catalog.regexp_split_to_array(
        pg_catalog.regexp_replace(public.connectra_fold(value), '({cjk_unit})', ' \\1 ', 'g'),
        '[^{WORD_CLASS}{CJK_CLASS}]+'), '') END $$;
"""


# Fuzzy words: a transposition of adjacent characters is one edit ("slaes" → "sales"), as
# OpenSearch's default fuzzy_transpositions: true and connectra.vql.fuzzy.edit_distance.
# Levenshtein (fuzzystrmatch, in C) settles most words: within `edits` it is a match, and
# beyond 2 * edits it is not (a transposition is two Levenshtein edits); only the rest
# gets the optimal-string-alignment distance, in PL/pgSQL.
FUZZY_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION connectra_osa_distance(left_text text, right_text text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
DECLARE
    a text[] := pg_catalog.regexp_split_to_array(left_text, '');
    b text[] := pg_catalog.regexp_split_to_array(right_text, '');
    n integer := pg_catalog.length(left_text);
    m integer := pg_catalog.length(right_text);
    width integer := m + 1;
    d integer[];  -- (n + 1) x (m + 1), row-major: d[i * width + j + 1]
    cost integer;
BEGIN
    d := pg_catalog.array_fill(0, ARRAY[(n + 1) * width]);
    FOR i IN 0 .. n LOOP d[i * width + 1] := i; END LOOP;
    FOR j IN 0 .. m LOOP d[j + 1] := j; END LOOP;
    FOR i IN 1 .. n LOOP
        FOR j IN 1 .. m LOOP
            cost := CASE WHEN a[i] = b[j] THEN 0 ELSE 1 END;
            d[i * width + j + 1] := least(d[(i - 1) * width + j + 1] + 1,
                                          d[i * width + j] + 1,
                                          d[(i - 1) * width + j] + cost);
            IF i > 1 AND j > 1 AND a[i] = b[j - 1] AND a[i - 1] = b[j] THEN
                d[i * width + j + 1] := least(d[i * width + j + 1],
                                              d[(i - 2) * width + j - 1] + 1);
            END IF;
        END LOOP;
    END LOOP;
    RETURN d[n * width + m + 1];
END
$$;

CREATE OR REPLACE FUNCTION connectra_fuzzy_match(words text[], term text, edits integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT EXISTS (
    SELECT 1 FROM pg_catalog.unnest(words) AS word
    WHERE CASE WHEN abs(pg_catalog.length(word) - pg_catalog.length(term)) > edits THEN false
               WHEN public.levenshtein_less_equal(word, term, edits) <= edits THEN true
               WHEN public.levenshtein_less_equal(word, term, 2 * edits) > 2 * edits THEN false
               ELSE public.connectra_osa_distance(word, term) <= edits END) $$;
"""

PREVIOUS_FUZZY = r"""
CREATE OR REPLACE FUNCTION connectra_fuzzy_match(words text[], term text, edits integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT EXISTS (
    SELECT 1 FROM pg_catalog.unnest(words) AS word
    WHERE CASE WHEN abs(pg_catalog.length(word) - pg_catalog.length(term)) <= edits
               THEN public.levenshtein_less_equal(word, term, edits) <= edits
               ELSE false END) $$;
DROP FUNCTION IF EXISTS connectra_osa_distance(text, text);
"""

PREVIOUS_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION connectra_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$;

CREATE OR REPLACE FUNCTION connectra_words(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.array_remove(
    pg_catalog.regexp_split_to_array(public.connectra_fold(value), '[^a-z0-9]+'), '') $$;
"""

# Stops the upgrade on a database whose text functions cannot follow the definition.
CHECK_DATABASE = r"""
DO $$
BEGIN
    IF pg_catalog.current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'connectra needs a UTF8 database (server_encoding is %)',
            pg_catalog.current_setting('server_encoding');
    END IF;
    IF pg_catalog.lower('ÜΣİ') <> 'üσi' THEN
        RAISE EXCEPTION 'lower() does not lower-case Unicode one code point at a time '
            '(LC_CTYPE %): create the database with a UTF-8 locale such as C.UTF-8',
            (SELECT datctype FROM pg_catalog.pg_database
             WHERE datname = pg_catalog.current_database());
    END IF;
END
$$;
"""


def recompute_statements() -> list[str]:
    """Rewrite every row's source columns: the stored generated columns are recomputed."""
    return [
        f"UPDATE {table} SET " + ", ".join(f"{col} = {col}" for col in columns)
        for table, columns in TEXT_COLUMNS.items()
    ]


def upgrade() -> None:
    op.execute(CHECK_DATABASE)
    op.execute(functions_sql())
    op.execute(FUZZY_FUNCTIONS)
    for statement in recompute_statements():
        op.execute(statement)
    op.execute("ANALYZE contacts")
    op.execute("ANALYZE companies")


def downgrade() -> None:
    op.execute(PREVIOUS_FUZZY)
    op.execute(PREVIOUS_FUNCTIONS)
    for statement in recompute_statements():
        op.execute(statement)
