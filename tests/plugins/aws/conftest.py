"""The AWS plugin's contract: moto (the AWS API emulator from PyPI, ``moto[server]``) in server
mode on loopback, started once per test session, with its IAM authentication switched on after
setup (``POST /moto-api/reset-auth`` with 0): from then on moto recomputes every request's SigV4
signature with the signing key of the access key it names and refuses a mismatch
(SignatureDoesNotMatch), an unknown key (InvalidClientTokenId / InvalidAccessKeyId) and an
action the user's IAM policy does not allow (AccessDenied), as AWS does.

Users: ``admin`` (an allow-everything policy) and ``nobody`` (no policy: everything but
GetCallerIdentity is denied). Tests make their own buckets, topics and queues (unique names),
since the emulator's state lives for the session.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from dataclasses import field

import pytest
import requests

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@dataclass
class Moto:
    url: str
    admin: dict[str, str]
    nobody: dict[str, str]
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        """A boto3 client of the admin user (made once: building one loads its API model)."""
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.url, region_name=REGION,
                aws_access_key_id=self.admin["access_key_id"],
                aws_secret_access_key=self.admin["secret_access_key"])
        return self._clients[service]

    def bucket(self) -> str:
        name = f"atom-{uuid.uuid4().hex[:16]}"
        self.client("s3").create_bucket(Bucket=name)
        return name

    def topic(self, name: str | None = None, **attributes: str) -> str:
        name = name or f"atom-{uuid.uuid4().hex[:12]}"
        return self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]

    def queue(self, fifo: bool = False) -> str:
        name = f"atom-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attrs = {"FifoQueue": "true"} if fifo else {}
        return self.client("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]


def _user(iam, name: str, policy: dict | None) -> dict[str, str]:
    # moto's backends are global to the process: another server of this process may have made
    # the same user already.
    name = f"{name}-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


@pytest.fixture(scope="session")
def moto():
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = "http://127.0.0.1:%d" % server.get_host_and_port()[1]
    # Authentication is process-wide in moto: off while the users are made (another server of
    # this process, a template run's, may have turned it on).
    requests.post(f"{url}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, aws_access_key_id="AKIDSETUP",
                       aws_secret_access_key="setup-secret-not-checked-yet")
    admin = _user(iam, "admin", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    nobody = _user(iam, "nobody", None)
    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    # The first signed request of each service makes moto load that service's backend and its
    # IAM policy checker: seconds of CPU under the GIL of this process, which a run of 30
    # plugins' health checks (10 s read timeout) on a busy CI machine cannot spare. Pay it here.
    warm = Moto(url, admin, nobody)
    warm.client("sts").get_caller_identity()
    warm.client("s3").list_buckets()
    warm.client("sns").list_topics()
    warm.client("sqs").list_queues()
    yield warm
    requests.post(f"{url}/moto-api/reset-auth", data=b"inf", timeout=10)
    server.stop()


@pytest.fixture
def aws_connection(create_connection, moto):
    """An AWS connection to moto through the API; returns its JSON."""
    def make(keys: dict[str, str] | None = None, label: str | None = None, **settings) -> dict:
        settings = {"endpoint_url": moto.url, "region": REGION, "max_attempts": 1, **settings}
        creds = {**(keys or moto.admin),
                 "sns_topic_arns": f"arn:aws:sns:{REGION}:{ACCOUNT}:*"}
        return create_connection("aws", settings, creds, label=label)

    return make


def contract_fake():
    """moto as a contract server for tests that run many plugins (template runs): settings,
    credentials of an allowed user, ``stop()``."""
    from contextlib import contextmanager

    from tests.plugins.conftest import as_contract_fake

    @contextmanager
    def running():
        gen = moto.__wrapped__()
        server = next(gen)
        try:
            yield {"settings": {"endpoint_url": server.url, "region": REGION},
                   "credentials": {**server.admin,
                                   "sns_topic_arns": f"arn:aws:sns:{REGION}:{ACCOUNT}:*"}}
        finally:
            next(gen, None)

    return as_contract_fake(running())
