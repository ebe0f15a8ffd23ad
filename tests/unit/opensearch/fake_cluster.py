"""An in-memory stand-in for an OpenSearch cluster, plugged in as opensearch-py's connection.

`FakeConnection` is an `opensearchpy.Connection` subclass: the real client, transport,
serializer and bulk helpers run unchanged, only the HTTP exchange is replaced. The
cluster behind it (`FakeCluster`) records every request and keeps indices of documents.

Searches are answered by a small interpreter of the query DSL subset that
`connectra.vql.dsl` emits (bool, term/terms, match, match_phrase, span_near, wildcard,
range, exists, sort with `missing`, search_after, from/size, `_source`,
track_total_hits), reading analysis from the index's own mappings (the `connectra_words`
pattern tokenizer, the `connectra_grams` n-gram tokenizer, the lowercase normalizer).

What it proves and what it does not: agreement of the DSL, the mappings and the document
builder with each other and, through the conformance cases, with the AST's semantics, AS
THIS INTERPRETER READS OPENSEARCH. It does not prove OpenSearch reads them the same way
(scoring, fuzzy `max_expansions` over a large vocabulary, analyzer corner cases, shard
effects): `tests/integration/opensearch/test_conformance_cluster.py` runs the same cases
on a real cluster when `OPENSEARCH_URL` is set.

Behaviours of a real cluster it keeps (each has a test in test_fake_cluster.py):
Lucene's per-code-point lowercase and the analyzers read from the index settings; the
1,024-clause limit (fuzzy terms counted by their expansions) and `max_expansions`;
writes to a missing name auto-create a dynamically mapped index unless `require_alias`;
a write through an alias over two indices is refused; writes are searchable only after a
refresh (`documents()` shows what was written, searches what was refreshed);
`max_result_window` and the search_after/sort length check; external versions
(`external_gte`; deletes leave their version behind); yellow health when replicas
cannot be allocated (`nodes`).

Failure injection: `down` (every request raises ConnectionError), `request_failures`
(whole-request statuses such as 429, or "timeout"), `max_content_length` (413),
`item_statuses` (document id → statuses its next bulk items get, e.g. [429, 429]: two
rejections, then the normal outcome), and strict mappings (an unknown field or a
non-integer long is a 400 mapper error, as a real cluster answers).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from opensearchpy import Connection, OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout

from connectra.vql.fuzzy import levenshtein


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    body: bytes | None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in (self.body or b"").splitlines() if line.strip()]


@dataclass
class FakeIndex:
    settings: dict[str, Any]
    mappings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # written (latest) state
    searchable: dict[str, dict[str, Any]] = field(default_factory=dict)  # as of last refresh
    versions: dict[str, int] = field(default_factory=dict)  # deletes leave a tombstone

    def refresh(self) -> None:
        self.searchable = dict(self.docs)


class MapperError(Exception):
    pass


def _flag(value: Any) -> str:
    """A query parameter as text (the client sends some as bytes); absent: "false"."""
    if value is None:
        return "false"
    return (value.decode() if isinstance(value, bytes) else str(value)).lower()


def _error(status: int, kind: str, reason: str) -> tuple[int, Any]:
    return status, {"error": {"type": kind, "reason": reason}, "status": status}


class FakeCluster:
    """See the module docs. Knobs: `nodes` (replicas beyond nodes - 1 stay unassigned, so
    the index is yellow), `max_content_length` (bigger request bodies: 413),
    `max_clause_count` (Lucene's limit, counting fuzzy expansions), `request_failures`
    (statuses, or "timeout", the next requests get as a whole), `on_request` (called with
    method and path before a request is handled, outside the lock: races are staged)."""

    def __init__(self, nodes: int = 2) -> None:
        self.indices: dict[str, FakeIndex] = {}
        self.aliases: dict[str, set[str]] = {}
        self.requests: list[Recorded] = []
        self.down = False
        self.item_statuses: dict[str, list[int]] = {}
        self.request_failures: list[int | str] = []
        self.lock = threading.Lock()
        self.on_bulk: Callable[[list[Any]], None] | None = None
        self.on_request: Callable[[str, str], None] | None = None
        self.nodes = nodes
        self.max_content_length = 100 * 1024 * 1024  # http.max_content_length
        self.max_clause_count = 1024  # indices.query.bool.max_clause_count

    # -- client --------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> OpenSearch:
        return OpenSearch(
            hosts=["http://fake-cluster:9200"],
            connection_class=FakeConnection,
            cluster=self,
            max_retries=0,
            **kwargs,
        )

    # -- helpers for tests -------------------------------------------------------------

    def resolve(self, name: str) -> list[str]:
        if name in self.aliases:
            return sorted(self.aliases[name])
        names = [part for part in name.split(",") if part]
        return [n for n in names if n in self.indices]

    def documents(self, name: str) -> dict[str, dict[str, Any]]:
        """The written documents (refreshed or not) of the indices behind `name`."""
        merged: dict[str, dict[str, Any]] = {}
        for index in self.resolve(name):
            merged.update(self.indices[index].docs)
        return merged

    def refresh_all(self) -> None:
        for index in self.indices.values():
            index.refresh()

    def of(self, method: str, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # -- HTTP --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, Any], body: bytes | None
    ) -> tuple[int, Any]:
        if self.on_request is not None:
            self.on_request(method, path)
        with self.lock:
            self.requests.append(Recorded(method, path, dict(params), body))
            if self.down:
                raise OpenSearchConnectionError("N/A", "fake cluster is down", Exception("down"))
            if self.request_failures:
                failure = self.request_failures.pop(0)
                if failure == "timeout":
                    raise ConnectionTimeout("TIMEOUT", "fake timeout", Exception("timeout"))
                kind = "es_rejected_execution_exception" if failure == 429 else "injected"
                return _error(int(failure), kind, "injected whole-request failure")
            if body is not None and len(body) > self.max_content_length:
                return _error(413, "content_too_long", "Request Entity Too Large")
            parts = [unquote(part) for part in path.strip("/").split("/") if part]
            return self._route(method, parts, params, body)

    def _route(
        self, method: str, parts: list[str], params: dict[str, Any], body: bytes | None
    ) -> tuple[int, Any]:
        payload = json.loads(body) if body and parts[-1] != "_bulk" else None
        if parts[:2] == ["_cluster", "health"]:
            return self._health(parts[2] if len(parts) > 2 else None, params)
        if parts[-1] == "_bulk":
            default = parts[0] if len(parts) == 2 else None
            return 200, self._bulk(default, body or b"", params)
        if parts == ["_aliases"] and method == "POST":
            return self._update_aliases(payload or {})
        if len(parts) >= 2 and parts[-2] == "_alias":
            return self._alias(method, parts[-1])
        if parts[-1] == "_search":
            return self._search(parts[0], payload or {})
        if parts[-1] == "_refresh":
            for index in self.resolve(parts[0]) if len(parts) == 2 else list(self.indices):
                self.indices[index].refresh()
            return 200, {"_shards": {"failed": 0}}
        if parts[-1] == "_settings" and method == "PUT":
            for index in self.resolve(parts[0]):
                self.indices[index].settings.update((payload or {}).get("index", {}))
            return 200, {"acknowledged": True}
        if len(parts) == 1:
            return self._index_admin(method, parts[0], payload)
        return 400, {"error": {"type": "unsupported_by_fake", "reason": "/".join(parts)}}

    def _health(self, name: str | None, params: dict[str, Any]) -> tuple[int, Any]:
        """Green when every replica fits on another node, yellow otherwise; a wait for a
        status the cluster does not reach times out at once (nothing changes here)."""
        targets = self.resolve(name) if name else list(self.indices)
        yellow = any(
            int(self.indices[index].settings.get("number_of_replicas", 1)) > self.nodes - 1
            for index in targets
        )
        status = "yellow" if yellow else "green"
        wanted = params.get("wait_for_status")
        wanted = wanted.decode() if isinstance(wanted, bytes) else wanted
        timed_out = wanted == "green" and status != "green"
        return 200, {"status": status, "number_of_nodes": self.nodes, "timed_out": timed_out}

    def _index_admin(self, method: str, name: str, payload: Any) -> tuple[int, Any]:
        exists = bool(self.resolve(name))
        if method == "HEAD":
            return (200, None) if exists else (404, None)
        if method == "PUT":
            if name in self.indices or name in self.aliases:
                return _error(400, "resource_already_exists_exception", f"[{name}] exists")
            body = payload or {}
            self._create(name, body.get("settings", {}).get("index", {}), body.get("mappings", {}))
            for alias in body.get("aliases", {}):
                self.aliases.setdefault(alias, set()).add(name)
            return 200, {"acknowledged": True, "index": name}
        if method == "DELETE":
            if name not in self.indices:
                return 404, {"error": {"type": "index_not_found_exception"}}
            del self.indices[name]
            for members in self.aliases.values():
                members.discard(name)
            self.aliases = {alias: m for alias, m in self.aliases.items() if m}
            return 200, {"acknowledged": True}
        return 400, {"error": {"type": "unsupported_by_fake"}}

    def _create(self, name: str, settings: dict[str, Any], mappings: dict[str, Any]) -> FakeIndex:
        index = FakeIndex(settings=dict(settings), mappings=mappings)
        self.indices[name] = index
        return index

    def _alias(self, method: str, name: str) -> tuple[int, Any]:
        members = self.aliases.get(name)
        if method == "HEAD":
            return (200, None) if members else (404, None)
        if not members:
            return 404, {"error": f"alias [{name}] missing", "status": 404}
        return 200, {index: {"aliases": {name: {}}} for index in sorted(members)}

    def _update_aliases(self, payload: dict[str, Any]) -> tuple[int, Any]:
        for action in payload.get("actions", []):
            ((kind, spec),) = action.items()
            if kind == "add":
                self.aliases.setdefault(spec["alias"], set()).add(spec["index"])
            elif kind == "remove":
                self.aliases.get(spec["alias"], set()).discard(spec["index"])
            elif kind == "remove_index":
                self._index_admin("DELETE", spec["index"], None)
        self.aliases = {alias: m for alias, m in self.aliases.items() if m}
        return 200, {"acknowledged": True}

    # -- bulk --------------------------------------------------------------------------

    def _bulk(self, default_index: str | None, body: bytes, params: dict[str, Any]) -> Any:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if self.on_bulk is not None:
            self.on_bulk(lines)
        require_alias = _flag(params.get("require_alias")) == "true"
        items: list[dict[str, Any]] = []
        touched: set[str] = set()
        position = 0
        while position < len(lines):
            ((op, meta),) = lines[position].items()
            position += 1
            source = None
            if op != "delete":
                source = lines[position]
                position += 1
            index = meta.get("_index", default_index)
            item = self._bulk_item(op, index, meta, source, require_alias)
            touched.add(str(item.get("_index")))
            items.append({op: item})
        if _flag(params.get("refresh")) in ("true", "wait_for", ""):
            for name in touched & set(self.indices):
                self.indices[name].refresh()
        errors = any("error" in item for entry in items for item in entry.values())
        return {"took": 1, "errors": errors, "items": items}

    def _write_target(self, name: str | None, require_alias: bool) -> tuple[str | None, Any]:
        """The concrete index a write to `name` goes to, or the item error OpenSearch gives:
        a missing name auto-creates an index (dynamic mappings) unless require_alias; an
        alias over several indices has no write index."""
        name = name or ""
        if require_alias and name not in self.aliases:
            reason = (
                f"no such index [{name}] and [require_alias] request flag is [true] and "
                f"[{name}] is not an alias"
            )
            return None, (404, "index_not_found_exception", reason)
        if name in self.aliases:
            members = sorted(self.aliases[name])
            if len(members) > 1:
                reason = (
                    f"no write index is defined for alias [{name}]. The write index may be "
                    "explicitly disabled using is_write_index=false or the alias points to "
                    "multiple indices without one being designated as a write index"
                )
                return None, (400, "illegal_argument_exception", reason)
            return members[0], None
        if name not in self.indices:
            self._create(name, {}, {})  # auto-create: dynamic mappings
        return name, None

    def _bulk_item(
        self,
        op: str,
        name: str | None,
        meta: dict[str, Any],
        source: dict[str, Any] | None,
        require_alias: bool,
    ) -> dict[str, Any]:
        doc_id = str(meta["_id"])
        base: dict[str, Any] = {"_index": name, "_id": doc_id}
        injected = self.item_statuses.get(doc_id)
        if injected:
            status = injected.pop(0)
            kind = "es_rejected_execution_exception" if status == 429 else "injected_failure"
            return {**base, "status": status, "error": {"type": kind, "reason": "injected"}}
        target, refused = self._write_target(name, require_alias)
        if refused is not None:
            status, kind, reason = refused
            return {**base, "status": status, "error": {"type": kind, "reason": reason}}
        assert target is not None
        base["_index"] = target
        index = self.indices[target]
        version = self._next_version(index, doc_id, meta)
        if version is None:
            current = index.versions.get(doc_id)
            reason = f"[{doc_id}]: version conflict, current version [{current}] is higher"
            conflict = {"type": "version_conflict_engine_exception", "reason": reason}
            return {**base, "status": 409, "error": conflict}
        if op == "delete":
            found = index.docs.pop(doc_id, None)
            index.versions[doc_id] = version  # the tombstone keeps the version
            return {**base, "status": 200 if found else 404, "_version": version,
                    "result": "deleted" if found else "not_found"}  # fmt: skip
        assert source is not None
        try:
            check_document(index.mappings, source)
        except MapperError as exc:
            return {**base, "status": 400,
                    "error": {"type": "mapper_parsing_exception", "reason": str(exc)}}  # fmt: skip
        created = doc_id not in index.docs
        index.docs[doc_id] = source
        index.versions[doc_id] = version
        return {**base, "status": 201 if created else 200, "_version": version,
                "result": "created" if created else "updated"}  # fmt: skip

    @staticmethod
    def _next_version(index: FakeIndex, doc_id: str, meta: dict[str, Any]) -> int | None:
        """The document's version after this write, or None for a version conflict."""
        current = index.versions.get(doc_id)
        kind = meta.get("version_type", "internal")
        if kind == "internal":
            return (current or 0) + 1
        wanted = int(meta["version"])
        if current is None:
            return wanted
        if kind == "external_gte":
            return wanted if wanted >= current else None
        return wanted if wanted > current else None  # external

    # -- search ------------------------------------------------------------------------

    def _search(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        targets = self.resolve(name)
        if not targets:
            return 404, {"error": {"type": "index_not_found_exception", "reason": name}}
        index = self.indices[targets[0]]
        window = int(index.settings.get("max_result_window", 10_000))
        if int(body.get("from", 0)) + int(body.get("size", 10)) > window:
            reason = (
                f"Result window is too large, from + size must be less than or equal to: [{window}]"
            )
            return _error(400, "illegal_argument_exception", reason)
        if "search_after" in body and len(body["search_after"]) != len(body.get("sort", [])):
            reason = (
                f"search_after has {len(body['search_after'])} value(s) but sort has "
                f"{len(body.get('sort', []))}."
            )
            return _error(400, "illegal_argument_exception", reason)
        schema = {**index.mappings, ANALYSIS_KEY: index.settings.get("analysis")}
        docs: dict[str, dict[str, Any]] = {}
        for target in targets:
            docs.update(self.indices[target].searchable)
        try:
            return 200, search(schema, docs, body, max_clause_count=self.max_clause_count)
        except TooManyClauses as exc:
            return 400, {
                "error": {
                    "type": "search_phase_execution_exception",
                    "reason": "all shards failed",
                    "caused_by": {"type": "too_many_nested_clauses", "reason": str(exc)},
                },
                "status": 400,
            }


class FakeConnection(Connection):
    """opensearch-py's connection interface, answered by a `FakeCluster`."""

    def __init__(self, cluster: FakeCluster, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster

    def perform_request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        timeout: float | None = None,
        ignore: Collection[int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        status, payload = self.cluster.handle(method, url, dict(params or {}), body)
        raw = "" if payload is None else json.dumps(payload)
        if not (200 <= status < 300) and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json"}, raw


# -- mappings and analysis -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    source: str
    type: str
    analyzer: str | None = None
    search_analyzer: str | None = None
    normalizer: str | None = None
    ignore_above: int | None = None
    analysis: dict[str, Any] | None = None  # the index's analysis settings


ANALYSIS_KEY = "_analysis"  # the index's analysis settings, carried beside the mappings


def field_spec(mappings: dict[str, Any], path: str) -> FieldSpec:
    properties = mappings["properties"]
    analysis = mappings.get(ANALYSIS_KEY)
    if path in properties:
        return _spec(path, properties[path], analysis)
    parent, _, child = path.rpartition(".")
    if parent in properties and child in properties[parent].get("fields", {}):
        return _spec(parent, properties[parent]["fields"][child], analysis)
    raise KeyError(f"no field {path!r} in the mappings")


def _spec(source: str, config: dict[str, Any], analysis: dict[str, Any] | None) -> FieldSpec:
    return FieldSpec(
        source=source,
        type=config["type"],
        analyzer=config.get("analyzer"),
        search_analyzer=config.get("search_analyzer"),
        normalizer=config.get("normalizer"),
        ignore_above=config.get("ignore_above"),
        analysis=analysis,
    )


def java_lower(text: str) -> str:
    """Lucene's lowercase filter: Java's Character.toLowerCase, one code point at a time
    (the simple mapping: İ → i, Σ → σ wherever it stands)."""
    lowered = []
    for char in text:
        full = char.lower()  # Python's full mapping; its first code point is the simple one
        lowered.append(full if len(full) == 1 else full[0])
    return "".join(lowered)


def java_regex(pattern: str) -> re.Pattern[str]:
    """A Java regular expression of the subset the analyzers use (classes, `\\x{…}`)."""
    return re.compile(
        re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: f"\\U{int(m[1], 16):08X}", pattern)
    )


def _tokenize(tokenizer: dict[str, Any], text: str) -> list[str]:
    kind = tokenizer["type"]
    if kind == "pattern":
        pattern = java_regex(tokenizer.get("pattern", r"\W+"))
        if int(tokenizer.get("group", -1)) == -1:
            return [token for token in pattern.split(text) if token]
        return [match[0] for match in pattern.finditer(text)]
    if kind == "ngram":
        low, high = int(tokenizer.get("min_gram", 1)), int(tokenizer.get("max_gram", 2))
        return [
            text[start : start + size]
            for start in range(len(text))
            for size in range(low, high + 1)
            if start + size <= len(text)
        ]
    raise KeyError(f"tokenizer {kind!r} is not emulated")


def analyze(analyzer: str | None, text: str, analysis: dict[str, Any] | None = None) -> list[str]:
    """Tokens of `text`, reading a custom analyzer's tokenizer and filters from the index's
    analysis settings (the built-in `standard` and `keyword` analyzers are known)."""
    if analyzer in (None, "standard"):
        return [java_lower(t) for t in re.findall(r"\w+", text)]
    if analyzer == "keyword":
        return [text]
    definition = (analysis or default_analysis()).get("analyzer", {}).get(analyzer)
    if definition is None:
        raise KeyError(f"analyzer {analyzer!r} is not defined")
    tokenizer = (analysis or default_analysis())["tokenizer"][definition["tokenizer"]]
    tokens = _tokenize(tokenizer, text)
    for name in definition.get("filter", []):
        if name != "lowercase":
            raise KeyError(f"token filter {name!r} is not emulated")
        tokens = [java_lower(token) for token in tokens]
    return tokens


def default_analysis() -> dict[str, Any]:
    """The analysis settings of connectra's indices (for `search` called without them)."""
    from connectra.search.index_model import ANALYSIS

    return ANALYSIS


def normalize(spec: FieldSpec, value: str) -> str:
    return java_lower(value) if spec.normalizer == "connectra_lower" else value


def indexed_terms(spec: FieldSpec, doc: dict[str, Any]) -> list[Any]:
    """The terms a document holds for `spec`, in position order (one value: one list)."""
    raw = doc.get(spec.source)
    values = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    terms: list[Any] = []
    for value in values:
        if spec.type == "keyword":
            if spec.ignore_above is None or len(str(value)) <= spec.ignore_above:
                terms.append(normalize(spec, str(value)))
        elif spec.type == "text":
            terms.extend(analyze(spec.analyzer, str(value), spec.analysis))
        else:
            terms.append(value)
    return terms


def check_document(mappings: dict[str, Any], source: dict[str, Any]) -> None:
    properties = mappings.get("properties", {})
    for key, value in source.items():
        if key not in properties:
            if mappings.get("dynamic") == "strict":
                raise MapperError(f"mapping set to strict, dynamic introduction of [{key}]")
            continue
        kind = properties[key]["type"]
        values = value if isinstance(value, list) else [value]
        for item in values:
            if kind == "long" and not (isinstance(item, int) and not isinstance(item, bool)):
                raise MapperError(f"failed to parse field [{key}] of type [long]")
            if kind in ("keyword", "text") and not isinstance(item, str):
                raise MapperError(f"failed to parse field [{key}] of type [{kind}]")


# -- queries -------------------------------------------------------------------------------


def _auto_edits(term: str) -> int:
    return 0 if len(term) <= 2 else 1 if len(term) <= 5 else 2


def _osa(left: str, right: str) -> int:
    """Damerau (optimal string alignment) distance: what fuzzy_transpositions: true uses."""
    rows = [[0] * (len(right) + 1) for _ in range(len(left) + 1)]
    for i in range(len(left) + 1):
        rows[i][0] = i
    for j in range(len(right) + 1):
        rows[0][j] = j
    for i, j in itertools.product(range(1, len(left) + 1), range(1, len(right) + 1)):
        cost = left[i - 1] != right[j - 1]
        rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
        if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
            rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def _single(clause: dict[str, Any]) -> tuple[str, Any]:
    assert len(clause) == 1, clause
    return next(iter(clause.items()))


class TooManyClauses(Exception):
    pass


# (field path, query term, fuzzy options) → the indexed words the fuzzy term expanded to.
Expansions = dict[tuple[str, str, str], set[str]]
DEFAULT_MAX_EXPANSIONS = 50


def _fuzzy_key(path: str, term: str, args: dict[str, Any]) -> tuple[str, str, str]:
    options = {k: args.get(k) for k in ("fuzziness", "fuzzy_transpositions", "max_expansions")}
    return (path, term, json.dumps(options, sort_keys=True))


def _leaves(query: dict[str, Any]) -> list[dict[str, Any]]:
    kind, spec = _single(query)
    if kind == "bool":
        children = [
            c for key in ("filter", "must", "should", "must_not") for c in spec.get(key, [])
        ]
        return [leaf for child in children for leaf in _leaves(child)]
    return [query]


def expand_fuzzy(
    mappings: dict[str, Any], docs: dict[str, dict[str, Any]], query: dict[str, Any]
) -> Expansions:
    """What Lucene's FuzzyQuery rewrite does: each fuzzy term becomes the indexed words
    (over the whole index: its terms dictionary) within the edit distance, at most
    `max_expansions` of them, the closest first (then in term order)."""
    expansions: Expansions = {}
    for leaf in _leaves(query):
        kind, spec = _single(leaf)
        if kind != "match":
            continue
        path, args = _single(spec)
        if not args.get("fuzziness"):
            continue
        field = field_spec(mappings, path)
        vocabulary = {t for doc in docs.values() for t in indexed_terms(field, doc)}
        limit = int(args.get("max_expansions", DEFAULT_MAX_EXPANSIONS))
        distance = _osa if args.get("fuzzy_transpositions", True) else levenshtein
        for term in analyze(field.search_analyzer or field.analyzer, args["query"], field.analysis):
            fuzziness = args["fuzziness"]
            edits = _auto_edits(term) if fuzziness == "AUTO" else int(fuzziness)
            near = sorted((distance(term, word), word) for word in vocabulary)
            kept = [word for gap, word in near if gap <= edits][:limit]
            expansions[_fuzzy_key(path, term, args)] = set(kept)
    return expansions


def count_clauses(mappings: dict[str, Any], query: dict[str, Any], expansions: Expansions) -> int:
    """Clauses Lucene counts against max_clause_count: one per leaf query, one per word a
    non-fuzzy match analyzes to, one per expansion of a fuzzy term."""
    total = 0
    for leaf in _leaves(query):
        kind, spec = _single(leaf)
        if kind != "match":
            total += 1
            continue
        path, args = _single(spec)
        field = field_spec(mappings, path)
        terms = analyze(field.search_analyzer or field.analyzer, args["query"], field.analysis)
        if not args.get("fuzziness"):
            total += len(terms)
        else:
            total += sum(max(1, len(expansions[_fuzzy_key(path, t, args)])) for t in terms)
    return total


def matches(
    mappings: dict[str, Any],
    doc: dict[str, Any],
    query: dict[str, Any],
    expansions: Expansions | None = None,
) -> bool:
    """A leaf query (bool and span_near go through `evaluate`)."""
    kind, spec = _single(query)
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "exists":
        return bool(indexed_terms(field_spec(mappings, spec["field"]), doc))
    path, args = _single(spec)
    field = field_spec(mappings, path)
    terms = indexed_terms(field, doc)
    if kind == "term":
        value = args["value"] if isinstance(args, dict) else args
        return normalize(field, value) in terms if field.type == "keyword" else value in terms
    if kind == "terms":
        return any(normalize(field, value) in terms for value in args)
    if kind == "range":
        return any(_in_range(value, args) for value in terms)
    if kind == "wildcard":
        return any(_wildcard(args["value"]).fullmatch(term) for term in terms)
    if kind == "match_phrase":
        assert args.get("slop", 0) == 0, "sloppy phrases are not emulated"
        wanted = analyze(field.search_analyzer or field.analyzer, args["query"], field.analysis)
        return any(terms[i : i + len(wanted)] == wanted for i in range(len(terms)))
    if kind == "match":
        return _match(path, field, terms, args, expansions or {})
    raise KeyError(f"query {kind!r} is not emulated")


def _match(
    path: str, field: FieldSpec, terms: list[Any], args: dict[str, Any], expansions: Expansions
) -> bool:
    wanted = analyze(field.search_analyzer or field.analyzer, args["query"], field.analysis)
    assert args.get("prefix_length", 0) == 0

    def found(term: str) -> bool:
        if not args.get("fuzziness"):
            return term in terms
        return any(word in expansions[_fuzzy_key(path, term, args)] for word in terms)

    hits = [found(term) for term in wanted]
    return all(hits) if args.get("operator", "or") == "and" else any(hits)


def span_near_matches(mappings: dict[str, Any], doc: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Ordered span_near: positions p1 < p2 < … with (pk - p1 - (k - 1)) <= slop."""
    assert spec.get("in_order") is True
    wanted: list[str] = []
    path = ""
    for clause in spec["clauses"]:
        kind, inner = _single(clause)
        assert kind == "span_term"
        path, term = _single(inner)
        wanted.append(term["value"] if isinstance(term, dict) else term)
    terms = indexed_terms(field_spec(mappings, path), doc)
    slop = int(spec.get("slop", 0))

    def extend(position: int, rest: list[str]) -> list[int]:
        if not rest:
            return [position]
        ends: list[int] = []
        for nxt in range(position + 1, len(terms)):
            if terms[nxt] == rest[0]:
                ends.extend(extend(nxt, rest[1:]))
        return ends

    for start, term in enumerate(terms):
        if term == wanted[0]:
            for end in extend(start, wanted[1:]):
                if end - start - (len(wanted) - 1) <= slop:
                    return True
    return False


def _in_range(value: Any, bounds: dict[str, Any]) -> bool:
    for name, bound in bounds.items():
        assert isinstance(bound, int) and not isinstance(bound, bool), "long bounds only"
        ok = {
            "gte": value >= bound,
            "gt": value > bound,
            "lte": value <= bound,
            "lt": value < bound,
        }[name]
        if not ok:
            return False
    return True


def _wildcard(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars)))
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


# -- search: filter, sort, page ----------------------------------------------------------


def _sort_key(
    mappings: dict[str, Any], doc_id: str, doc: dict[str, Any], sort: list[dict[str, Any]]
) -> list[Any]:
    values: list[Any] = []
    for clause in sort:
        path, options = _single(clause)
        options = {"order": options} if isinstance(options, str) else options
        present = indexed_terms(field_spec(mappings, path), doc) if path != "_id" else [doc_id]
        if present:
            descending = options.get("order", "asc") == "desc"
            values.append(max(present) if descending else min(present))
        else:
            values.append(options.get("missing", "_last"))
    return values


class _Ordered:
    """One hit's sort values, compared as OpenSearch does (per-clause direction)."""

    def __init__(self, values: list[Any], sort: list[dict[str, Any]]) -> None:
        self.values = values
        self.directions = [
            (o if isinstance(o, str) else o.get("order", "asc")) for _, o in map(_single, sort)
        ]

    def compare(self, other: list[Any]) -> int:
        for mine, theirs, direction in zip(self.values, other, self.directions, strict=True):
            if mine == theirs:
                continue
            if mine == "_last" or theirs == "_last":
                return 1 if mine == "_last" else -1
            result = -1 if mine < theirs else 1
            return result if direction == "asc" else -result
        return 0

    def __lt__(self, other: _Ordered) -> bool:
        return self.compare(other.values) < 0


def search(
    mappings: dict[str, Any],
    docs: dict[str, dict[str, Any]],
    body: dict[str, Any],
    max_clause_count: int = 1024,
) -> dict[str, Any]:
    query = body.get("query", {"match_all": {}})
    expansions = expand_fuzzy(mappings, docs, query)
    clauses = count_clauses(mappings, query, expansions)
    if clauses > max_clause_count:
        raise TooManyClauses(
            f"Query contains too many nested clauses; maxClauseCount is set to {max_clause_count}"
        )
    found = [
        (doc_id, doc) for doc_id, doc in docs.items() if evaluate(mappings, doc, query, expansions)
    ]
    sort = body.get("sort", [{"_id": {"order": "asc"}}])
    keyed = [(_Ordered(_sort_key(mappings, i, d, sort), sort), i, d) for i, d in found]
    keyed.sort(key=lambda item: item[0])
    if "search_after" in body:
        after = body["search_after"]
        assert body.get("from", 0) == 0, "from must be 0 with search_after"
        keyed = [item for item in keyed if item[0].compare(after) > 0]
    start = int(body.get("from", 0))
    page = keyed[start : start + int(body.get("size", 10))]
    source = body.get("_source", True)
    hits = []
    for ordered, doc_id, doc in page:
        hit: dict[str, Any] = {"_index": "fake", "_id": doc_id, "_score": None,
                               "sort": ordered.values}  # fmt: skip
        if source is True:
            hit["_source"] = doc
        elif isinstance(source, list):
            hit["_source"] = {key: doc[key] for key in source if key in doc}
        hits.append(hit)
    result: dict[str, Any] = {"timed_out": False, "hits": {"hits": hits}}
    tracked = body.get("track_total_hits")
    if tracked not in (False, None):
        bound = len(found) if tracked is True else tracked
        relation = "gte" if len(found) > bound else "eq"
        result["hits"]["total"] = {"value": min(len(found), bound), "relation": relation}
    if "aggs" in body:
        from tests.unit.opensearch.fake_aggregations import evaluate_aggregations

        result["aggregations"] = evaluate_aggregations(
            mappings, [doc for _id, doc in found], body["aggs"]
        )
    return result


def evaluate(
    mappings: dict[str, Any],
    doc: dict[str, Any],
    query: dict[str, Any],
    expansions: Expansions | None = None,
) -> bool:
    """`matches`, with span_near and nested bool clauses routed through this function."""
    kind, spec = _single(query)
    if kind == "span_near":
        return span_near_matches(mappings, doc, spec)
    if kind == "bool":

        def holds(clause: dict[str, Any]) -> bool:
            return evaluate(mappings, doc, clause, expansions)

        required = [*spec.get("filter", []), *spec.get("must", [])]
        if not all(holds(clause) for clause in required):
            return False
        if any(holds(clause) for clause in spec.get("must_not", [])):
            return False
        should = spec.get("should", [])
        minimum = spec.get("minimum_should_match", 0 if required else 1 if should else 0)
        return sum(holds(clause) for clause in should) >= int(minimum)
    return matches(mappings, doc, query, expansions)
