"""Search functions and indexes of the PostgreSQL VQL engine.

Revision ID: 0002
Revises: 0001

What serves what (every index is partial on `deleted_at IS NULL`, the rows search sees):

* `connectra_words(text) text[]`: the folded words of a text (runs of ASCII letters and
  digits of connectra_fold), the same tokenization as `connectra.vql.text.words`. A GIN
  index over it is the inverted word index for `exact` and `shuffle` (`@>` all words,
  `&&` any word). It plays the role of a `tsvector` GIN index; a text[] of our own words
  is used instead because the text-search parser tokenizes emails, URLs and hyphenated
  words in its own ways, and every engine must agree on what a word is.
* `connectra_phrase_match(words, terms, slop)`: in-order phrase with slop, the recheck
  of `exact` after the GIN prefilter (twin of `connectra.vql.text.phrase_matches`).
* `connectra_fuzzy_match(words, term, edits)`: some word within `edits` Levenshtein edits
  (fuzzystrmatch), for fuzzy `shuffle`; the trigram index prefilters it (`term <% field`
  with a word-similarity threshold low enough to lose no match, see vql/sql.py).
* GIN trigram on `connectra_fold(col)`: `substring` (LIKE '%…%') and the fuzzy prefilter.
  Trigrams cannot serve patterns under 3 characters: VQL defines those as word-prefix
  matches (a regular expression), which scan the rows the other conditions leave.
* btree on `lower(col)`: keyword_match on single-valued fields (and filters_data recounts).
* GIN on `connectra_lower_array(col)`: keyword_match on arrays (any element, `&&`).
* btree `(col, uuid)`: sorts and keyset paging (`COLLATE "C"` for strings: code-point order,
  as OpenSearch sorts keywords). Only the sorts worth an index get one.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Functions are schema-qualified inside: index expressions run with a restricted
# search_path during maintenance (autovacuum, REINDEX).
FUNCTIONS = r"""
-- Not STRICT on purpose: array_remove is not strict, and a STRICT SQL function whose body
-- is not provably strict is never inlined; inlined it costs a quarter (NULL still gives NULL).
CREATE OR REPLACE FUNCTION connectra_words(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.array_remove(
    pg_catalog.regexp_split_to_array(public.connectra_fold(value), '[^a-z0-9]+'), '') $$;

CREATE OR REPLACE FUNCTION connectra_lower_array(value text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT coalesce(pg_catalog.array_agg(pg_catalog.lower(item)), '{}')
      FROM pg_catalog.unnest(value) AS item $$;

CREATE OR REPLACE FUNCTION connectra_phrase_match(words text[], terms text[], slop integer)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
DECLARE
    word_count integer := coalesce(array_length(words, 1), 0);
    term_count integer := coalesce(array_length(terms, 1), 0);
    position integer;
    found boolean;
BEGIN
    IF term_count = 0 THEN
        RETURN false;
    END IF;
    -- For each start, the earliest next occurrence of each term gives the shortest span.
    FOR start IN 1 .. word_count LOOP
        CONTINUE WHEN words[start] <> terms[1];
        position := start;
        FOR t IN 2 .. term_count LOOP
            found := false;
            FOR next_position IN position + 1 .. word_count LOOP
                IF words[next_position] = terms[t] THEN
                    position := next_position;
                    found := true;
                    EXIT;
                END IF;
            END LOOP;
            IF NOT found THEN
                RETURN false;
            END IF;
        END LOOP;
        IF position - start - (term_count - 1) <= slop THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$$;

-- The length guard runs first (CASE keeps the order): levenshtein refuses strings over
-- 255 characters, and a word that differs in length by more than `edits` cannot match.
CREATE OR REPLACE FUNCTION connectra_fuzzy_match(words text[], term text, edits integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT EXISTS (
    SELECT 1 FROM pg_catalog.unnest(words) AS word
    WHERE CASE WHEN abs(pg_catalog.length(word) - pg_catalog.length(term)) <= edits
               THEN public.levenshtein_less_equal(word, term, edits) <= edits
               ELSE false END) $$;
"""

LIVE = "WHERE deleted_at IS NULL"

# (index name, table, USING + expression)
INDEXES: list[tuple[str, str, str]] = [
    # contacts: text search
    *(
        (f"vql_contacts_{col}_trgm", "contacts", f"gin (connectra_fold({col}) gin_trgm_ops)")
        for col in ("title", "first_name", "last_name", "email")
    ),
    *(
        (f"vql_contacts_{col}_words", "contacts", f"gin (connectra_words({col}))")
        for col in ("title", "first_name", "last_name")
    ),
    # contacts: keywords
    *(
        (f"vql_contacts_{col}_lower", "contacts", f"btree (lower({col}))")
        for col in ("title", "seniority", "email_status", "city", "state", "country")
    ),
    ("vql_contacts_departments_any", "contacts", "gin (connectra_lower_array(departments))"),
    # contacts: sorts and keyset paging
    ("vql_contacts_created_sort", "contacts", "btree (created_at, uuid)"),
    ("vql_contacts_updated_sort", "contacts", "btree (updated_at, uuid)"),
    ("vql_contacts_last_name_sort", "contacts", 'btree ((last_name COLLATE "C"), uuid)'),
    ("vql_contacts_first_name_sort", "contacts", 'btree ((first_name COLLATE "C"), uuid)'),
    ("vql_contacts_company_live", "contacts", "btree (company_id)"),
    # companies: text search
    *(
        (f"vql_companies_{col}_trgm", "companies", f"gin (connectra_fold({col}) gin_trgm_ops)")
        for col in ("name", "website", "address")
    ),
    ("vql_companies_name_words", "companies", "gin (connectra_words(name))"),
    # companies: keywords
    *(
        (f"vql_companies_{col}_lower", "companies", f"btree (lower({col}))")
        for col in ("name", "city", "state", "country")
    ),
    *(
        (f"vql_companies_{col}_any", "companies", f"gin (connectra_lower_array({col}))")
        for col in ("industries", "keywords", "technologies")
    ),
    # companies: sorts and keyset paging
    ("vql_companies_name_sort", "companies", 'btree ((name COLLATE "C"), uuid)'),
    *(
        (f"vql_companies_{col}_sort", "companies", f"btree ({col}, uuid)")
        for col in (
            "employees_count",
            "annual_revenue",
            "total_funding",
            "created_at",
            "updated_at",
        )
    ),
]


def index_statements() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression} {LIVE}"
        for name, table, expression in INDEXES
    ]


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for statement in index_statements():
        op.execute(statement)


def downgrade() -> None:
    for name, _table, _expression in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(
        "DROP FUNCTION IF EXISTS connectra_fuzzy_match(text[], text, integer), "
        "connectra_phrase_match(text[], text[], integer), connectra_lower_array(text[]), "
        "connectra_words(text)"
    )
