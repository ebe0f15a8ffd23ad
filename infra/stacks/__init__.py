"""Stacks: network, data (stateful) and app (stateless), composed from constructs."""
