"""SigV4: the signer against AWS's published vectors, what it puts on the wire, where each
service's requests go, and moto (IAM authentication on) refusing what AWS would refuse."""
from __future__ import annotations

import datetime
import hashlib
import re

import botocore.auth
import pytest
import responses
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from atom.integrations.errors import ValidationFailed
from plugins.aws.sigv4 import SERVICE_HEADER
from plugins.aws.sigv4 import SigV4
from plugins.aws.sigv4 import service_of

# The AWS documentation's example credentials and time (IAM user guide, "Examples of the
# complete Signature Version 4 signing process", and the SigV4 test suite's get-vanilla case).
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, 0)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: WHEN)


def test_the_sigv4_test_suite_get_vanilla_vector(frozen):
    headers = SigV4(AKID, SECRET, None, "us-east-1").sign(
        "GET", "https://example.amazonaws.com/", {}, None, "service", "us-east-1")
    assert headers == {
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                         "aws4_request, SignedHeaders=host;x-amz-date, Signature="
                         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}


def test_the_iam_list_users_example_of_the_aws_documentation(frozen):
    headers = SigV4(AKID, SECRET, None, "us-east-1").sign(
        "GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
         "User-Agent": "not signed", "Connection": "keep-alive"}, None, "iam", "us-east-1")
    assert headers["Authorization"].endswith(
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


@pytest.fixture
def seam():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _answer_s3(rsps, url):
    rsps.add(responses.PUT, re.compile(re.escape(url) + ".*"), status=200,
             headers={"ETag": '"abc"'})


def test_an_s3_put_is_signed_for_s3_with_the_body_hash_and_session_token(create_connection,
                                                                         run_action, seam):
    endpoint = "http://127.0.0.1:9"
    _answer_s3(seam, endpoint)
    conn = create_connection("aws", {"endpoint_url": endpoint, "region": "eu-west-2"},
                             {"access_key_id": "ASIAEXAMPLEEXAMPLE01", "secret_access_key": SECRET,
                              "session_token": "FwoGZXIvYXdzEXAMPLEsessiontoken0123456789"})
    r = run_action(conn, "put_object", {"bucket": "atom-reports", "key": "a b.txt",
                                           "content": "hello"})
    assert r.status_code == 200, r.get_json()
    (call,) = seam.calls
    sent = call.request
    assert SERVICE_HEADER not in sent.headers  # the marker is consumed by the signer
    assert sent.url == f"{endpoint}/atom-reports/a%20b.txt"
    assert sent.headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"hello").hexdigest()
    assert sent.headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLEsessiontoken0123456789"
    auth = sent.headers["Authorization"]
    assert re.match(r"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01/\d{8}/eu-west-2/s3/"
                    r"aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$", auth)
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
            "content-type"} <= set(signed)
    assert "user-agent" not in signed and "connection" not in signed
    # An independent botocore computation over what was sent gives the same signature.
    check = AWSRequest(method="PUT", url=sent.url, data=sent.body, headers={
        k: v for k, v in sent.headers.items() if k.lower() in signed})
    check.context["timestamp"] = sent.headers["X-Amz-Date"]
    signer = S3SigV4Auth(Credentials("ASIAEXAMPLEEXAMPLE01", SECRET,
                                     "FwoGZXIvYXdzEXAMPLEsessiontoken0123456789"),
                         "s3", "eu-west-2")
    expected = signer.signature(signer.string_to_sign(check, signer.canonical_request(check)),
                                check)
    assert auth.endswith(f"Signature={expected}")


