"""cdk-nag: the AwsSolutions checks on every stack, and one shape for suppressions."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aspects, Stack
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct


def attach_checks(stack: Stack) -> None:
    """Findings become error annotations at synth; `cdk synth` fails on any of them."""
    # reports=False: no CSV per stack in cdk.out; the annotations carry every finding.
    Aspects.of(stack).add(AwsSolutionsChecks(verbose=True, reports=False))


def suppression(
    rule: str, reason: str, applies_to: Sequence[str | RegexAppliesTo] | None = None
) -> NagPackSuppression:
    return NagPackSuppression(
        id=f"AwsSolutions-{rule}", reason=reason, applies_to=list(applies_to or []) or None
    )


def suppress(
    construct: IConstruct, *suppressions: NagPackSuppression, children: bool = True
) -> None:
    NagSuppressions.add_resource_suppressions(
        construct, list(suppressions), apply_to_children=children
    )


def matching(pattern: str) -> RegexAppliesTo:
    """A finding's `applies_to` as a regex (cdk-nag wants /…/ delimiters)."""
    return RegexAppliesTo(regex=f"/{pattern}/")


__all__ = ["NagPackSuppression", "attach_checks", "matching", "suppress", "suppression"]

LAMBDA_BASIC_EXECUTION_POLICY = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)
