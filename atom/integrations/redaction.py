"""Redaction by value: a connection's secrets, and their common encodings, become ``[REDACTED]``.

Key-name redaction (``token: ...``) misses a secret a service echoes back in a body, a header
or an error message. A :class:`Redactor` knows the values themselves: built once per connection
(revision) from its secret credentials, it matches each value, ``Bearer <value>``, the Basic
header value (base64 of ``user:password``), its URL-encoded and JSON-escaped forms, with one
compiled expression. :data:`LIVE` holds the secrets of every connection built in this process,
for the log filter (``atom.logging``).
"""
from __future__ import annotations

import base64
import collections
import json
import re
import threading
import weakref
from typing import Any
from typing import Hashable
from typing import Iterable
from urllib.parse import quote
from urllib.parse import quote_plus

REDACTED = "[REDACTED]"
# Shorter values would match ordinary text everywhere and hide nothing worth hiding.
MIN_SECRET_CHARS = 4
# Below this length one expression search beats a substring test per form.
_SHORT = 2048
# Past this many forms (the live secrets of many connections) an index of their first
# characters finds them faster than either.
_MANY = 16
# Credentials that are secret whatever the plugin's schema says (OAuth2 tokens and clients).
OAUTH_SECRETS = ("access_token", "refresh_token", "client_secret")


