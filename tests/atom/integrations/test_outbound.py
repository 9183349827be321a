"""The outbound address policy (issue 7, item 3): which addresses ATOM connects to, checked on
the address the resolver returned and connected to without a second lookup, on every request,
redirect hop, token refresh and proxied call."""
from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from atom.integrations import auth as auth_mod
from atom.integrations.errors import ERROR_CLASSES
from atom.integrations.errors import Blocked
from atom.integrations.errors import IntegrationError
from atom.integrations.outbound import OutboundPolicy
from atom.settings import ConfigError
from tests.fakes import reply

STRICT = OutboundPolicy()  # production's default
TESTING = OutboundPolicy(allow_private=True)  # development's and testing's default


def _addr(ip: str, port: int = 80) -> list[tuple]:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
    return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]


class Resolver:
    """A scripted resolver: each call pops the next answer (the last one repeats)."""

    def __init__(self, *answers: str | list[str]) -> None:
        self.answers = [[a] if isinstance(a, str) else a for a in answers]
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append((host, port))
        ips = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [info for ip in ips for info in _addr(ip, port)]


def _reason(policy: OutboundPolicy, ip: str) -> str | None:
    return policy.denial(ipaddress.ip_address(ip))


# -- the default ranges ------------------------------------------------------------------------


@pytest.mark.parametrize(("ip", "label"), [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("10.0.0.1", "private (RFC 1918)"),
    ("172.16.0.1", "private (RFC 1918)"),
    ("172.31.255.255", "private (RFC 1918)"),
    ("192.168.1.1", "private (RFC 1918)"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("100.64.0.1", "shared address space"),
    ("100.127.255.254", "shared address space"),
    ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
])
def test_the_strict_policy_denies_every_internal_range(ip, label):
    reason = _reason(STRICT, ip)
    assert reason is not None and label in reason
    assert "denied by the outbound policy" in reason
    assert "ATOM_OUTBOUND_ALLOW" in reason


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
                                "11.0.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(ip):
    assert _reason(STRICT, ip) is None
    assert _reason(TESTING, ip) is None


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "10.0.0.1", "172.16.5.4", "192.168.0.10",
                                "fd00::1", "100.64.0.1", "::ffff:127.0.0.1"])
def test_allow_private_lifts_loopback_and_private_ranges(ip):
    assert _reason(TESTING, ip) is None


@pytest.mark.parametrize("ip", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254",
                                "0.0.0.0", "224.0.0.1", "240.0.0.1", "::"])
def test_allow_private_still_denies_link_local_and_the_rest(ip):
    assert _reason(TESTING, ip) is not None


def test_the_message_names_the_rule_and_the_setting():
    assert _reason(STRICT, "169.254.169.254") == (
        "169.254.169.254 is link-local (cloud metadata): denied by the outbound policy; "
        "allow it with ATOM_OUTBOUND_ALLOW")
    assert "ATOM_OUTBOUND_ALLOW_PRIVATE" in _reason(STRICT, "127.0.0.1")


# -- spellings, through the real resolver ------------------------------------------------------


@pytest.mark.parametrize("host", [
    "127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001", "017700000001",
    "[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "[::1]", "localhost",
])
def test_loopback_in_any_spelling_is_blocked_by_the_strict_policy(host):
    with pytest.raises(Blocked) as info:
        STRICT.resolve(host, 80)
    assert "loopback" in info.value.message


@pytest.mark.parametrize("host", [
    "169.254.169.254", "2852039166", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "0xa9fea9fe",
    "169.254.43518", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "[fe80::1]",
])
def test_cloud_metadata_in_any_spelling_is_blocked_even_when_private_is_allowed(host):
    with pytest.raises(Blocked) as info:
        TESTING.resolve(host, 80)
    assert "link-local" in info.value.message


def test_every_resolved_address_is_checked():
    policy = OutboundPolicy(resolver=Resolver(["93.184.216.34", "10.0.0.7"]))
    with pytest.raises(Blocked) as info:
        policy.resolve("mixed.example", 443)
    assert info.value.message.startswith("mixed.example resolves to 10.0.0.7, which is private")


def test_a_resolved_public_address_is_returned_for_connecting():
    resolver = Resolver("93.184.216.34")
    infos = OutboundPolicy(resolver=resolver).resolve("api.example", 443)
    assert [i[4] for i in infos] == [("93.184.216.34", 443)]
    assert resolver.calls == [("api.example", 443)]


