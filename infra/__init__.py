"""Connectra Serverless CDK app: stacks compose constructs, one concern per construct."""
