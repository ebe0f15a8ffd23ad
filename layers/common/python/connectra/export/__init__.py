"""Export: a VQL query's rows streamed as CSV or NDJSON into S3, in parallel parts."""
