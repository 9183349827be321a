"""The outbound address policy: which addresses integration calls may connect to.

One :class:`OutboundPolicy` is built per app from config (``atom.state``) and handed to every
``IntegrationClient``, whose session sends through a :class:`PolicyAdapter`. The policy is
enforced there, in the transport, so no request, redirect hop, health check or token refresh can
go around it: the adapter's urllib3 connections resolve the host once, check every address the
resolver returned, and connect to a checked address without looking the name up again, so a DNS
answer that changes between the check and the connection (DNS rebinding) cannot swap it.
Checking the resolver's answer rather than the URL's spelling also catches ``2130706433``,
``0177.0.0.1`` and ``0x7f.1``, which the C resolver reads as 127.0.0.1.

Rules, first match wins: an ``OUTBOUND_DENY`` entry denies; an ``OUTBOUND_ALLOW`` entry allows;
the :data:`DENIED_RANGES` deny (``OUTBOUND_ALLOW_PRIVATE`` lifts loopback, RFC 1918, fc00::/7
and 100.64.0.0/10, never link-local: that is where cloud metadata lives); anything else is
allowed. Entries are CIDRs or host names (``*.example.com`` for every subdomain); an IPv6
address embedding an IPv4 one (mapped, compatible, NAT64, 6to4) is judged on both.

With ``HTTP_PROXY`` set, requests go through that proxy; the target host is checked before
sending (a name that does not resolve here is left to the proxy, which resolves it), and the
proxy's own address is exempt: the operator chose it.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
import sys
from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import Mapping

import idna
from requests import PreparedRequest
from requests import Response
from requests.adapters import DEFAULT_POOLBLOCK
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import LocationParseError
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError
from urllib3.util import parse_url
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from atom.integrations.errors import Blocked
from atom.settings import ConfigError

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's signature and answer: [(family, type, proto, canonname, sockaddr)].
Resolver = Callable[..., list]

DEFAULT_PORTS = {"http": 80, "https": 443}
DENIED = "denied by the outbound policy"


@dataclass(frozen=True)
class DeniedRange:
    network: Network
    label: str
    private: bool = False  # lifted by OUTBOUND_ALLOW_PRIVATE


def _ranges(label: str, *cidrs: str, private: bool = False) -> list[DeniedRange]:
    return [DeniedRange(ipaddress.ip_network(c), label, private) for c in cidrs]


DENIED_RANGES: tuple[DeniedRange, ...] = (
    *_ranges("loopback", "127.0.0.0/8", "::1/128", private=True),
    *_ranges("private (RFC 1918)", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", private=True),
    *_ranges("unique local (fc00::/7)", "fc00::/7", private=True),
    *_ranges("site-local (fec0::/10)", "fec0::/10", private=True),
    *_ranges("shared address space (100.64.0.0/10)", "100.64.0.0/10", private=True),
    *_ranges("link-local (cloud metadata)", "169.254.0.0/16", "fe80::/10"),
    *_ranges("in 0.0.0.0/8 (this network)", "0.0.0.0/8"),
    *_ranges("multicast", "224.0.0.0/4", "ff00::/8"),
    *_ranges("reserved (240.0.0.0/4)", "240.0.0.0/4"),
    *_ranges("unspecified", "::/128"),
)

_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible ::a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(\*\.|\.)?[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
                        r"(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def normal_host(host: str) -> str:
    """A host as compared and resolved: no brackets or final dot, lower case, IDNA-encoded."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, NAT64, 6to4), if any."""
    if ip.version == 4:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


