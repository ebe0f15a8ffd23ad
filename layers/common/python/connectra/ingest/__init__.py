"""Bulk import: exact byte-range splitting, parsing, validation, batched loading, finalize."""
