"""Object storage (S3) adapter: the only module that talks to S3."""
