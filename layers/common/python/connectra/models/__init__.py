"""Domain models shared by the API, ingest, export and storage."""
