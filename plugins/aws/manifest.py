"""AWS: put, get and list S3 objects (and copy files into S3), publish to SNS, send to SQS,
check the caller's identity; a trigger for messages an SNS topic delivers over HTTPS."""
from __future__ import annotations

from atom.integrations import files
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.aws.samples import SNS_MESSAGE
from plugins.aws.samples import TOPIC_ARN
from plugins.aws.schemas import AwsCredentials
from plugins.aws.schemas import AwsSettings
from plugins.aws.schemas import CallerIdentityInput
from plugins.aws.schemas import GetObjectInput
from plugins.aws.schemas import ListObjectsInput
from plugins.aws.schemas import PublishInput
from plugins.aws.schemas import PutObjectInput
from plugins.aws.schemas import SendMessageInput

_S = maybe(STR)
BUCKET = "atom-reports"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/atom-jobs"
_FILE = obj(required=("id", "bucket", "key"), about="an S3 object; id is bucket/key",
            id=STR, bucket=STR, key=STR, name=STR, size=maybe(INT), etag=_S, content_type=_S,
            version_id=_S)
_OBJECT = obj(required=("key",), key=STR, size=maybe(INT), etag=_S, last_modified=_S,
              storage_class=_S)

MANIFEST = Manifest(
    slug="aws",
    display_name="AWS",
    category="cloud",
    description="Put, read and list S3 objects and copy files into S3, publish to SNS topics, "
                "send SQS messages and check the caller's identity; react to messages an SNS "
                "topic delivers to ATOM (signature-verified).",
    docs_url="https://docs.aws.amazon.com/",
    auth=AuthScheme(kind="custom", fields=AwsCredentials, signer="plugins.aws.sigv4:signer"),
    integration="plugins.aws.integration:AwsIntegration",
    settings=AwsSettings,
    aliases=("amazon web services", "aws", "amazon s3", "s3", "s3 bucket", "sns",
             "simple notification service", "sqs", "simple queue service", "amazon"),
    # No published per-account rate for these APIs as a whole (SNS/STS TPS are Service Quotas
    # per account and region: verify); S3 takes 3,500 writes and 5,500 reads a second per prefix.
    rate_limit=RateLimit(per_second=20, burst=40),
    actions=(
        Action("put_object", "Upload an S3 object", PutObjectInput, _FILE,
               example={"bucket": BUCKET, "key": "reports/2024-06-01.csv",
                        "content": "day,orders\n2024-06-01,42\n", "content_type": "text/csv",
                        "metadata": {"source": "atom"}},
               idempotent=True,
               description="Text, or base64 with encoding=base64 (up to ~5 MB: copy_file "
                           "streams larger files). Overwrites an object with the same key.",
               words=("upload to s3", "save to bucket", "put object", "write file to s3",
                      "store in s3")),
        Action("get_object", "Read an S3 object", GetObjectInput,
               obj(required=("bucket", "key", "content"), bucket=STR, key=STR, content=STR,
                   encoding=STR, size=INT, content_type=_S, etag=_S, last_modified=_S,
                   version_id=_S, metadata=obj()),
               example={"bucket": BUCKET, "key": "reports/2024-06-01.csv"},
               idempotent=True, read_only=True,
               description="As text (UTF-8) or base64; refused above max_bytes.",
               words=("download from s3", "read s3 file", "get object", "fetch from bucket")),
        Action("list_objects", "List S3 objects", ListObjectsInput,
               listing("objects", _OBJECT, bucket=STR, common_prefixes=arr(STR),
                       is_truncated=BOOL, next_continuation_token=_S),
               example={"bucket": BUCKET, "prefix": "reports/", "max_items": 50},
               idempotent=True, read_only=True,
               description="ListObjectsV2, in key order; pass next_continuation_token back "
                           "as continuation_token for more.",
               words=("list bucket", "list s3 files", "files in bucket", "list objects")),
        Action("sns_publish", "Publish to an SNS topic", PublishInput,
               obj(required=("message_id",), message_id=STR, topic_arn=STR,
                   sequence_number=_S),
               example={"topic_arn": TOPIC_ARN, "message": "Deploy finished",
                        "subject": "Deploy", "attributes": {"severity": "info"}},
               description="To every subscriber of the topic (e-mail, SMS, SQS, Lambda, "
                           "HTTPS); FIFO topics need message_group_id.",
               words=("publish", "sns notification", "notify topic", "fan out", "broadcast",
                      "send sns")),
        Action("sqs_send_message", "Send an SQS message", SendMessageInput,
               obj(required=("message_id",), message_id=STR, queue_url=STR, md5_of_body=_S,
                   sequence_number=_S),
               example={"queue_url": QUEUE_URL, "body": '{"job": "resize", "id": 42}',
                        "delay_seconds": 5, "attributes": {"kind": "resize"}},
               description="FIFO queues (.fifo) need message_group_id; deduplication_id "
                           "makes a retry safe.",
               words=("queue", "enqueue", "send to queue", "sqs message", "add job")),
        Action("sts_get_caller_identity", "Who am I", CallerIdentityInput,
               obj(required=("account",), account=STR, arn=STR, user_id=STR),
               example={"expected_account": "123456789012"}, idempotent=True, read_only=True,
               description="The account, ARN and user id of the connection's credentials "
                           "(STS GetCallerIdentity: needs no IAM permission).",
               words=("aws account", "who am i", "caller identity", "check credentials")),
        files.copy_action(_FILE, folder="the bucket, or bucket/prefix (required)",
                          words=("copy to s3", "back up to s3", "save attachment to s3")),
    ),
    triggers=(
        Trigger("sns_message", "SNS message received", SNS_MESSAGE,
                obj(required=("message_id", "topic_arn", "message"), message_id=STR,
                    topic_arn=STR, subject=_S, message=STR, timestamp=STR,
                    attributes=obj(), unsubscribe_url=_S),
                description="Subscribe this connection's webhook URL (HTTPS) to the topic and "
                            "list the topic in sns_topic_arns: ATOM checks SNS's signature, "
                            "confirms the subscription and starts workflows for each message "
                            "(narrow by topic with a condition on topic_arn).",
                words=("sns message", "topic message", "aws notification", "s3 event via sns",
                       "message published")),
    ),
    webhook=WebhookSpec(scheme="aws_sns", secret_field="sns_topic_arns",
                        delivery_header="x-amz-sns-message-id"),
    contract=Contract("moto", "tests/plugins/aws/conftest.py",
                      notes="moto in server mode (a real AWS API emulator, PyPI moto[server]) "
                            "on loopback with its IAM authentication on, so it checks every "
                            "SigV4 signature; every example runs against it "
                            "(tests/plugins/aws/test_actions.py)"),
)
