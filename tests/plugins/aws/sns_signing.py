"""SNS message signing for tests, after
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the canonical
string is "Name\\nValue\\n" for the message type's fields in byte order, signed with RSA PKCS#1
v1.5 over SHA1 (SignatureVersion 1) or SHA256 (2). The certificate is a self-signed one made
here with ``cryptography`` (SNS's real certificates are not fetched: nothing leaves the
machine), served at an sns.<region>.amazonaws.com URL by replacing the certificate fetch."""
from __future__ import annotations

import base64
import datetime
import json
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REGION = "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:atom-events"
CERT_URL = (f"https://sns.{REGION}.amazonaws.com/"
            "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem")
FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
}
FIELDS["UnsubscribeConfirmation"] = FIELDS["SubscriptionConfirmation"]


def make_cert(days: float = 30.0, offset_days: float = -1.0):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=offset_days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, PEM = make_cert()


def iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[
        :-3] + "Z"


def message(kind: str = "Notification", *, now: float | None = None, topic: str = TOPIC,
            version: str = "1", key=None, cert_url: str = CERT_URL, **fields) -> dict:
    """A signed SNS message of ``kind`` (Timestamp ``now``), with ``fields`` overriding."""
    msg = {"Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": topic,
           "Timestamp": iso(time.time() if now is None else now),
           "SignatureVersion": version, "SigningCertURL": cert_url}
    if kind == "Notification":
        msg.update(Subject="Deploy", Message="Deploy finished",
                   UnsubscribeURL=f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe"
                                  f"&SubscriptionArn={topic}:c9135db0")
    else:
        token = "2336412f37fb687f5d51e6e241d638b05824e9e2f6713b42abaeb8607743f5ba91d34edd2b9dabe"
        msg.update(Token=token, Message=f"You have chosen to subscribe to the topic {topic}.",
                   SubscribeURL=f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription"
                                f"&TopicArn={topic}&Token={token}")
    msg.update(fields)
    return sign(msg, key)


def sign(msg: dict, key=None) -> dict:
    canonical = "".join(f"{n}\n{msg[n]}\n" for n in FIELDS[msg["Type"]] if msg.get(n) is not None)
    digest = hashes.SHA1() if msg["SignatureVersion"] == "1" else hashes.SHA256()
    raw = (key or KEY).sign(canonical.encode(), padding.PKCS1v15(), digest)
    return {**msg, "Signature": base64.b64encode(raw).decode()}


def body(msg: dict) -> bytes:
    return json.dumps(msg).encode()
