"""Redaction by value: every form of a connection's secrets becomes [REDACTED], in the client
(before the classifier or a snippet reads a response) and in whatever is stored."""
from __future__ import annotations

import base64
import json
from urllib.parse import quote
from urllib.parse import quote_plus

import pytest

from atom.integrations.errors import UpstreamError
from atom.integrations.redaction import REDACTED
from atom.integrations.redaction import LiveSecrets
from atom.integrations.redaction import Redactor
from tests.fakes import reply

TOKEN = "tok/ABC+DEF=0123456789"
USER, PASSWORD = "bob@example.com", 'pw "x/y+z" 42'


@pytest.fixture
def redactor() -> Redactor:
    return Redactor.for_credentials({"auth": "basic", "username": USER, "password": PASSWORD,
                                     "token": TOKEN, "header": "X-Api-Key", "pin": "123"},
                                    {"password", "token", "pin"})


@pytest.mark.parametrize("form", [
    TOKEN, f"Bearer {TOKEN}", quote(TOKEN, safe=""), quote_plus(TOKEN), quote(TOKEN),
    json.dumps(PASSWORD)[1:-1], quote_plus(PASSWORD),
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode().rstrip("="),
    base64.b64encode(TOKEN.encode()).decode(),
])
def test_each_common_encoding_is_replaced_whole(redactor, form):
    assert redactor.text(f"before {form} after") == f"before {REDACTED} after"
    assert redactor.data(f"<{form}>".encode()) == f"<{REDACTED}>".encode()


def test_short_values_and_identities_are_left_alone(redactor):
    # A 3-character PIN would match ordinary text everywhere; user names are not secrets.
    assert redactor.text(f"pin 123 for {USER}") == f"pin 123 for {USER}"
    assert not Redactor.for_credentials({"token": "abc"}, {"token"})


def test_oauth_tokens_are_secrets_whatever_the_schema_says():
    redactor = Redactor.for_credentials({"access_token": "at-0123456789",
                                         "refresh_token": "rt-0123456789"}, set())
    assert redactor.text("at-0123456789 rt-0123456789") == f"{REDACTED} {REDACTED}"


def test_values_are_walked_only_when_they_hold_a_secret(redactor):
    clean = {"a": [1, "two", {"three": None}]}
    assert redactor.value(clean) is clean
    dirty = {"headers": {"Authorization": f"Bearer {TOKEN}"}, TOKEN: [f"x{TOKEN}y", 3]}
    assert redactor.value(dirty) == {"headers": {"Authorization": REDACTED},
                                     REDACTED: [f"x{REDACTED}y", 3]}
    long = {"items": ["filler" * 1000, f"...{quote(TOKEN, safe='')}..."]}
    assert redactor.value(long)["items"][1] == f"...{REDACTED}..."


def test_the_client_redacts_a_response_before_the_classifier_cuts_its_snippet(server, make_client,
                                                                               redactor):
    # The secret starts at character 190 of the body: a 200-character snippet would keep 10.
    server.script("/x", reply(500, "E" * 190 + TOKEN + " refused", headers={"X-Echo": TOKEN}))
    client = make_client(max_attempts=1, client_kw={"redactor": redactor})
    with pytest.raises(UpstreamError) as caught:
        client.get("/x")
    assert caught.value.message.endswith("E" * 190 + REDACTED)
    assert TOKEN[:6] not in caught.value.message


def test_the_plugin_reads_redacted_bodies_and_headers(server, make_client, redactor):
    server.script("/x", reply(200, {"echo": f"Bearer {TOKEN}"}, headers={"X-Echo": TOKEN}))
    response = make_client(client_kw={"redactor": redactor}).get("/x")
    assert response.json() == {"echo": REDACTED}
    assert response.headers["X-Echo"] == REDACTED


def test_the_live_registry_drops_what_its_owner_drops():
    live = LiveSecrets()

    class Owner:
        pass

    first, second = Owner(), Owner()
    live.register(first, Redactor.for_credentials({"token": "tok-first-0001"}, {"token"}))
    live.register(second, Redactor.for_credentials({"token": "tok-second-002"}, {"token"}))
    assert live.text("tok-first-0001 tok-second-002") == f"{REDACTED} {REDACTED}"
    live.drop(first)
    assert live.text("tok-first-0001 tok-second-002") == f"tok-first-0001 {REDACTED}"
    del second  # garbage: dropped too
    import gc

    gc.collect()
    assert live.text("tok-second-002") == "tok-second-002"


def test_many_secrets_are_found_through_the_index():
    # The live registry of a process with many connections: past a few forms, an index.
    tokens = [f"tok-{n:04d}-{'x' * 12}" for n in range(40)]
    redactor = Redactor.for_credentials({f"t{n}": t for n, t in enumerate(tokens)},
                                        {f"t{n}" for n in range(40)})
    assert redactor.text(f"a {tokens[7]} b {quote(tokens[31])} c") == f"a {REDACTED} b {REDACTED} c"
    assert redactor.text("nothing here, tok-9999 either") == "nothing here, tok-9999 either"


def test_an_owner_collected_while_the_registry_lock_is_held_does_not_deadlock():
    """A finalizer runs at any allocation, also in a thread that holds the registry's lock
    (that deadlocked a worker until a signal broke it)."""
    import gc
    import threading

    live = LiveSecrets()

    class Owner:
        pass

    owner = Owner()
    live.register(owner, Redactor.for_credentials({"token": "tok-0123456789abcdef"}, {"token"}))
    assert live.text("sent tok-0123456789abcdef") == "sent [REDACTED]"

    def collect_under_the_lock() -> None:
        nonlocal owner
        with live._lock:
            del owner
            gc.collect()

    worker = threading.Thread(target=collect_under_the_lock, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the finalizer deadlocked on the registry lock"
    assert live.text("sent tok-0123456789abcdef") == "sent tok-0123456789abcdef"  # forgotten
