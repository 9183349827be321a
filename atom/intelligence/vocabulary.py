"""The text-to-workflow vocabulary, read from the installed plugins' manifests.

Each loaded plugin contributes its names (slug, display name, aliases, the distinctive words of
its display name), its events (trigger name, title, ``words``) and its actions (name, title,
``words``). Built once per registry (a registry is built once per app), so a plugin installed
or given a new alias is understood without code changes.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from atom.integrations.registry import Registry

# Words that carry no meaning for matching ("create a task" ~ "create task").
STOP = frozenset("a an the to of for in on at by with from into my our your their its it this "
                 "that these those is are be been was were and or any every each all new "
                 "someone somebody me us i we you".split())
# Phrases keep "new" ("new channel" is not "channel").
PHRASE_STOP = STOP - {"new"}
# Single-word names that are ordinary English words too: they name the service only where
# the text uses them as a name (not "their email address", "the rest").
POSSESSIVE = frozenset("their his her its your my our the contact's customer's user's with".split())
FIELD_NOUNS = frozenset("address addresses field fields column domain domains column value "
                        "values list".split())
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'.+-]*[a-z0-9]|[a-z0-9]")


def stem(word: str) -> str:
    word = word.lower().strip(".'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[tuple[str, int, int]]:
    """``(stem, start, end)`` for each word of ``text`` (lower-cased by the caller)."""
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        # "monday.com" stays one word; a sentence's full stop does not join words.
        if "." in word and not re.fullmatch(r"[a-z0-9-]+\.(?:com|app|io|net)", word):
            start = m.start()
            for part in re.finditer(r"[a-z0-9][a-z0-9'+-]*", word):
                out.append((stem(part.group(0)), start + part.start(), start + part.end()))
            continue
        out.append((stem(word), m.start(), m.end()))
    return out


def phrase(text: str) -> tuple[str, ...]:
    return tuple(t for t, _, _ in tokens(text.lower()))


def content(text: str) -> tuple[str, ...]:
    return tuple(t for t in phrase(text) if t not in PHRASE_STOP)


@dataclass
class Name:
    words: tuple[str, ...]
    slug: str
    weight: float  # how sure a mention of it names the service
    weak: bool = False  # an ordinary English word too: checked in context
    fuzzy: bool = False  # found by spelling, not by its exact words


@dataclass
class Item:
    """An event or an action: its name and the phrases that call for it."""
    name: str
    title: str
    phrases: list[tuple[str, ...]]
    read_only: bool = False
    order: int = 0


@dataclass
class Service:
    slug: str
    display_name: str
    category: str
    events: list[Item]
    actions: list[Item]
    webhook: bool
    manifest: Any = field(repr=False, default=None)


@dataclass
class Vocabulary:
    services: dict[str, Service]
    names: dict[str, list[Name]]  # first word -> names starting with it, longest first
    verbs: frozenset[str]  # the first words of action phrases ("post", "create", ...)
    phrases: int = 0
    _singles: dict[str, list[Name]] = field(default_factory=dict)
    _fields: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    channel_service: str | None = None  # the service whose message action takes a "channel"
    brands: dict[str, frozenset[str]] = field(default_factory=dict)  # slug -> its brand words

    def input_fields(self, slug: str, action: str) -> dict[str, Any]:
        """An action's input fields (the schema built once)."""
        key = (slug, action)
        if key not in self._fields:
            self._fields[key] = dict(self.services[slug].manifest.action(action).input().fields)
        return self._fields[key]

    def single_names(self, letter: str) -> list[Name]:
        """One-word names (four letters or more, not ordinary words) starting with ``letter``,
        for spelling slips."""
        if not self._singles:
            for group in self.names.values():
                for name in group:
                    if len(name.words) == 1 and len(name.words[0]) >= 4 and not name.weak:
                        self._singles.setdefault(name.words[0][0], []).append(name)
        return self._singles.get(letter, [])

    def counts(self) -> dict[str, int]:
        return {"integrations": len(self.services), "phrases": self.phrases,
                "events": sum(len(s.events) for s in self.services.values()),
                "actions": sum(len(s.actions) for s in self.services.values())}


_CACHE: "weakref.WeakKeyDictionary[Registry, Vocabulary]" = weakref.WeakKeyDictionary()

