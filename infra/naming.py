"""One naming scheme for stacks and the few physical names other tools look up."""

from __future__ import annotations

from infra.constants import PROJECT


def stack_name(environment: str, concern: str) -> str:
    """`connectra-dev-app`: also the file name sam reads, cdk.out/<stack>.template.json."""
    return f"{PROJECT}-{environment}-{concern}"


def resource_name(environment: str, name: str) -> str:
    return f"{PROJECT}-{environment}-{name}"


def usage_plan_name(environment: str, tier: str) -> str:
    """The `connectra keys` CLI finds plans by this name (a test checks both agree)."""
    return resource_name(environment, tier)
