"""Consumers of the API: keys and scopes, plans and their premium fields, the shared
rate limiter and the daily usage meter (SPEC §12). `docs/consumers.md` says what is
enforced where."""
