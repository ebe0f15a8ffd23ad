"""Data access: the connection pool, migrations and repositories."""
