"""Adapters to AWS services (the only place boto3 clients for them are used)."""
