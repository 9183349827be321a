"""Trigger samples: the SNS HTTP(S) notification of
https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html, as ATOM hands it on."""
from __future__ import annotations

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:atom-events"

SNS_MESSAGE = {
    "message_id": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    "topic_arn": TOPIC_ARN,
    "subject": "My First Message",
    "message": "Hello world!",
    "timestamp": "2012-05-02T00:54:06.655Z",
    "attributes": {"severity": "high"},
    "unsubscribe_url": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                       "arn:aws:sns:us-east-1:123456789012:atom-events:"
                       "c9135db0-26c4-47ec-8998-413945fb5a96",
}