# -- operator overrides ------------------------------------------------------------------------


def test_an_allowed_cidr_lifts_a_default_denial():
    policy = OutboundPolicy(allow=["169.254.169.254/32", "10.1.0.0/16"])
    assert _reason(policy, "169.254.169.254") is None
    assert _reason(policy, "::ffff:169.254.169.254") is None
    assert _reason(policy, "10.1.2.3") is None
    assert _reason(policy, "10.2.0.1") is not None


def test_an_allowed_host_name_may_resolve_to_a_private_address():
    resolver = Resolver("10.0.0.5")
    policy = OutboundPolicy(allow=["Jira.Internal.Example"], resolver=resolver)
    assert policy.resolve("jira.internal.example", 443)
    with pytest.raises(Blocked):
        policy.resolve("other.internal.example", 443)


def test_an_explicit_deny_beats_allow_and_allow_private():
    policy = OutboundPolicy(allow=["10.0.0.0/8"], deny=["10.1.0.0/16", "127.0.0.1"],
                            allow_private=True)
    assert _reason(policy, "10.2.0.1") is None
    reason = _reason(policy, "10.1.2.3")
    assert reason is not None and "ATOM_OUTBOUND_DENY" in reason and "10.1.0.0/16" in reason
    assert _reason(policy, "127.0.0.1") is not None
    assert _reason(policy, "::ffff:10.1.2.3") is not None


def test_a_denied_public_range_is_blocked():
    assert _reason(OutboundPolicy(deny=["93.184.216.0/24"]), "93.184.216.34") is not None


def test_a_denied_host_name_is_never_resolved():
    resolver = Resolver("93.184.216.34")
    policy = OutboundPolicy(deny=["evil.example", "*.tracker.example"], allow=["evil.example"],
                            resolver=resolver)
    for host in ("evil.example", "EVIL.example.", "a.b.tracker.example"):
        with pytest.raises(Blocked) as info:
            policy.resolve(host, 80)
        assert "ATOM_OUTBOUND_DENY" in info.value.message
    assert resolver.calls == []
    assert policy.resolve("tracker.example.org", 80)


def test_config_entries_are_comma_separated_or_lists():
    policy = OutboundPolicy.from_config({
        "OUTBOUND_ALLOW": " 10.0.0.0/8, api.internal ,[fd00::1]",
        "OUTBOUND_DENY": ["192.0.2.0/24"],
        "OUTBOUND_ALLOW_PRIVATE": "false",
        "HTTP_PROXY": "",
    })
    assert _reason(policy, "10.9.9.9") is None
    assert _reason(policy, "fd00::1") is None
    assert _reason(policy, "192.0.2.1") is not None
    assert _reason(policy, "127.0.0.1") is not None
    assert policy.proxy is None


@pytest.mark.parametrize(("config", "name"), [
    ({"OUTBOUND_ALLOW": "10.0.0.0/33"}, "OUTBOUND_ALLOW"),
    ({"OUTBOUND_DENY": "not a host!"}, "OUTBOUND_DENY"),
    ({"OUTBOUND_ALLOW_PRIVATE": "sometimes"}, "OUTBOUND_ALLOW_PRIVATE"),
    ({"HTTP_PROXY": "ftp://proxy:21"}, "HTTP_PROXY"),
])
def test_a_malformed_setting_is_a_config_error_naming_it(config, name):
    with pytest.raises(ConfigError, match=name):
        OutboundPolicy.from_config(config)


def test_blocked_is_a_permanent_422_error_class():
    err = Blocked("x")
    assert isinstance(err, IntegrationError)
    assert (err.code, err.http_status, err.permanent, err.retryable) == ("blocked", 422, True, False)
    assert "blocked" in ERROR_CLASSES


