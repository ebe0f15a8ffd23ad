"""Tooling for the local stack: a private PostgreSQL cluster, a local S3, the runner."""
