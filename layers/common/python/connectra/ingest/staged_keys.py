"""Natural-key normalization in SQL (models/identity.py) for the SQL import path.

Each expression mirrors one function of models/identity.py, `urlsplit` included, for the
cells the converters hand it: lower-cased printable ASCII without `[` or `]` (the
converters send every other spelling to Python: IDNA and Unicode case folding, tabs and
newlines `urlsplit` drops, bracketed IPv6 hosts it may refuse). Over those cells
`urlsplit` is plain string slicing:

* the scheme is what precedes `://` when `_SCHEME` matches, else the function adds one;
* the netloc runs from there to the first `/`, `?` or `#`; the path from there to the
  first `?` or `#`;
* the hostname is the netloc after its last `@` and before its first `:` (None if empty).
"""

from __future__ import annotations

from connectra.models.identity import CONNECTRA_NAMESPACE

# Printable ASCII, where SQL's lower() and btrim() agree with Python's, and no bracket.
URL_CELL = r"^[\x20-\x5a\x5c\x5e-\x7e]*$"
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
_SCHEME = "^[a-z][a-z0-9+.-]*://"


def _after_scheme(url: str) -> str:
    """`url` (lower-cased) without its scheme and `://`: what urlsplit reads the netloc
    from, as the normalizers call it (they add a scheme when `_SCHEME` does not match)."""
    without = f"substr({url}, strpos({url}, '://') + 3)"
    return f"(CASE WHEN {url} ~ '{_SCHEME}' THEN {without} ELSE {url} END)"


def _hostname(rest: str) -> str:
    """urlsplit's hostname ('' for None) of the text after the scheme."""
    return f"split_part(substring(substring({rest} FROM '^[^/?#]*') FROM '[^@]*$'), ':', 1)"


def _domain_of_host(host: str) -> str:
    """normalize_domain's last steps: dots stripped at both ends, one `www.` removed."""
    return rf"nullif(regexp_replace(btrim({host}, '.'), '^www\.', ''), '')"


def domain(url: str) -> str:
    """`normalize_domain(url)` of a lower-cased cell (NULL for None)."""
    return _domain_of_host(_hostname(_after_scheme(url)))


def domain_again(normalized: str) -> str:
    """`normalize_domain(normalized)` of a value `domain` returned: a company's key
    normalizes its stored domain once more (`www.www.acme.com` is stored as
    `www.acme.com`, keyed as `acme.com`; `http ://x` as `http `, keyed as `http`). Such
    a value has no scheme, `@`, `:`, `/`, `?`, `#`: its hostname is itself, stripped."""
    return _domain_of_host(f"btrim({normalized}, ' ')")


def linkedin(url: str) -> str:
    """`normalize_linkedin_url(url)` of a lower-cased cell (NULL for None)."""
    rest = _after_scheme(url)
    host = rf"regexp_replace({_hostname(rest)}, '^www\.', '')"
    path = f"rtrim(substring({rest} FROM '^[^/?#]*([^?#]*)'), '/')"
    return f"nullif({host} || {path}, '')"


def name(cell: str) -> str:
    """`normalize_name(cell)` of a non-blank printable ASCII cell without blank ends."""
    return f"regexp_replace(lower({cell}), ' +', ' ', 'g')"


def uuid5(entity: str, key: str) -> str:
    """`record_uuid(entity, key)`: uuid5 of `entity/key` in the Connectra namespace."""
    return f"uuid_generate_v5('{CONNECTRA_NAMESPACE}', '{entity}/' || {key})"