@dataclass(frozen=True)
class Entry:
    """One ``OUTBOUND_ALLOW``/``OUTBOUND_DENY`` entry: a network or a host name."""

    text: str
    network: Network | None = None
    host: str | None = None  # exact, or ".example.com" for every subdomain

    @classmethod
    def parse(cls, setting: str, text: str) -> Entry:
        try:
            return cls(text, network=ipaddress.ip_network(text.strip("[]"), strict=False))
        except ValueError:
            pass
        host = normal_host(text)
        if host.startswith("*."):
            host = host[1:]
        if not _HOST_NAME.match(host) or re.fullmatch(r"[\d.]+", host):
            raise ConfigError(f"Unexpected entry {text!r} in {setting} (ATOM_{setting}), use "
                              "comma-separated CIDRs (10.0.0.0/8) or host names (*.example.com)")
        return cls(text, host=host)

    def matches(self, ip: Address | None, host: str | None) -> bool:
        if self.network is not None:
            return ip is not None and ip.version == self.network.version and ip in self.network
        if host is None or self.host is None:
            return False
        return host.endswith(self.host) if self.host.startswith(".") else host == self.host


def _entries(setting: str, value: Any) -> tuple[Entry, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(Entry.parse(setting, str(item).strip()) for item in items if str(item).strip())


def _flag(setting: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"Unexpected value {setting}={value!r}, use true or false")


def _proxy(value: Any) -> str | None:
    if not value:
        return None
    try:
        parts = parse_url(str(value).strip())
    except LocationParseError:
        parts = None
    if parts is None or parts.scheme not in DEFAULT_PORTS or not parts.host:
        raise ConfigError(f"Unexpected value HTTP_PROXY={value!r}, use http://host:port")
    return str(value).strip()


class OutboundPolicy:
    """Decides whether an address may be connected to; see the module docstring for the rules.

    :param allow: CIDRs or host names allowed even in a denied range (a list or a
        comma-separated string).
    :param deny: CIDRs or host names always denied; they beat ``allow``.
    :param allow_private: also allow loopback, RFC 1918, fc00::/7 and 100.64.0.0/10.
    :param proxy: the egress proxy every request goes through, if any.
    :param resolver: ``socket.getaddrinfo`` or a stand-in with its signature.
    """

    def __init__(self, *, allow: Any = (), deny: Any = (), allow_private: bool = False,
                 proxy: str | None = None, resolver: Resolver | None = None) -> None:
        self.allow = _entries("OUTBOUND_ALLOW", allow)
        self.deny = _entries("OUTBOUND_DENY", deny)
        self.allow_private = allow_private
        self.proxy = _proxy(proxy)
        self.resolver = resolver or socket.getaddrinfo

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutboundPolicy:
        """Build the policy from ``OUTBOUND_ALLOW``, ``OUTBOUND_DENY``,
        ``OUTBOUND_ALLOW_PRIVATE`` and ``HTTP_PROXY``.

        :raises ConfigError: a malformed value, naming its setting.
        """
        return cls(allow=config.get("OUTBOUND_ALLOW"), deny=config.get("OUTBOUND_DENY"),
                   allow_private=_flag("OUTBOUND_ALLOW_PRIVATE",
                                       config.get("OUTBOUND_ALLOW_PRIVATE", False)),
                   proxy=config.get("HTTP_PROXY"))

    def announce(self, env_name: str) -> None:
        """Log at start-up what a permissive policy lets through, and how to change it."""
        if self.allow_private:
            logger.warning(
                "Outbound policy: integration calls may reach loopback and private addresses "
                "(127.0.0.0/8, ::1, RFC 1918, fc00::/7, 100.64.0.0/10) because "
                "OUTBOUND_ALLOW_PRIVATE is on (ATOM_ENV=%s; development and testing turn it on); "
                "link-local (cloud metadata) stays denied. Set ATOM_OUTBOUND_ALLOW_PRIVATE=false "
                "to deny them.", env_name)

    # -- decisions ----------------------------------------------------------------------------

    def denial(self, ip: Address, host: str | None = None) -> str | None:
        """Why ``ip`` (which ``host`` resolved to) is denied, or None when it is allowed."""
        v4 = embedded_ipv4(ip)
        forms = (ip,) if v4 is None else (ip, v4)
        shown = str(ip) if v4 is None else f"{ip} ({v4})"
        subject = f"{host} resolves to {shown}, which" if host and host != str(ip) else shown
        for form in forms:
            entry = next((e for e in self.deny if e.matches(form, host)), None)
            if entry is not None:
                return f"{subject} matches ATOM_OUTBOUND_DENY entry {entry.text}: {DENIED}"
        if any(e.matches(form, host) for e in self.allow for form in forms):
            return None
        for form in forms:
            for denied in DENIED_RANGES:
                if form.version == denied.network.version and form in denied.network:
                    if denied.private and self.allow_private:
                        continue
                    hint = " (or ATOM_OUTBOUND_ALLOW_PRIVATE=true)" if denied.private else ""
                    return (f"{subject} is {denied.label}: {DENIED}; "
                            f"allow it with ATOM_OUTBOUND_ALLOW{hint}")
        return None

    def resolve(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> list:
        """Resolve ``host`` once and return its addresses, every one of them checked.

        :raises Blocked: the name or any address it resolved to is denied.
        :raises socket.gaierror: the name does not resolve.
        """
        name = normal_host(host)
        entry = next((e for e in self.deny if e.matches(None, name)), None)
        if entry is not None:
            raise Blocked(f"{name} matches ATOM_OUTBOUND_DENY entry {entry.text}: {DENIED}")
        infos = self.resolver(name, port, family, socket.SOCK_STREAM)
        if not infos:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} resolved to no address")
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            reason = self.denial(ip, name)
            if reason is not None:
                raise Blocked(reason)
        return infos

    def check_target(self, host: str, port: int) -> None:
        """Check a destination this process does not connect to itself (through the proxy, or
        a base URL being saved). A name that does not resolve here is not known to be denied.

        :raises Blocked: the host is known to be denied.
        """
        try:
            self.resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            return

    def url_denial(self, url: str) -> str | None:
        """Why requests to ``url`` are known to be denied, or None (allowed, or not known)."""
        try:
            parts = parse_url(url.strip())
        except LocationParseError:
            return None
        if not parts.host:
            return None
        try:
            self.check_target(parts.host, parts.port or DEFAULT_PORTS.get(parts.scheme or "", 80))
        except Blocked as exc:
            return exc.message
        return None


# -- the transport -----------------------------------------------------------------------------


class _PolicyConnection(HTTPConnection):
    """urllib3's connection, resolving through the policy and connecting to a checked address.

    TLS (the HTTPS subclass) still sends the host name for SNI and verifies the certificate
    against it: only the socket's address comes from the check.
    """

    policy: OutboundPolicy  # set on the per-adapter subclass

    def _new_conn(self) -> socket.socket:
        try:
            infos = self.policy.resolve(self._dns_host, self.port, allowed_gai_family())
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        try:
            sock = _connect(infos, self.timeout, self.source_address, self.socket_options)
        except socket.timeout as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _PolicyHTTPSConnection(_PolicyConnection, HTTPSConnection):
    pass


def _connect(infos: list, timeout: Any, source_address: Any, options: Any) -> socket.socket:
    """Connect to the first address of ``infos`` that answers (``create_connection`` without
    its own lookup)."""
    error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in infos:
        sock = None
        try:
            sock = socket.socket(family, socktype, proto)
            for option in options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            if sock is not None:
                sock.close()
    raise error or OSError("no address to connect to")


def _pool_classes(bound: OutboundPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pools whose connections check against ``bound``."""

    class Connection(_PolicyConnection):
        policy = bound

    class SecureConnection(_PolicyHTTPSConnection):
        policy = bound

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    return {"http": Pool, "https": SecurePool}


class PolicyAdapter(HTTPAdapter):
    """A requests adapter whose every connection passes ``policy``.

    Direct connections are checked when they are opened (one lookup, checked, connected to);
    requests through a proxy have their target checked before they are sent.
    """

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        self.policy = policy
        self._pool_classes = _pool_classes(policy)
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK,
                         **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        # Not through pool kwargs: the PoolManager keys its pools on the kwargs it knows.
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> Response:
        if proxies and select_proxy(request.url or "", proxies):
            target = parse_url(request.url or "")
            self.policy.check_target(target.host or "",
                                     target.port or DEFAULT_PORTS.get(target.scheme or "", 80))
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=proxies)
