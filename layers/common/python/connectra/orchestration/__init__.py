"""Above ingest and export: launching runs, the sweeper, the job service."""