# -- through IntegrationClient and real sockets ------------------------------------------------


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket connected to (or tried to)."""
    seen: list = []
    original = socket.socket.connect

    def spy(self, address):
        seen.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


def test_a_denied_address_is_blocked_without_connecting_retrying_or_tripping_the_breaker(
        server, clock, make_client, recorder, connects):
    server.always("/items", reply(200))
    client = make_client(client_kw={"policy": STRICT}, circuit_threshold=1)

    for _ in range(3):
        with pytest.raises(Blocked) as info:
            client.get("/items")

    assert "127.0.0.1 is loopback: denied by the outbound policy" in info.value.message
    assert server.count() == 0
    assert connects == []
    assert clock.sleeps == []
    assert [(s.error_class, s.attempts, s.ok) for s in recorder.stats] == [("blocked", 1, False)] * 3
    assert client.breaker.state == "closed"


def test_blocked_surfaces_from_the_session_itself(server, make_client):
    client = make_client(client_kw={"policy": STRICT})
    with pytest.raises(Blocked):
        client.session.get(server.url + "/items", timeout=2)


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1",
                                  "[::ffff:127.0.0.1]"])
def test_loopback_spellings_reach_nothing(server, clock, make_client, host):
    server.always("/items", reply(200))
    client = make_client(client_kw={"policy": STRICT}, base_url=f"http://{host}:{server.port}")
    with pytest.raises(Blocked):
        client.get("/items")
    assert server.count() == 0


def test_the_testing_policy_reaches_the_local_fake(server, clock, make_client):
    server.always("/items", reply(200, {"ok": True}))
    client = make_client(client_kw={"policy": TESTING},
                         base_url=f"http://2130706433:{server.port}")
    assert client.get("/items").json() == {"ok": True}


def test_dns_rebinding_cannot_swap_the_checked_address(server, clock, make_client, connects):
    """The first answer is checked and connected to; a second lookup would get the metadata
    address. One lookup per connection, and the socket goes to the checked address."""
    server.always("/items", reply(200, {"ok": True}))
    server.always("/bye", reply(200, headers={"Connection": "close"}))
    resolver = Resolver("127.0.0.1", "169.254.169.254")
    policy = OutboundPolicy(allow_private=True, resolver=resolver)
    client = make_client(client_kw={"policy": policy}, base_url=f"http://rebind.test:{server.port}")

    assert client.get("/items").json() == {"ok": True}
    client.get("/items")  # the same kept-alive connection: no new lookup
    assert resolver.calls == [("rebind.test", server.port)]
    assert connects == [("127.0.0.1", server.port)]

    client.get("/bye")  # the server closes the connection: the next call connects again
    with pytest.raises(Blocked) as info:
        client.get("/items")
    assert "rebind.test resolves to 169.254.169.254" in info.value.message
    assert len(resolver.calls) == 2
    assert connects == [("127.0.0.1", server.port)]
    assert server.count("/items") == 2


def test_the_checked_addresses_are_tried_in_order(server, clock, make_client, connects):
    """Two checked answers, the first refusing connections: the second is used, no lookup."""
    from tests.fakes import free_port

    dead = free_port()

    def resolver(host, port, family=0, type=0, proto=0, flags=0):
        return _addr("127.0.0.1", dead) + _addr("127.0.0.1", server.port)

    server.always("/items", reply(200))
    policy = OutboundPolicy(allow_private=True, resolver=resolver)
    make_client(client_kw={"policy": policy}, base_url=f"http://two.test:{server.port}").get("/items")
    assert connects == [("127.0.0.1", dead), ("127.0.0.1", server.port)]
    assert server.count("/items") == 1


def test_a_redirect_to_cloud_metadata_is_blocked_without_connecting(server, clock, make_client,
                                                                   connects):
    server.script("/start", reply(302, headers={"Location": "http://169.254.169.254/latest/"}))
    client = make_client(client_kw={"policy": TESTING})
    with pytest.raises(Blocked) as info:
        client.get("/start")
    assert "169.254.169.254 is link-local (cloud metadata)" in info.value.message
    assert all(addr[0] != "169.254.169.254" for addr in connects)


@pytest.mark.parametrize("location", [
    "http://2852039166/latest/", "http://0251.0376.0251.0376/", "http://[::ffff:169.254.169.254]/",
    "HTTP://169.254.169.254/", " http://169.254.169.254/", "//169.254.169.254/x",
])
def test_redirect_hops_in_any_spelling_reach_nothing(server, clock, make_client, connects,
                                                     location):
    server.script("/start", reply(301, headers={"Location": location}))
    with pytest.raises(Blocked):
        make_client(client_kw={"policy": TESTING}).get("/start")
    assert len(connects) == 1  # the base only


def test_every_redirect_hop_passes_the_policy(server, other, clock, make_client):
    """Allowed: 127.0.0.1 only; the hop to ::1 (loopback, not allowed) is blocked."""
    policy = OutboundPolicy(allow=["127.0.0.1"])
    server.script("/start", reply(302, headers={"Location": f"{other.url}/hop"}))
    other.script("/hop", reply(302, headers={"Location": f"http://[::1]:{server.port}/x"}))
    with pytest.raises(Blocked) as info:
        make_client(client_kw={"policy": policy}).get("/start")
    assert "::1 is loopback" in info.value.message
    assert other.count("/hop") == 1


def test_the_oauth2_token_refresh_passes_the_policy(server, clock, make_client):
    client = make_client(client_kw={"policy": TESTING})
    client.auth = auth_mod.OAuth2(
        {"access_token": "a", "refresh_token": "r", "expires_at": clock.time() - 1},
        "http://169.254.169.254/oauth/token", client.session, clock)
    with pytest.raises(Blocked):
        client.get("/me")
    assert server.count() == 0


# -- an egress proxy ---------------------------------------------------------------------------


class Proxy:
    """A forward proxy on loopback that answers every request itself (200, or a scripted 302)
    and records each request line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.redirects: dict[str, str] = {}  # path -> Location of a 302
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                outer.lines.append(self.requestline)
                outer.headers.append(dict(self.headers.items()))
                body = b'{"via": "proxy"}'
                location = outer.redirects.get(urlsplit(self.path).path)
                self.send_response(302 if location else 200)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def proxy():
    p = Proxy()
    yield p
    p.stop()


