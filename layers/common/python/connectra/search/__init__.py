"""Search engines: one protocol, a PostgreSQL and an OpenSearch implementation."""