ENGLISH = frozenset("email e-mail mail calendar drive payment dashboard accounting directory "
                    "api ai rest webhook amazon kanban team box monday sso sf gh bookkeeping "
                    "idp hris gpt llm sn sqs sns payments card".split())


def vocabulary(registry: Registry) -> Vocabulary:
    """The vocabulary of ``registry``'s loaded plugins, built on first use and kept."""
    found = _CACHE.get(registry)
    if found is None:
        found = _CACHE[registry] = build(registry)
    return found


def build(registry: Registry) -> Vocabulary:
    services: dict[str, Service] = {}
    raw_names: list[tuple[tuple[str, ...], str, float]] = []
    display_words: dict[str, set[str]] = {}
    count = 0
    for plugin in registry.loaded():
        m = plugin.manifest
        events = [Item(t.name, t.title, _item_phrases(t.name, t.title, t.words), order=i)
                  for i, t in enumerate(m.triggers)]
        actions = [Item(a.name, a.title, _item_phrases(a.name, a.title, a.words),
                        read_only=a.read_only, order=i) for i, a in enumerate(m.actions)]
        count += sum(len(i.phrases) for i in events + actions)
        services[m.slug] = Service(m.slug, m.display_name, m.category, events, actions,
                                   m.webhook is not None, m)
        raw_names.append((phrase(m.slug.replace("_", " ")), m.slug, 0.97))
        raw_names.append((phrase(m.display_name), m.slug, 0.97))
        squashed = re.sub(r"[^a-z0-9]", "", m.display_name.lower())
        raw_names.append(((squashed,), m.slug, 0.95))
        for alias in m.aliases:
            words = phrase(alias)
            raw_names.append((words, m.slug, 0.93 if len(words) > 1 else 0.85))
        for word in phrase(m.display_name):
            display_words.setdefault(word, set()).add(m.slug)
        for alias in m.aliases:
            for word in phrase(alias):
                display_words.setdefault(word, set()).add(m.slug)
    # The first word of a display name, when no other service uses it in its names or its
    # words, names it too ("Zendesk Support": "zendesk"; "Cisco Webex": "cisco"; not
    # "support").
    plain: dict[str, set[str]] = {}
    for plugin in registry.loaded():
        m = plugin.manifest
        text = " ".join([m.description, *(w for a in m.actions for w in (a.title, *a.words)),
                         *(w for t in m.triggers for w in (t.title, *t.words))])
        for word in phrase(text):
            plain.setdefault(word, set()).add(m.slug)
    for slug, service in services.items():
        for word in phrase(service.display_name)[:1]:  # the brand comes first
            if (display_words.get(word) == {slug} and word not in STOP and len(word) > 3
                    and not plain.get(word, set()) - {slug}):
                raw_names.append(((word,), slug, 0.9))
    names: dict[str, list[Name]] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    owners: dict[tuple[str, ...], set[str]] = {}
    for words, slug, _ in raw_names:
        if words:
            owners.setdefault(words, set()).add(slug)
    for words, slug, weight in sorted(raw_names, key=lambda n: (-len(n[0]), -n[2])):
        if not words or (words, slug) in seen or len(owners[words]) > 1:
            continue  # a name two services share names neither
        seen.add((words, slug))
        weak = len(words) == 1 and words[0] in ENGLISH
        names.setdefault(words[0], []).append(Name(words, slug, weight, weak))
    verbs = frozenset(p[0] for s in services.values() for a in s.actions for p in a.phrases
                      if p and p[0] not in STOP)
    vocab = Vocabulary(services, names, verbs, count)
    vocab.brands = {slug: frozenset(phrase(s.display_name) + phrase(slug.replace("_", " "))
                                    + (re.sub(r"[^a-z0-9]", "", s.display_name.lower()),))
                    for slug, s in services.items()}
    vocab.channel_service = next(
        (slug for slug, service in services.items() for action in service.manifest.actions
         if not action.read_only and "channel" in vocab.input_fields(slug, action.name)), None)
    return vocab


def _item_phrases(name: str, title: str, words: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [content(w) for w in words]
    found.append(content(name.replace("_", " ")))
    found.append(content(title))
    out: list[tuple[str, ...]] = []
    for p in found:
        if p and p not in out:
            out.append(p)
    return out
