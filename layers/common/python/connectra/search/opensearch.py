"""The OpenSearch search engine: ids from OpenSearch, rows from PostgreSQL.

Phase one sends the compiled DSL (`connectra.vql.dsl`) to the entity's index alias and
gets back only ids and sort values (`_source: false`). Phase two loads those rows from
PostgreSQL in one query (`connectra.search.rows`: projection, order kept, companies
attached when populated). The next cursor is signed from the sort values of the page's
last hit, so deep paging continues exactly where OpenSearch stopped.

The client: opensearch-py with SigV4 (service `es`) for Amazon OpenSearch Service, HTTP
basic auth for a self-hosted cluster, nothing locally; every request has a timeout, and
connection errors and timeouts are retried by the transport.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from opensearchpy import OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError
from psycopg import Connection

from connectra.errors import DependencyUnavailable, ValidationFailed
from connectra.models.fields import Entity
from connectra.runtime_secrets import cursor_secret
from connectra.search.engine import AggregateResult, CountResult, SearchPage
from connectra.search.index_model import index_alias
from connectra.search.opensearch_aggregate import aggregate
from connectra.search.rows import load_page_rows
from connectra.settings import Settings
from connectra.vql.aggregation import AggregateQuery
from connectra.vql.ast import Query
from connectra.vql.cursor import encode_cursor
from connectra.vql.dsl import compile_count, compile_search, from_sort_values

REQUEST_TIMEOUT_SECONDS = 10.0
HEALTH_TIMEOUT_SECONDS = 3.0
TRANSPORT_MAX_RETRIES = 2
RETRY_ON_STATUS = (502, 503, 504)

T = TypeVar("T")


def create_client(settings: Settings, **overrides: Any) -> OpenSearch:
    """An opensearch-py client for `settings.opensearch_url` with the configured auth.

    `overrides` go to `OpenSearch(...)` last (tests pass a fake `connection_class`).
    """
    if not settings.opensearch_url:
        raise DependencyUnavailable("SEARCH_BACKEND=opensearch needs OPENSEARCH_URL")
    options: dict[str, Any] = {
        "hosts": [settings.opensearch_url],
        "timeout": REQUEST_TIMEOUT_SECONDS,
        "max_retries": TRANSPORT_MAX_RETRIES,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_ON_STATUS,
    }
    if settings.opensearch_auth == "sigv4":
        import boto3  # the AWS SDK only where it is needed
        from opensearchpy import AWSV4SignerAuth

        credentials = boto3.Session().get_credentials()
        options.update(
            http_auth=AWSV4SignerAuth(credentials, settings.aws_region, "es"),
            connection_class=RequestsHttpConnection,
            verify_certs=True,
        )
    elif settings.opensearch_auth == "basic":
        if not settings.opensearch_username or settings.opensearch_password is None:
            raise DependencyUnavailable(
                "OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD"
            )
        options["http_auth"] = (settings.opensearch_username, settings.opensearch_password)
    options.update(overrides)
    return OpenSearch(**options)


def _call(action: Callable[[], T]) -> T:
    """Run one OpenSearch request; its failures become the product's errors (never a 500)."""
    try:
        return action()
    except NotFoundError as exc:
        raise DependencyUnavailable(
            "the search index does not exist; run `connectra reindex`",
            {"opensearch_error": str(exc.error)},
        ) from exc
    except OpenSearchConnectionError as exc:
        raise DependencyUnavailable("the search cluster is unreachable") from exc
    except TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 503
        if status == 400:
            message = "the search index rejected the query (too complex?)"
            raise ValidationFailed(
                f"where: {message}",
                [{"path": "where", "message": message, "type": str(exc.error)}],
            ) from exc
        raise DependencyUnavailable(
            "the search cluster failed", {"status": status, "opensearch_error": str(exc.error)}
        ) from exc


class OpenSearchEngine:
    name = "opensearch"

    def __init__(self, settings: Settings, client: OpenSearch | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> OpenSearch:
        if self._client is None:
            self._client = create_client(self.settings)
        return self._client

    def index(self, entity: Entity) -> str:
        return index_alias(self.settings.opensearch_index_prefix, entity)

    def search(self, conn: Connection[Any], entity: Entity, query: Query) -> SearchPage:
        body = compile_search(query)
        response = _call(lambda: self.client.search(index=self.index(entity), body=body))
        hits: list[dict[str, Any]] = response["hits"]["hits"]
        has_more = len(hits) > query.limit
        hits = hits[: query.limit]
        rows = load_page_rows(conn, query, [uuid.UUID(hit["_id"]) for hit in hits])
        next_cursor = None
        if has_more and hits:
            values = from_sort_values(query.sort, hits[-1]["sort"])
            next_cursor = encode_cursor(values, query.fingerprint, cursor_secret(self.settings))
        return SearchPage(data=rows, next_cursor=next_cursor, page=query.page, limit=query.limit)

    def count(self, conn: Connection[Any], entity: Entity, query: Query) -> int:
        return self.count_up_to(conn, entity, query, None).count

    def count_up_to(
        self, conn: Connection[Any], entity: Entity, query: Query, up_to: int | None
    ) -> CountResult:
        """OpenSearch bounds the total itself (`track_total_hits: up_to`): "gte" past it."""
        body = compile_count(query, up_to=up_to)
        response = _call(lambda: self.client.search(index=self.index(entity), body=body))
        total = response["hits"]["total"]
        if total.get("relation") == "gte":
            return CountResult(count=int(total["value"]), relation="gte")
        return CountResult(count=int(total["value"]), relation="eq")

    def aggregate(self, conn: Connection[Any], query: AggregateQuery) -> AggregateResult:
        index = self.index(query.entity)
        answer = aggregate(
            lambda body: _call(lambda: self.client.search(index=index, body=body)), query
        )
        return AggregateResult.model_validate(answer)

    def health(self) -> dict[str, Any]:
        """Cluster status and whether each entity's index exists; reports, never raises."""
        try:
            cluster = self.client.cluster.health(request_timeout=HEALTH_TIMEOUT_SECONDS)
            indices = {
                entity.value: bool(
                    self.client.indices.exists(
                        index=self.index(entity), request_timeout=HEALTH_TIMEOUT_SECONDS
                    )
                )
                for entity in Entity
            }
        except Exception as exc:  # health reports, never raises
            return {"ok": False, "backend": self.name, "error": type(exc).__name__}
        status = cluster.get("status")
        return {
            "ok": status in ("green", "yellow") and all(indices.values()),
            "backend": self.name,
            "cluster_status": status,
            "indices": indices,
        }