def test_requests_go_through_the_configured_proxy(proxy, clock, make_client):
    """The proxy is on loopback and the policy strict: the operator's proxy is exempt, and a
    target only the proxy can resolve is reached through it."""
    policy = OutboundPolicy(proxy=proxy.url)
    client = make_client(client_kw={"policy": policy}, base_url="http://upstream.invalid/api")
    assert client.get("/items").json() == {"via": "proxy"}
    assert proxy.lines == ["GET http://upstream.invalid/api/items HTTP/1.1"]
    assert client.session.trust_env is False


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest", "http://127.0.0.1:9/x",
                                    "http://2130706433/x"])
def test_the_target_is_checked_before_it_goes_to_the_proxy(proxy, clock, make_client, target):
    policy = OutboundPolicy(proxy=proxy.url)
    with pytest.raises(Blocked):
        make_client(client_kw={"policy": policy}, base_url=target).get("")
    assert proxy.lines == []


def test_a_redirect_through_the_proxy_is_checked_too(proxy, clock, make_client):
    proxy.redirects["/start"] = "http://169.254.169.254/latest/"
    client = make_client(client_kw={"policy": OutboundPolicy(proxy=proxy.url)},
                         base_url="http://upstream.invalid")
    with pytest.raises(Blocked):
        client.get("/start")
    assert proxy.lines == ["GET http://upstream.invalid/start HTTP/1.1"]


# -- TLS still names the host ------------------------------------------------------------------


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (its own CA): (cert file, key file)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for tls.test, recording the SNI name."""
    import ssl

    cert, key = _certificate(tmp_path, "tls.test")
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, address: None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "cert": cert, "names": names}
    httpd.shutdown()
    httpd.server_close()


def test_tls_sends_and_verifies_the_host_name_while_connecting_to_the_checked_address(
        tls_server, clock, make_client, connects):
    policy = OutboundPolicy(allow_private=True, resolver=Resolver("127.0.0.1"))
    client = make_client(client_kw={"policy": policy}, max_attempts=1,
                         base_url=f"https://tls.test:{tls_server['port']}")
    client.session.verify = tls_server["cert"]

    assert client.get("/x").text == "ok"
    assert tls_server["names"] == ["tls.test"]
    assert connects == [("127.0.0.1", tls_server["port"])]


def test_tls_refuses_a_certificate_for_another_name(tls_server, clock, make_client):
    """wrong.test resolves (here) to the server holding tls.test's certificate: the name the
    URL gave is the one verified, not the address."""
    from atom.integrations.errors import UpstreamError

    policy = OutboundPolicy(allow_private=True, resolver=Resolver("127.0.0.1"))
    client = make_client(client_kw={"policy": policy}, max_attempts=1,
                         base_url=f"https://wrong.test:{tls_server['port']}")
    client.session.verify = tls_server["cert"]
    with pytest.raises(UpstreamError) as info:
        client.get("/x")
    assert "SSLError" in info.value.message
    assert tls_server["names"] == ["wrong.test"]