def encodings(secret: str, identities: Iterable[str] = ()) -> set[str]:
    """The forms in which ``secret`` may appear in a response, a message or a log line.

    Base64 values come padded and unpadded (some clients strip the ``=``).

    :param identities: the connection's non-secret credential values (user names, emails,
        client ids): each is paired with the secret as a Basic ``user:secret`` value.
    """
    if len(secret) < MIN_SECRET_CHARS:
        return set()
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, f"Bearer {secret}", quote(secret, safe=""), quote(secret), quote_plus(secret),
             escaped,
             escaped.replace("/", "\\/"), json.dumps(secret, ensure_ascii=False)[1:-1]}
    for pair in {secret, f"{secret}:", *(f"{user}:{secret}" for user in {"", *identities})}:
        encoded = base64.b64encode(pair.encode()).decode()
        forms |= {encoded, encoded.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def _shortest(forms: Iterable[str]) -> list[str]:
    """``forms`` without those that contain another: enough to tell whether any is there."""
    ordered = sorted(set(forms), key=lambda f: (len(f), f))
    kept: list[str] = []
    for form in ordered:
        if not any(k in form for k in kept):
            kept.append(form)
    return kept


class Redactor:
    """Replaces every known form of a set of secrets with ``[REDACTED]``; false when empty."""

    __slots__ = ("forms", "_needles", "_byte_needles", "_probe", "_byte_probe", "_text",
                 "_bytes", "_index")

    def __init__(self, forms: Iterable[str] = ()) -> None:
        self.forms = frozenset(forms)
        needles = _shortest(self.forms)
        # Finding: the forms that contain no other. On long text a substring test per form
        # (C speed) is quicker than an expression, which tries every form at every position;
        # on short text the expression is.
        self._needles = tuple(needles)
        self._byte_needles = tuple(f.encode() for f in needles)
        self._probe = _alternation(needles)
        self._byte_probe = _alternation(self._byte_needles)
        self._index: dict[str, list[str]] | None = None
        if len(needles) > _MANY:
            self._index = {}
            for needle in needles:
                self._index.setdefault(needle[:MIN_SECRET_CHARS], []).append(needle)
        # Replacing: every form, longest first, so a whole Basic value or "Bearer <v>" goes,
        # not only the secret inside it.
        longest = sorted(self.forms, key=lambda f: (-len(f), f))
        self._text = _alternation(longest)
        self._bytes = _alternation([f.encode() for f in longest])

    @classmethod
    def for_credentials(cls, credentials: dict[str, Any], secret_fields: Iterable[str]) -> Redactor:
        """The redactor of a connection: its secret fields and any OAuth2 token it holds."""
        secret = set(secret_fields) | set(OAUTH_SECRETS)
        values = [v for k, v in credentials.items() if k in secret and isinstance(v, str) and v]
        identities = [v for k, v in credentials.items()
                      if k not in secret and isinstance(v, str) and v]
        forms: set[str] = set()
        for value in values:
            forms |= encodings(value, identities)
        return cls(forms)

    def __bool__(self) -> bool:
        return self._text is not None

    def __or__(self, other: Redactor) -> Redactor:
        return Redactor(self.forms | other.forms)

    def found(self, text: str) -> bool:
        """Whether ``text`` holds any form of a secret."""
        if self._probe is None:
            return False
        if self._index is not None:
            return self._indexed(text)
        if len(text) < _SHORT:
            return self._probe.search(text) is not None
        return any(needle in text for needle in self._needles)

    def _indexed(self, text: str) -> bool:
        n = MIN_SECRET_CHARS
        index = self._index
        assert index is not None
        # Set against set: the smaller side is iterated, in C.
        starts = {text[i:i + n] for i in range(len(text) - n + 1)} & index.keys()
        return any(needle in text for start in starts for needle in index[start])

    def text(self, text: str) -> str:
        """``text`` with every secret replaced."""
        if self._text is None or not text or not self.found(text):
            return text
        return self._text.sub(REDACTED, text)

    def data(self, data: bytes) -> bytes:
        """``data`` (a response body) with every secret replaced."""
        if self._bytes is None or not data:
            return data
        if len(data) < _SHORT:
            if self._byte_probe.search(data) is None:
                return data
        elif not any(needle in data for needle in self._byte_needles):
            return data
        return self._bytes.sub(REDACTED.encode(), data)

    def value(self, value: Any) -> Any:
        """A JSON-like value with every secret replaced in its strings (keys included).

        Unchanged values are returned as they are: one search of their JSON text decides.
        """
        if self._text is None or value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return self.text(value)
        try:
            probe = _PROBE(value)
        except (TypeError, ValueError):  # circular or odd keys: walk it whole
            probe = None
        if probe is not None and not self.found(probe):
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {(self.text(k) if isinstance(k, str) else k): self._walk(v)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._walk(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))

    def response(self, response: Any) -> None:
        """Redact a ``requests.Response`` in place: body, headers, reason and URLs.

        Called on every response before anything reads it, so error messages built from the
        body (``snippet``) are cut from redacted text, never the other way round.
        """
        if self._text is None:
            return
        content = getattr(response, "_content", None)
        if isinstance(content, bytes) and content:
            cleaned = self.data(content)
            if cleaned is not content:
                response._content = cleaned
        headers = response.headers
        if self.found("\n".join(headers.values())):
            for name, value in [(k, v) for k, v in headers.items() if self.found(v)]:
                headers[name] = self.text(value)
        if response.reason and self.found(response.reason):
            response.reason = self.text(response.reason)
        if response.url and self.found(response.url):
            response.url = self.text(response.url)
        request = getattr(response, "request", None)
        if request is not None and request.url and self.found(request.url):
            request.url = self.text(request.url)


def _alternation(forms: list[Any]) -> re.Pattern | None:
    if not forms:
        return None
    bar = b"|" if isinstance(forms[0], bytes) else "|"
    return re.compile(bar.join(re.escape(f) for f in forms))


# One encoder, built once: json.dumps with options builds a new one per call.
_PROBE = json.JSONEncoder(default=str, ensure_ascii=False).encode
EMPTY = Redactor()


class LiveSecrets:
    """The secrets of every connection built in this process, for the log filter.

    An owner (a connection's client) registers its redactor when it is built and is dropped
    when it is forgotten, rebuilt or garbage-collected; the union is compiled on first use
    after a change.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: dict[Hashable, frozenset[str]] = {}
        self._redactor: Redactor | None = EMPTY
        # Owners to forget. A garbage-collected owner's finalizer may run in any thread at any
        # allocation, also while this thread holds the lock (a lock taken there deadlocked
        # it): finalizers only append here, and the next register or text call applies them.
        self._dropped: collections.deque[int] = collections.deque()

    def register(self, owner: object, redactor: Redactor) -> None:
        """Hold ``redactor``'s secrets while ``owner`` lives (or until :meth:`drop`)."""
        key = id(owner)
        with self._lock:
            self._apply_drops()
            if not redactor.forms and key not in self._forms:
                return
            self._forms[key] = redactor.forms
            self._redactor = None
        weakref.finalize(owner, self._dropped.append, key)

    def drop(self, owner: object) -> None:
        """Forget ``owner``'s secrets (its connection was forgotten or rebuilt)."""
        self._dropped.append(id(owner))

    def _apply_drops(self) -> None:
        """With the lock held: forget the owners dropped since the last call."""
        while self._dropped:
            if self._forms.pop(self._dropped.popleft(), None) is not None:
                self._redactor = None

    def text(self, text: str) -> str:
        """``text`` with the secrets of every live connection replaced."""
        redactor = self._redactor
        if redactor is None or self._dropped:
            with self._lock:
                self._apply_drops()
                if self._redactor is None:
                    self._redactor = Redactor(frozenset().union(*self._forms.values()))
                redactor = self._redactor
        return redactor.text(text)


LIVE = LiveSecrets()
