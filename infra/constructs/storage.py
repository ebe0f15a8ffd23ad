"""The one data bucket (uploads, exports, reports, manifests) and its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig


class StorageConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        # Disposable environments empty their buckets on `cdk destroy`: S3 keeps
        # delivering access logs while a stack is deleted, so emptying them by hand
        # beforehand is a race the deletion loses.
        self._auto_delete = config.removal_policy == "destroy"
        self.access_logs_bucket = self._build_access_logs_bucket(config)
        self.bucket = self._build_bucket(config)
        if self._auto_delete:
            self._suppress_auto_delete_provider()

    def _suppress_auto_delete_provider(self) -> None:
        """CDK's one auto-delete provider per stack (a Lambda of its own making)."""
        stack = Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith("Custom::S3AutoDeleteObjects"):
                nag.suppress(
                    child,
                    nag.suppression(
                        "IAM4",
                        "CDK's S3 auto-delete provider (disposable environments only) uses "
                        "AWSLambdaBasicExecutionRole.",
                        [nag.LAMBDA_BASIC_EXECUTION_POLICY],
                    ),
                    nag.suppression(
                        "L1",
                        "CDK's S3 auto-delete provider: its runtime is CDK's choice.",
                    ),
                )

    def grant_objects(self, grantee: iam.IGrantable, prefix: str, *actions: str) -> None:
        """Exact object actions under one prefix (no `s3:*Object*` wildcards of grant_*)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> None:
        self.grant_objects(grantee, prefix, "s3:GetObject")

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> None:
        # AbortMultipartUpload: large exports and reports are multipart uploads.
        self.grant_objects(grantee, prefix, "s3:PutObject", "s3:AbortMultipartUpload")

    def grant_delete(self, grantee: iam.IGrantable, prefix: str) -> None:
        self.grant_objects(grantee, prefix, "s3:DeleteObject")

    def _build_access_logs_bucket(self, config: EnvironmentConfig) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # Server access log delivery supports SSE-S3 only.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=config.stateful_removal_policy_without_snapshot,
            auto_delete_objects=self._auto_delete,
        )
        nag.suppress(
            bucket,
            nag.suppression("S1", "This is the access-log bucket: logging it would log itself."),
        )
        return bucket

    def _build_bucket(self, config: EnvironmentConfig) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "DataBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=self._lifecycle_rules(config),
            # Browsers upload with the presigned POST and download presigned GETs.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET],
                    allowed_origins=list(config.cors_allowed_origins),
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            removal_policy=config.stateful_removal_policy_without_snapshot,
            auto_delete_objects=self._auto_delete,
        )
        # Native CloudFormation EventBridge notifications; the `event_bridge_enabled` prop
        # would add a custom-resource Lambda just to set this one flag.
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        return bucket

    @staticmethod
    def _lifecycle_rules(config: EnvironmentConfig) -> list[s3.LifecycleRule]:
        expirations = {
            constants.UPLOADS_PREFIX: config.upload_expiration_days,
            constants.EXPORTS_PREFIX: config.export_expiration_days,
            constants.REPORTS_PREFIX: config.report_expiration_days,
            constants.MANIFESTS_PREFIX: config.manifest_expiration_days,
        }
        rules = [
            s3.LifecycleRule(
                id=f"expire-{prefix.rstrip('/')}",
                prefix=prefix,
                expiration=Duration.days(days),
            )
            for prefix, days in expirations.items()
        ]
        # A client that gives up mid-upload leaves invisible, billed parts behind.
        rules.append(
            s3.LifecycleRule(
                id="abort-incomplete-multipart-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        )
        return rules