def test_without_an_endpoint_each_service_goes_to_its_regional_host(create_connection,
                                                                    run_action, seam):
    seam.add(responses.PUT, "https://s3.eu-west-2.amazonaws.com/atom-reports/k", status=200)
    seam.add(responses.POST, "https://sns.eu-west-2.amazonaws.com/", status=200,
             body="<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult>"
                  "</PublishResponse>")
    seam.add(responses.POST, "https://sqs.eu-west-2.amazonaws.com/", status=200,
             json={"MessageId": "q-1", "MD5OfMessageBody": hashlib.md5(b"b").hexdigest()})
    seam.add(responses.POST, "https://sts.eu-west-2.amazonaws.com/", status=200,
             body="<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012"
                  "</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
    conn = create_connection("aws", {"region": "eu-west-2"},
                             {"access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": SECRET})
    assert run_action(conn, "put_object", {"bucket": "atom-reports", "key": "k",
                                              "content": "x"}).status_code == 200
    assert run_action(conn, "sns_publish", {
        "topic_arn": "arn:aws:sns:eu-west-2:123456789012:t", "message": "m"}).status_code == 200
    assert run_action(conn, "sqs_send_message", {
        "queue_url": "https://sqs.eu-west-2.amazonaws.com/123456789012/q",
        "body": "b"}).status_code == 200
    assert run_action(conn, "sts_get_caller_identity", {}).status_code == 200
    scopes = [re.search(r"/eu-west-2/([a-z0-9]+)/aws4_request", c.request.headers[
        "Authorization"]).group(1) for c in seam.calls]
    assert scopes == ["s3", "sns", "sqs", "sts"]
    assert seam.calls[2].request.headers["X-Amz-Target"] == "AmazonSQS.SendMessage"


def test_the_connection_lists_the_regional_hosts_as_its_destinations(app):
    from atom.state import get_state

    with app.app_context():
        dest = get_state(app).runtime.destination("aws", {"region": "ap-southeast-2"}, {})
        assert dest.split() == [f"https://{s}.ap-southeast-2.amazonaws.com"
                                for s in ("sts", "s3", "sns", "sqs")]
        assert get_state(app).runtime.destination(
            "aws", {"endpoint_url": "http://localstack:4566"}, {}) == "http://localstack:4566"


@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "us-east-1a", "../x", ""])
def test_the_region_is_validated(create_connection, client, keys, region):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "aws", "label": "x", "settings": {"region": region},
        "credentials": {"access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": SECRET}})
    assert r.status_code in (400, 422) and "region" in str(r.get_json())


def test_the_host_of_a_real_endpoint_names_the_service_and_region():
    assert service_of("https://sqs.eu-west-1.amazonaws.com/", "sqs", "us-east-1") == (
        "sqs", "eu-west-1")
    assert service_of("https://sts.eu-west-1.amazonaws.com/", None, "us-east-1") == (
        "sts", "eu-west-1")
    assert service_of("http://127.0.0.1:4566/", "sns", "us-east-1") == ("sns", "us-east-1")
    with pytest.raises(ValidationFailed):  # a marker the host contradicts: nothing is signed
        service_of("https://sns.us-east-1.amazonaws.com/", "s3", "us-east-1")
    with pytest.raises(ValidationFailed):  # one endpoint and no marker: which service?
        service_of("http://127.0.0.1:4566/", None, "us-east-1")


# -- moto refuses what AWS refuses ------------------------------------------------------------


def test_a_wrong_secret_is_a_signature_mismatch_and_an_auth_error(moto, aws_connection,
                                                                  run_action, check_connection):
    conn = aws_connection({**moto.admin, "secret_access_key": "x" * 40})
    r = run_action(conn, "sts_get_caller_identity", {})
    assert r.get_json()["code"] == "auth" and "SignatureDoesNotMatch" in r.get_json()["message"]
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    bucket = moto.bucket()
    s3 = run_action(conn, "get_object", {"bucket": bucket, "key": "k"}).get_json()
    assert s3["code"] == "auth" and "SignatureDoesNotMatch" in s3["message"]


def test_an_unknown_access_key_is_an_auth_error(moto, aws_connection, run_action):
    conn = aws_connection({"access_key_id": "AKIAUNKNOWNUNKNOWN01", "secret_access_key": "x" * 40})
    body = run_action(conn, "sts_get_caller_identity", {}).get_json()
    assert body["code"] == "auth" and "InvalidClientTokenId" in body["message"]
    body = run_action(conn, "list_objects", {"bucket": moto.bucket()}).get_json()
    assert body["code"] == "auth" and "InvalidAccessKeyId" in body["message"]


def test_an_action_the_iam_policy_denies_says_so(moto, aws_connection, run_action,
                                                 check_connection):
    conn = aws_connection(moto.nobody)
    assert check_connection(conn).get_json()["ok"] is True  # GetCallerIdentity needs no policy
    for action, body in (("list_objects", {"bucket": moto.bucket()}),
                         ("sns_publish", {"topic_arn": moto.topic(), "message": "m"})):
        answer = run_action(conn, action, body).get_json()
        assert answer["code"] == "auth", answer
        assert "AccessDenied" in answer["message"] or "AuthorizationError" in answer["message"]
        assert "IAM policy" in answer["message"]


def test_partitions_with_other_domains_need_an_endpoint(client, keys, create_connection):
    creds = {"access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": SECRET}
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "aws", "label": "cn", "settings": {"region": "cn-north-1"},
        "credentials": creds})
    assert r.status_code in (400, 422) and "endpoint_url" in str(r.get_json())
    create_connection("aws", {"region": "cn-north-1",
                              "endpoint_url": "https://s3.cn-north-1.amazonaws.com.cn"}, creds)
