"""Choose the search engine from the settings; the API never knows which one runs."""

from __future__ import annotations

from connectra.runtime_secrets import cursor_secret
from connectra.search.engine import SearchEngine
from connectra.settings import Settings


def get_search_engine(settings: Settings) -> SearchEngine:
    if settings.search_backend == "opensearch":
        # Imported here: opensearch-py and its client are only loaded when chosen.
        from connectra.search.opensearch import OpenSearchEngine

        engine: SearchEngine = OpenSearchEngine(settings)
        return engine
    from connectra.search.postgres import PostgresSearchEngine

    return PostgresSearchEngine(cursor_secret=cursor_secret(settings))
