"""SNS HTTP(S) deliveries at ``POST /hooks/aws/<connection id>``, verified by the ``"aws_sns"``
scheme (atom/integrations/webhooks.py): vectors signed as SNS signs (sns_signing.py), the
certificate URL's host, the topic allowlist, stale and replayed messages, the subscription
handshake (confirmed with the ConfirmSubscription API against moto) and a notification
starting a workflow."""
from __future__ import annotations

import time

import pytest
import responses

from atom.extensions import db
from atom.integrations import webhooks
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from tests.plugins.aws import sns_signing as sns
from tests.plugins.aws.sns_signing import CERT_URL
from tests.plugins.aws.sns_signing import PEM
from tests.plugins.aws.sns_signing import TOPIC

ALLOWED = f"{TOPIC} arn:aws:sns:us-east-1:123456789012:other"
NOW = time.time()


@pytest.fixture(autouse=True)
def certs(monkeypatch):
    """The certificate fetch, replaced: the test certificate at CERT_URL, nothing elsewhere."""
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        if url != CERT_URL:
            raise SignatureError("no certificate there")
        return PEM

    webhooks.sns_certificates.clear()
    monkeypatch.setattr(webhooks.sns_certificates, "fetch", fetch)
    yield fetched
    webhooks.sns_certificates.clear()


def check(msg: dict, allowed: str = ALLOWED, now: float | None = None, headers=None) -> str:
    req = WebhookRequest("POST", "https://atom.example.com/hooks/aws/1",
                         headers or {"x-amz-sns-message-type": msg.get("Type", "")},
                         sns.body(msg))
    return verify("aws_sns", req, allowed, tolerance=300, now=NOW if now is None else now)


# -- the scheme ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation",
                                  "UnsubscribeConfirmation"])
def test_a_signed_message_is_accepted(kind, version):
    digest = check(sns.message(kind, now=NOW, version=version))
    assert len(digest) == 64


def test_a_notification_without_a_subject_is_signed_without_it():
    msg = sns.message(now=NOW)
    del msg["Subject"]
    check(sns.sign(msg))
    check(sns.sign({**msg, "Subject": None}))


@pytest.mark.parametrize("field, value", [
    ("Message", "Deploy failed"), ("Subject", "Other"),
    ("TopicArn", "arn:aws:sns:us-east-1:123456789012:other"),
    ("MessageId", "another-id"), ("Timestamp", "one second later"), ("Type",
                                                                     "UnsubscribeConfirmation"),
])
def test_a_tampered_field_is_a_mismatch(field, value):
    if field == "Timestamp":
        value = sns.iso(NOW + 1)
    msg = {**sns.message(now=NOW), field: value}
    if field == "Type":
        msg["Token"], msg["SubscribeURL"] = "t" * 20, "https://sns.us-east-1.amazonaws.com/"
    with pytest.raises(SignatureError, match="mismatch"):
        check(msg, headers={})


def test_a_sha1_signature_is_not_accepted_as_version_2():
    with pytest.raises(SignatureError, match="mismatch"):
        check({**sns.message(now=NOW, version="1"), "SignatureVersion": "2"})


def test_a_message_signed_by_another_key_is_refused():
    other, _ = sns.make_cert()
    with pytest.raises(SignatureError, match="mismatch"):
        check(sns.message(now=NOW, key=other))


@pytest.mark.parametrize("url", [
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
    "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",  # not the topic's
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?x=.pem",
    "https://sns.us-east-1.amazonaws.com/cert.txt",
    "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "",
])
def test_the_certificate_must_come_from_sns_over_https(certs, url):
    with pytest.raises(SignatureError, match="SigningCertURL"):
        check(sns.message(now=NOW, cert_url=url))
    assert certs == []  # refused before anything was fetched


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_stale_or_future_timestamp_is_refused(age):
    with pytest.raises(SignatureError, match="tolerance"):
        check(sns.message(now=NOW - age))


@pytest.mark.parametrize("age", [299, -299, 0])
def test_a_timestamp_within_the_window_is_accepted(age):
    check(sns.message(now=NOW - age))


@pytest.mark.parametrize("allowed, ok", [
    (TOPIC, True),
    ("arn:aws:sns:us-east-1:123456789012:*", True),
    ("arn:aws:sns:us-east-1:999999999999:*", False),
    ("arn:aws:sns:us-east-1:123456789012:atom-events-2", False),
    ("arn:aws:sns:us-east-1:123456789012:atom", False),
    ("", False),
])
def test_only_accepted_topics_pass(allowed, ok):
    msg = sns.message(now=NOW)
    if ok:
        check(msg, allowed=allowed)
    else:
        with pytest.raises(SignatureError):
            check(msg, allowed=allowed)


@pytest.mark.parametrize("change", [
    {"SignatureVersion": "3"}, {"SignatureVersion": None}, {"Signature": "not base64!"},
    {"Type": "Other"}, {"Timestamp": "yesterday"}, {"Timestamp": "2024-06-01T00:00:00"},
    {"TopicArn": "arn:aws:sqs:us-east-1:123456789012:q"}, {"MessageId": None},
])
def test_a_malformed_message_is_refused(change):
    with pytest.raises(SignatureError):
        check({**sns.message(now=NOW), **change}, headers={})


