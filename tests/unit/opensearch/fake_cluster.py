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

Failure injection: `down` (every request raises ConnectionError), `item_statuses`
(document id → statuses its next bulk items get, e.g. [429, 429]: two rejections, then
the normal outcome), and strict mappings (an unknown field or a non-integer long is a
400 mapper error, as a real cluster answers).
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
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)


class MapperError(Exception):
    pass


class FakeCluster:
    def __init__(self) -> None:
        self.indices: dict[str, FakeIndex] = {}
        self.aliases: dict[str, set[str]] = {}
        self.requests: list[Recorded] = []
        self.down = False
        self.item_statuses: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        self.on_bulk: Callable[[list[Any]], None] | None = None

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
        merged: dict[str, dict[str, Any]] = {}
        for index in self.resolve(name):
            merged.update(self.indices[index].docs)
        return merged

    def of(self, method: str, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # -- HTTP --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, Any], body: bytes | None
    ) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(Recorded(method, path, dict(params), body))
            if self.down:
                raise OpenSearchConnectionError("N/A", "fake cluster is down", Exception("down"))
            parts = [unquote(part) for part in path.strip("/").split("/") if part]
            return self._route(method, parts, body)

    def _route(self, method: str, parts: list[str], body: bytes | None) -> tuple[int, Any]:
        payload = json.loads(body) if body and parts[-1] != "_bulk" else None
        if parts == ["_cluster", "health"]:
            return 200, {"status": "green", "number_of_nodes": 1}
        if parts[-1] == "_bulk":
            return 200, self._bulk(parts[0] if len(parts) == 2 else None, body or b"")
        if parts == ["_aliases"] and method == "POST":
            return self._update_aliases(payload or {})
        if len(parts) >= 2 and parts[-2] == "_alias":
            return self._alias(method, parts[-1])
        if parts[-1] == "_search":
            return self._search(parts[0], payload or {})
        if parts[-1] == "_refresh":
            return 200, {"_shards": {"failed": 0}}
        if parts[-1] == "_settings" and method == "PUT":
            for index in self.resolve(parts[0]):
                self.indices[index].settings.update((payload or {}).get("index", {}))
            return 200, {"acknowledged": True}
        if len(parts) == 1:
            return self._index_admin(method, parts[0], payload)
        return 400, {"error": {"type": "unsupported_by_fake", "reason": "/".join(parts)}}

    def _index_admin(self, method: str, name: str, payload: Any) -> tuple[int, Any]:
        exists = bool(self.resolve(name))
        if method == "HEAD":
            return (200, None) if exists else (404, None)
        if method == "PUT":
            if name in self.indices or name in self.aliases:
                return 400, {"error": {"type": "resource_already_exists_exception"}}
            body = payload or {}
            self.indices[name] = FakeIndex(
                settings=dict(body.get("settings", {}).get("index", {})),
                mappings=body.get("mappings", {}),
            )
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

    def _bulk(self, default_index: str | None, body: bytes) -> dict[str, Any]:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if self.on_bulk is not None:
            self.on_bulk(lines)
        items: list[dict[str, Any]] = []
        position = 0
        while position < len(lines):
            ((op, meta),) = lines[position].items()
            position += 1
            source = None
            if op != "delete":
                source = lines[position]
                position += 1
            index = meta.get("_index", default_index)
            items.append({op: self._bulk_item(op, index, str(meta["_id"]), source)})
        errors = any("error" in item for entry in items for item in entry.values())
        return {"took": 1, "errors": errors, "items": items}

    def _bulk_item(
        self, op: str, name: str | None, doc_id: str, source: dict[str, Any] | None
    ) -> dict[str, Any]:
        base: dict[str, Any] = {"_index": name, "_id": doc_id}
        injected = self.item_statuses.get(doc_id)
        if injected:
            status = injected.pop(0)
            kind = "es_rejected_execution_exception" if status == 429 else "injected_failure"
            return {**base, "status": status, "error": {"type": kind, "reason": "injected"}}
        targets = self.resolve(name or "")
        if not targets:
            if op == "delete":
                return {**base, "status": 404, "result": "not_found"}
            return {
                **base,
                "status": 404,
                "error": {"type": "index_not_found_exception", "reason": str(name)},
            }
        index = self.indices[targets[0]]
        if op == "delete":
            found = index.docs.pop(doc_id, None)
            return {**base, "status": 200 if found else 404,
                    "result": "deleted" if found else "not_found"}  # fmt: skip
        assert source is not None
        try:
            check_document(index.mappings, source)
        except MapperError as exc:
            return {**base, "status": 400,
                    "error": {"type": "mapper_parsing_exception", "reason": str(exc)}}  # fmt: skip
        created = doc_id not in index.docs
        index.docs[doc_id] = source
        return {**base, "status": 201 if created else 200,
                "result": "created" if created else "updated"}  # fmt: skip

    # -- search ------------------------------------------------------------------------

    def _search(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        targets = self.resolve(name)
        if not targets:
            return 404, {"error": {"type": "index_not_found_exception", "reason": name}}
        index = self.indices[targets[0]]
        return 200, search(index.mappings, self.documents(name), body)


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


def field_spec(mappings: dict[str, Any], path: str) -> FieldSpec:
    properties = mappings["properties"]
    if path in properties:
        return _spec(path, properties[path])
    parent, _, child = path.rpartition(".")
    if parent in properties and child in properties[parent].get("fields", {}):
        return _spec(parent, properties[parent]["fields"][child])
    raise KeyError(f"no field {path!r} in the mappings")


def _spec(source: str, config: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        source=source,
        type=config["type"],
        analyzer=config.get("analyzer"),
        search_analyzer=config.get("search_analyzer"),
        normalizer=config.get("normalizer"),
        ignore_above=config.get("ignore_above"),
    )


def analyze(analyzer: str | None, text: str) -> list[str]:
    if analyzer in (None, "standard"):
        return [t.lower() for t in re.findall(r"\w+", text)]
    if analyzer == "keyword":
        return [text]
    if analyzer == "connectra_words":
        return [token.lower() for token in re.split(r"[^A-Za-z0-9]+", text) if token]
    if analyzer == "connectra_grams":
        return [
            text[start : start + size].lower()
            for start in range(len(text))
            for size in range(3, 11)
            if start + size <= len(text)
        ]
    raise KeyError(f"analyzer {analyzer!r} is not emulated")


def normalize(spec: FieldSpec, value: str) -> str:
    return value.lower() if spec.normalizer == "connectra_lower" else value


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
            terms.extend(analyze(spec.analyzer, str(value)))
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


def matches(mappings: dict[str, Any], doc: dict[str, Any], query: dict[str, Any]) -> bool:
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
        wanted = analyze(field.search_analyzer or field.analyzer, args["query"])
        return any(terms[i : i + len(wanted)] == wanted for i in range(len(terms)))
    if kind == "match":
        return _match(field, terms, args)
    raise KeyError(f"query {kind!r} is not emulated")


def _match(field: FieldSpec, terms: list[Any], args: dict[str, Any]) -> bool:
    wanted = analyze(field.search_analyzer or field.analyzer, args["query"])
    fuzziness = args.get("fuzziness", 0)
    transpositions = args.get("fuzzy_transpositions", True)
    assert args.get("prefix_length", 0) == 0

    def found(term: str) -> bool:
        edits = _auto_edits(term) if fuzziness == "AUTO" else int(fuzziness)
        distance = _osa if transpositions else levenshtein
        return any(distance(term, word) <= edits for word in terms)

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
    mappings: dict[str, Any], docs: dict[str, dict[str, Any]], body: dict[str, Any]
) -> dict[str, Any]:
    query = body.get("query", {"match_all": {}})
    found = [(doc_id, doc) for doc_id, doc in docs.items() if evaluate(mappings, doc, query)]
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
    if body.get("track_total_hits") not in (False, None):
        result["hits"]["total"] = {"value": len(found), "relation": "eq"}
    if "aggs" in body:
        from tests.unit.opensearch.fake_aggregations import evaluate_aggregations

        result["aggregations"] = evaluate_aggregations(
            mappings, [doc for _id, doc in found], body["aggs"]
        )
    return result


def evaluate(mappings: dict[str, Any], doc: dict[str, Any], query: dict[str, Any]) -> bool:
    """`matches`, with span_near and nested bool clauses routed through this function."""
    kind, spec = _single(query)
    if kind == "span_near":
        return span_near_matches(mappings, doc, spec)
    if kind == "bool":
        required = [*spec.get("filter", []), *spec.get("must", [])]
        if not all(evaluate(mappings, doc, clause) for clause in required):
            return False
        if any(evaluate(mappings, doc, clause) for clause in spec.get("must_not", [])):
            return False
        should = spec.get("should", [])
        minimum = spec.get("minimum_should_match", 0 if required else 1 if should else 0)
        return sum(evaluate(mappings, doc, clause) for clause in should) >= int(minimum)
    return matches(mappings, doc, query)
