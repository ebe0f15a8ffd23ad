"""VQL: the JSON query language. Request models → a typed AST → SQL (or OpenSearch DSL)."""