def test_the_message_type_header_must_agree(certs):
    with pytest.raises(SignatureError, match="x-amz-sns-message-type"):
        check(sns.message(now=NOW), headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})


def test_the_certificate_is_fetched_once_and_an_expired_one_is_refused(certs, monkeypatch):
    check(sns.message(now=NOW))
    check(sns.message(now=NOW))
    assert certs == [CERT_URL]
    webhooks.sns_certificates.clear()
    _, expired = sns.make_cert(days=1, offset_days=-10)
    monkeypatch.setattr(webhooks.sns_certificates, "fetch", lambda url: expired)
    with pytest.raises(SignatureError, match="not valid now"):
        check(sns.message(now=NOW))


def test_the_same_message_twice_has_the_same_replay_digest():
    msg = sns.message(now=NOW)
    assert check(msg) == check(msg, now=NOW + 10) != check(sns.message(now=NOW))


def test_the_default_fetch_goes_through_an_integration_client():
    fetch = webhooks._fetch_sns_certificate
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, CERT_URL, body=PEM)
        rsps.add(responses.GET, CERT_URL + "x.pem", status=404)
        rsps.add(responses.GET, CERT_URL + "y.pem", body=b"x" * 20_000)
        assert fetch(CERT_URL) == PEM
        assert rsps.calls[0].request.headers["User-Agent"].startswith("ATOM/")
        assert "Authorization" not in rsps.calls[0].request.headers
        with pytest.raises(SignatureError, match="could not be fetched"):
            fetch(CERT_URL + "x.pem")
        with pytest.raises(SignatureError, match="large"):
            fetch(CERT_URL + "y.pem")


# -- through the receiver --------------------------------------------------------------------------


@pytest.fixture
def conn(aws_connection):
    return aws_connection()


@pytest.fixture
def deliver(client, conn):
    def send(msg: dict, raw: bytes | None = None):
        return client.post(f"/hooks/aws/{conn['id']}", data=raw or sns.body(msg), headers={
            "Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": msg["Type"],
            "x-amz-sns-message-id": msg["MessageId"], "x-amz-sns-topic-arn": msg["TopicArn"]})

    return send


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_a_notification_is_stored_once_as_an_sns_message(app, deliver):
    msg = sns.message(MessageAttributes={"severity": {"Type": "String", "Value": "high"}})
    first = deliver(msg)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["accepted"] == 1
    again = deliver(msg)  # SNS retries, or a replay: the same signed message
    assert again.get_json()["duplicate"] is True
    (row,) = stored(app)
    assert (row.event, row.delivery_id) == ("sns_message", msg["MessageId"])
    assert row.payload == {"message_id": msg["MessageId"], "topic_arn": TOPIC,
                           "subject": "Deploy", "message": "Deploy finished",
                           "timestamp": msg["Timestamp"], "attributes": {"severity": "high"},
                           "unsubscribe_url": msg["UnsubscribeURL"]}


def test_a_bad_signature_is_refused_and_nothing_is_stored(app, deliver):
    msg = sns.message()
    r = deliver(msg, raw=sns.body({**msg, "Message": "forged"}))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_message_from_a_topic_not_listed_is_refused(app, deliver):
    r = deliver(sns.message(topic="arn:aws:sns:us-east-1:210987654321:attacker"))
    assert r.status_code == 401 and stored(app) == []


def test_a_subscription_confirmation_is_confirmed_with_the_api(app, moto, deliver, certs):
    topic = moto.topic()
    r = deliver(sns.message("SubscriptionConfirmation", topic=topic,
                            SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action="
                                         "ConfirmSubscription&elsewhere"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["confirmed"] is True and body["subscription_arn"].startswith(topic + ":")
    assert stored(app) == []
    assert certs == [CERT_URL]  # the SubscribeURL itself was never fetched


def test_a_forged_subscription_confirmation_confirms_nothing(app, moto, deliver):
    msg = sns.message("SubscriptionConfirmation", topic=moto.topic())
    r = deliver(msg, raw=sns.body({**msg, "Token": "f" * 64}))
    assert r.status_code == 401


def test_an_unsubscribe_confirmation_is_acknowledged(app, deliver):
    r = deliver(sns.message("UnsubscribeConfirmation"))
    assert r.status_code == 200 and r.get_json() == {"unsubscribed": True, "topic_arn": TOPIC}
    assert stored(app) == []


def test_a_connection_accepting_no_topic_accepts_nothing(app, client, create_connection, moto):
    conn = create_connection("aws", {"endpoint_url": moto.url}, dict(moto.admin))
    msg = sns.message()
    r = client.post(f"/hooks/aws/{conn['id']}", data=sns.body(msg))
    assert r.status_code == 401 and stored(app) == []


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_a_notification_starts_the_workflow_listening_for_it(engine_api, deliver):
    wf = engine_api.create({
        "name": "deploy notices",
        "trigger": {"type": "event", "service": "AWS", "event": "sns_message"},
        "steps": [{"id": "what", "type": "transform",
                   "mapping": {"text": "trigger.message", "topic": "trigger.topic_arn"}}]})
    msg = sns.message()
    (execution,) = deliver(msg).get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    step = next(s for s in done["steps"] if s["step_id"] == "what")
    assert step["output"] == {"text": "Deploy finished", "topic": TOPIC}
    assert deliver(msg).get_json()["executions"] == []
