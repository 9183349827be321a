"""Text -> workflow, offline: :func:`analyze` reads a plain-English request against the installed
plugins' vocabulary (:mod:`.vocabulary`: names, aliases, events, actions from the manifests) and
English schedules (:mod:`.schedule`); :func:`generate` turns the analysis into a workflow
definition that passes :func:`atom.engine.definition.validate_definition`, with parameters
filled from the text and the trigger payload and the user's connections chosen.

No model weights: the manifests are the model, read by rules (a measured choice: the
evaluation in ``tests/eval/eval_language.py`` gives the figures). A new plugin, or a new alias
in a manifest, is understood without code changes.
"""
from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import has_app_context

from atom.engine.definition import DefinitionError
from atom.engine.definition import _compact_parameters
from atom.engine.definition import _primary_action
from atom.engine.definition import validate_definition
from atom.intelligence.schedule import day_spans
from atom.intelligence.schedule import describe as describe_cron
from atom.intelligence.schedule import parse_schedule
from atom.intelligence.vocabulary import FIELD_NOUNS
from atom.intelligence.vocabulary import Name
from atom.intelligence.vocabulary import POSSESSIVE
from atom.intelligence.vocabulary import PHRASE_STOP
from atom.intelligence.vocabulary import STOP
from atom.intelligence.vocabulary import Vocabulary
from atom.intelligence.vocabulary import stem
from atom.intelligence.vocabulary import tokens
from atom.intelligence.vocabulary import vocabulary

MODEL = "manifest vocabulary + rules"
VERSION = "1.0"
MAX_INPUT = 2000
DEFAULT_THRESHOLD = 0.85
PLACEHOLDER = "REPLACE_ME"

CUE = re.compile(r"\b(?:when(?:ever)?|each time|every time|any ?time|as soon as|once(?! (?:a|an|per|every) (?:day|week|month|hour|minute|year|quarter|fortnight)\b)(?! daily| weekly| monthly| hourly)"
                 r"|if|after|upon|on (?:every |each |a |any )?new|for (?:every|each) new)\b")
MANUAL = re.compile(r"\b(?:manual(?:ly)?|on demand|on-demand|when i (?:click|press|run|trigger|start)"
                    r"|(?:a|the) button|run it myself|i run it|i trigger it|by hand|ad hoc)\b")
WEBHOOK = re.compile(r"\b(?:webhooks?|web hook|http (?:request|post|call)|post request|incoming request"
                     r"|endpoint|callback|(?:our|my|the) (?:app|website|site|form|server|backend|service|system|shop|store) "
                     r"(?:calls?|posts?|sends?|hits?|pings?|notif))")
FORM = re.compile(r"\b(?:via|through|from|using|on|in)\s+(?:a|an|the|our|my)\s+(?:[\w-]+\s+)?form\b|\b(?:fills?|filled|filling) (?:out|in)\b|\bsubmit(?:s|ted)?\b|\bform submission\b|\bsigns? up\b|\bon (?:our|my|the) (?:website|site|web site|app|store|shop)\b")
VIA_WEBHOOK = re.compile(r"\b(?:via|by|through|from|over|using)\s+(?:a\s+|an\s+|the\s+|our\s+|its\s+)?(?:incoming\s+)?(?:webhooks?|web hooks?)\b")
RELATIVE = re.compile(r"^(?:\s+[\w-]+){0,2}\s+(?:that|which|as they|when they)\s+(?:are|is|get|gets|have been|has been|come|comes|arrive|arrives|show up|appear)\b")
SOURCE_NOUN = re.compile(r"\b(?:new|incoming|every|each|any|all)\s+(?:\w+\s+){0,2}$")
DESTINATION = re.compile(r"\b(?:to|into|in|on|onto|via|through|using|inside)\s+(?:the\s+|a\s+|an\s+|our\s+|my\s+|their\s+)?(?:\w+\s+)?$")
TRANSFER = re.compile(r"^\s*(?:please\s+)?(?:copy|save|sync|synchroni[sz]e|forward|back up|backup|mirror|archive|move|import|export|push|send|turn|convert|log|pipe|route|share|upload|add|put|store|file|transfer)\b")
# What an imperative asks of an action's name ("mark it done": update/change/complete).
VERB_ACTIONS = {"create": ("create",), "update": ("update", "change", "modify"), "change": ("change", "update"),
                "edit": ("update", "edit", "change"), "mark": ("update", "change", "complete", "modify"),
                "move": ("move", "transition", "update"), "close": ("complete", "transition", "update"),
                "complete": ("complete", "update"), "open": ("create",), "make": ("create",),
                "add": ("create", "add", "append"), "file": ("create",), "raise": ("create",),
                "log": ("create", "add", "append"), "post": ("send", "post", "create"),
                "send": ("send", "post"), "notify": ("send", "post"), "tell": ("send", "post"),
                "ping": ("send", "post"), "alert": ("send", "post"), "message": ("send", "post"),
                "remind": ("send", "post"), "delete": ("delete", "trash", "remove"),
                "remove": ("delete", "remove", "trash", "deactivate"), "assign": ("assign", "update"),
                "comment": ("add", "create"), "reply": ("reply", "add", "send", "create"),
                "share": ("share",), "upload": ("upload", "copy"), "list": ("list", "search", "query"),
                "search": ("search", "query", "list"), "find": ("search", "query", "list", "get")}
NAME_VERBS = frozenset("create update change send post add move delete complete list search get "
                       "query upload copy share trash remove assign reply transition append "
                       "modify deactivate".split())
TRANSFER_VERBS = frozenset("back backup copy save export archive forward sync mirror upload store "
                           "move transfer push dump".split())
READ_VERBS = frozenset("list get find search look fetch read check query pull export download "
                       "report summary digest".split())
CHANNEL = re.compile(r"(?<![\w&])#([a-z0-9][\w-]{0,79})", re.I)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
MENTION = re.compile(r"(?<![\w.])@([a-z][\w.-]{0,63}[a-z0-9])", re.I)
MULT = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mm": 1_000_000, "million": 1_000_000,
        "b": 1_000_000_000, "bn": 1_000_000_000, "billion": 1_000_000_000}
OPS = ((r"over|above|more than|greater than|exceeds?|exceeding|bigger than|larger than|higher than|>", ">"),
       (r"at least|no less than|minimum of|>=", ">="),
       (r"under|below|less than|lower than|smaller than|<", "<"),
       (r"at most|no more than|up to|maximum of|<=", "<="),
       (r"equals?|exactly|=", "=="))
THRESHOLD = re.compile(
    r"\b(?:(?P<field>[a-z]+)\s+(?:is\s+|are\s+|of\s+|is\s+worth\s+|worth\s+)?)?(?P<op>"
    + "|".join(o for o, _ in OPS) + r")\s+(?P<cur>[$€£])?\s*(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<mult>k|m|mm|bn|b|thousand|million|billion)?\b"
    r"(?!\s*(?:minutes?|hours?|days?|am|pm|times?))", re.I)
LABEL = re.compile(r"\b(?:label(?:l?ed)?|tagged|tag(?:ged)? with|with the label|with label|under the label)\s+[\"'“]?([\w-]{1,60})[\"'”]?"
                   r"|\b[\"'“]?([\w-]{1,60})[\"'”]?\s+label\b", re.I)
FOLDERS = (
    re.compile(r"\b(?:folder|directory)\s+(?:called\s+|named\s+)?[\"'“]([^\"'”]{1,100})[\"'”]"),
    re.compile(r"[\"'“]([^\"'”]{1,100})[\"'”]\s+(?:folder|directory)\b"),
    re.compile(r"(?:\s|^)(/[\w-]+(?:/[\w.-]+)*/?)(?=[\s,.;]|$)"),
    re.compile(r"\b(?:folder|directory)\s+(?:called\s+|named\s+)([\w-]{1,60})"),
    re.compile(r"\b(?:the\s+|an?\s+|my\s+|our\s+)([A-Z][\w-]{1,60}|[a-z][\w-]{1,60})\s+(?:folder|directory)\b"),
)
NOT_FOLDER = frozenset("a the my our your their this that new shared same drive dropbox box onedrive "
                       "google one specific right".split())
NOT_LABEL = frozenset("a the this that any new same".split())
FIELD_WORDS = {"amount": ("amount", "total", "value", "price", "sum"), "deal": ("amount",),
               "invoice": ("amount_due", "total", "amount"), "payment": ("amount",),
               "order": ("amount", "total"), "value": ("value", "amount"), "total": ("total", "amount"),
               "price": ("price", "amount"), "size": ("size",), "priority": ("priority",),
               "score": ("score",), "count": ("count",)}
# Where a write step takes the data an earlier read step returned.
DATA_FIELDS = ("text", "content_text", "content", "body", "message", "notes", "description", "markdown")
RECIPIENT_FIELDS = ("to", "email", "to_person_email", "requester_email", "customer_email",
                    "email_address", "person_email")


@dataclass
class Mention:
    slug: str
    start: int
    end: int
    confidence: float
    words: str


def _threshold(app: Flask | None) -> float:
    if app is None and not has_app_context():
        return DEFAULT_THRESHOLD
    from atom.intelligence import models_config

    return float(models_config(app).get("confidence_threshold", DEFAULT_THRESHOLD))


def _registry(registry: Any, app: Flask | None) -> Any:
    if registry is not None:
        return registry
    from atom.state import get_state

    return get_state(app).registry


# -- mentions of services ------------------------------------------------------------------


def find_mentions(vocab: Vocabulary, text: str, lower: str,
                  skip: list[tuple[int, int]]) -> list[Mention]:
    words = tokens(lower)
    found: list[Mention] = []
    i = 0
    while i < len(words):
        stem_, start, _ = words[i]
        if any(a <= start < b for a, b in skip):
            i += 1
            continue
        best = None
        for name in vocab.names.get(stem_, ()):
            n = len(name.words)
            if tuple(w for w, _, _ in words[i:i + n]) == name.words:
                best = name
                break
        if best is None:
            best = _misspelt(vocab, stem_, text[start:words[i][2]])
            if best is None:
                i += 1
                continue
        n = 1 if best.fuzzy else len(best.words)
        end = words[i + n - 1][2]
        if best.weak and not _names_service(text, lower, words, i, n):
            i += n
            continue
        found.append(Mention(best.slug, start, end, best.weight, text[start:end]))
        i += n
    return found


FUZZY_CUTOFF = 0.85


def _misspelt(vocab: Vocabulary, word: str, original: str) -> Any:
    """A service name typed with a slip ("Githb", "Slak", "Hubspt"): same first letter, a
    close spelling (difflib ratio of at least FUZZY_CUTOFF), and not an ordinary word."""
    if len(word) < 4 or word in STOP or word in vocab.verbs or not original[:1].isalpha():
        return None
    found = None
    for name in vocab.single_names(word[0]):
        matcher = difflib.SequenceMatcher(None, word, name.words[0])
        if matcher.real_quick_ratio() >= FUZZY_CUTOFF and matcher.ratio() >= FUZZY_CUTOFF:
            score = matcher.ratio()
            if found is None or score > found[0]:
                found = (score, name)
    if found is None:
        return None
    score, name = found
    return Name(name.words, name.slug, round(min(name.weight, score) - 0.15, 2), False, fuzzy=True)


def _names_service(text: str, lower: str, words: list, i: int, n: int) -> bool:
    """A single ordinary word ("email", "drive", "teams") names the service unless the text
    uses it as a plain word: "their email address", "the sales teams"."""
    before = words[i - 1][0] if i else ""
    after = words[i + n][0] if i + n < len(words) else ""
    word = words[i][0]
    if after in FIELD_NOUNS or (before in POSSESSIVE and word in ("email", "e-mail", "mail")
                                and after not in ("inbox", "account")):
        if before not in ("the",) or after in FIELD_NOUNS:
            return False
    original = text[words[i][1]:words[i][2]]
    if word in ("team", "drive", "box", "rest", "card", "monday", "directory", "amazon", "kanban"):
        # brand words: written with a capital, or preceded by a preposition naming a place
        return original[:1].isupper() or before in ("to", "in", "on", "into", "via")
    return True


# -- analysis ---------------------------------------------------------------------------------


def analyze(text: str, context: dict[str, Any] | None = None, registry: Any = None,
            app: Flask | None = None) -> dict[str, Any]:
    """What ``text`` asks for: trigger, actions (each with the words that chose it),
    entities, questions, and confidences (see the module doc)."""
    context = context or {}
    registry = _registry(registry, app)
    vocab = vocabulary(registry)
    threshold = _threshold(app)
    original = " ".join(str(text).split())
    lower = original.lower()
    questions: list[dict[str, str]] = []

    schedule = parse_schedule(original)
    skip = list(schedule.spans) if schedule else []
    skip += day_spans(lower)
    skip += [m.span() for m in EMAIL.finditer(lower)] + [m.span() for m in CHANNEL.finditer(lower)]
    mentions = find_mentions(vocab, original, lower, skip)

    trigger, trigger_span = _trigger(vocab, original, lower, mentions, schedule, context)
    actions = _actions(vocab, original, lower, mentions, trigger, trigger_span, skip)
    entities = _entities(original, lower, schedule)
    _channel_service(vocab, lower, actions, entities, trigger)

    if trigger.get("alternatives"):
        names = ", ".join(vocab.services[s].display_name for s in trigger["alternatives"])
        questions.append({"field": "trigger.service", "question":
                          f"Which service should start it? I chose "
                          f"{vocab.services[trigger['service']].display_name}; the request also "
                          f"names {names} (one workflow has one trigger: make another for it)."})
    for word in _unknown_services(original, lower, mentions, skip):
        questions.append({"field": "services", "question":
                          f"{word!r} is not an installed integration: connect it through the "
                          "HTTP integration or a webhook, or name an installed service."})
    if trigger["confidence"] < threshold and not trigger.get("alternatives"):
        if trigger["type"] == "event":
            questions.append({"field": "trigger.event", "question":
                              f"Which {vocab.services[trigger['service']].display_name} event should "
                              f"start it? I assumed {trigger['event']!r} "
                              f"(it knows: {', '.join(e.name for e in vocab.services[trigger['service']].events)})."})
        elif trigger["type"] == "schedule":
            assumed = ", ".join(schedule.assumed) if schedule else "the time"
            questions.append({"field": "trigger.cron", "question":
                              f"The request does not say the {assumed}: I assumed "
                              f"{describe_cron(trigger['cron'])} ({trigger['cron']}). Is that right?"})
        else:
            questions.append({"field": "trigger", "question":
                              "What should start this workflow: an event in a service, a schedule, "
                              "a webhook, or running it by hand? I assumed "
                              f"{trigger['type']}."})
    if not actions:
        questions.append({"field": "actions", "question":
                          "Which service should it act on? No installed integration is named in "
                          "the request."})
    for item in actions:
        if item["confidence"] < threshold:
            service = vocab.services[item["service"]]
            questions.append({"field": f"actions.{item['service']}", "question":
                              f"What should it do in {service.display_name}? I chose "
                              f"{item['action']!r} (it can: "
                              f"{', '.join(a.name for a in service.actions if not a.read_only)})."})
    if any(a["service"] == _channel_param_service(vocab) for a in actions) and not entities["channels"]:
        questions.append({"field": "entities.channels",
                          "question": "Which channel should the message go to (e.g. #general)?"})
    needs_recipient = [a for a in actions if _takes_recipient(vocab, a)]
    if needs_recipient and not entities["recipients"] and trigger["type"] != "event":
        questions.append({"field": "entities.recipients",
                          "question": "Who should receive it (an e-mail address)?"})
    parts = [trigger["confidence"], *(a["confidence"] for a in actions)] or [0.0]
    overall = min(parts) if actions else min(0.4, trigger["confidence"])
    return {"text": original, "trigger": trigger, "actions": actions, "entities": entities,
            "questions": questions, "confidence": round(overall, 2),
            "confidence_threshold": threshold}


KNOWN_CAPITALS = frozenset("i a an the when whenever if every each on at in to for from and or "
                           "then please also once after new post send create add make let can "
                           "run start copy save sync notify ping tell alert email message log "
                           "move update upload back forward turn kick schedule daily weekly "
                           "hourly monthly manually".split())
STATUS_WORDS = frozenset("done review progress backlog todo doing closed open resolved "
                         "complete completed approved".split())
MONTHS = frozenset("january february march april may june july august september october november "
                   "december jan feb mar apr jun jul aug sep sept oct nov dec".split())


def _unknown_services(text: str, lower: str, mentions: list[Mention],
                      skip: list[tuple[int, int]]) -> list[str]:
    """Capitalised names after "to", "in", "into", "from", "via" that no installed plugin
    answers to ("post it to Airtable"): asked about, never guessed."""
    found: list[str] = []
    for m in re.finditer(r"\b(?:to|in|into|from|via|on|with|using)\s+(?:the\s+|our\s+|my\s+)?([A-Z][a-zA-Z0-9]{2,}(?:\.[a-z]{2,4})?)\b", text):
        word = m.group(1)
        start = m.start(1)
        if (word.lower() in KNOWN_CAPITALS or word.lower() in MONTHS
                or any(mm.start <= start < mm.end for mm in mentions)
                or any(a <= start < b for a, b in skip) or word.isupper() and len(word) <= 4
                or re.match(r"(?:sun|mon|tue|wed|thu|fri|sat)", word.lower())
                or word.lower() in STATUS_WORDS
                or re.match(r"\s+(?:folder|list|board|column|channel|queue|space|project|label|group|"
                            r"stage|status|team|database|page|sheet|directory|tab|view|pipeline)", text[m.end():])):
            continue
        if word not in found:
            found.append(word)
    return found


def _trigger(vocab: Vocabulary, text: str, lower: str, mentions: list[Mention], schedule: Any,
             context: dict[str, Any]) -> tuple[dict[str, Any], tuple[int, int] | None]:
    tz = context.get("timezone") or (schedule.timezone if schedule else None) or "UTC"
    if schedule is not None and schedule.timezone:
        tz = schedule.timezone
    cue = CUE.search(lower)
    span = None
    if cue:
        start = cue.start()
        rest = lower[cue.end():]
        stop = re.search(r",|;|\bthen\b|\s-\s|:|\.\s|→|->", rest)
        if stop:
            end = cue.end() + stop.start()
        elif start > 0:
            end = len(lower)
        else:
            end = _clause_end(vocab, lower, cue.end(), mentions)
        span = (start, end)
        inside = [m for m in mentions if span[0] <= m.start < span[1]
                  and vocab.services[m.slug].events and m.slug != "http"]
        if inside:
            found = _event(vocab, inside[0], lower[span[0]:span[1]], tz)
            others = sorted({m.slug for m in inside} - {inside[0].slug})
            if others and re.search(r"\bor\b", lower[span[0]:span[1]]):
                found["alternatives"] = others  # "when a GitHub or GitLab issue is opened"
                found["confidence"] = min(found["confidence"], 0.6)
            return found, (span[0], max(span[1], inside[0].end))
        clause = lower[span[0]:span[1]]
        if MANUAL.search(clause):
            return {"type": "manual", "confidence": 0.9, "matched": MANUAL.search(clause).group(0)}, span
        if WEBHOOK.search(clause) or any(m.slug == "http" for m in mentions if span[0] <= m.start < span[1]):
            return {"type": "webhook", "confidence": 0.9,
                    "matched": (WEBHOOK.search(clause) or re.search(r"\S+", clause)).group(0)}, span
        guessed = _event_by_words(vocab, clause)
        if guessed is not None and schedule is None:
            return guessed, span
        if schedule is None and FORM.search(clause):
            return {"type": "webhook", "confidence": 0.8, "matched": FORM.search(clause).group(0)}, span
        if schedule is None:
            # Something outside the installed integrations happens: it reaches ATOM as a
            # webhook. Asked, as the confidence is low.
            return {"type": "webhook", "confidence": 0.6, "matched": clause.strip()}, span
    if schedule is not None:
        return {"type": "schedule", "cron": schedule.cron, "timezone": tz,
                "confidence": round(schedule.confidence, 2), "matched": schedule.phrase,
                "times": schedule.times}, None
    if MANUAL.search(lower):
        return {"type": "manual", "confidence": 0.9, "matched": MANUAL.search(lower).group(0)}, None
    via = VIA_WEBHOOK.search(lower)
    if via and not _source_mention(vocab, lower, mentions):
        return {"type": "webhook", "confidence": 0.85, "matched": via.group(0)}, via.span()
    if WEBHOOK.search(lower) and not any(m.slug == "http" for m in mentions):
        m = WEBHOOK.search(lower)
        return {"type": "webhook", "confidence": 0.85, "matched": m.group(0)}, (m.start(), m.end())
    source = _source_mention(vocab, lower, mentions)
    if source is not None:
        end = _clause_end(vocab, lower, source.end, mentions)
        later = [m.start for m in mentions if m.start > source.end and m.slug != source.slug]
        end = min([end, *later])
        return _event(vocab, source, lower[max(0, source.start - 40):end], tz), (source.start, end)
    return {"type": "manual", "confidence": 0.7 if cue is None else 0.5,
            "matched": ""}, span


def _clause_end(vocab: Vocabulary, lower: str, pos: int, mentions: list[Mention]) -> int:
    """Where a trigger clause without punctuation ends: before the first action verb that
    follows the clause's first service mention ("when a PR is opened post to Slack")."""
    after = [m for m in mentions if m.start >= pos]
    begin = after[0].end if after else pos
    for stem_, start, _ in tokens(lower[begin:]):
        if stem_ in vocab.verbs and stem_ not in ("new", "comment", "message", "file", "issue", "task",
                                                 "ticket", "card", "item", "row", "page", "lead",
                                                 "deal", "event", "invoice", "bill", "contact"):
            return begin + start
    return len(lower)


def _source_mention(vocab: Vocabulary, lower: str, mentions: list[Mention]) -> Mention | None:
    """Without "when": "post every new Zendesk ticket to Slack", "save Gmail attachments to
    Drive" (a service the items come from, and another they go to)."""
    for m in mentions:
        service = vocab.services[m.slug]
        if not service.events or m.slug == "http":
            continue
        before = lower[:m.start]
        if (SOURCE_NOUN.search(before) or RELATIVE.match(lower[m.end:])
                or re.search(r"\bfrom\s+(?:the\s+|my\s+|our\s+)?(?:\w+\s+)?$", before)):
            return m
        later = [o for o in mentions if o.start > m.end and o.slug != m.slug]
        if later and TRANSFER.match(before) and not DESTINATION.search(before) and re.search(
                r"\b(?:to|into|in|on|onto)\b", lower[m.end:later[0].start]) and not re.match(
                r"\s*(?:" + "|".join(sorted({p[0] for a in service.actions for p in a.phrases if p}
                                             - {"new"})) + r")\b", lower[m.end:]):
            return m
    return None


def _event(vocab: Vocabulary, mention: Mention, clause: str, tz: str) -> dict[str, Any]:
    service = vocab.services[mention.slug]
    blanked = clause.replace(mention.words.lower(), " ")  # "new Zendesk ticket": "new ticket"
    branded = " ".join(w for w in clause.split() if stem(w) not in vocab.brands.get(mention.slug, ()))
    best, matched = _best_of(service.events, [branded, blanked, clause], prefer_write=False)
    confidence = min(mention.confidence, 0.92 if matched or len(service.events) == 1 else 0.6)
    item = best or service.events[0]
    return {"type": "event", "service": service.slug, "event": item.name,
            "confidence": round(confidence, 2), "matched": [mention.words, *matched]}


def _event_by_words(vocab: Vocabulary, clause: str) -> dict[str, Any] | None:
    """A trigger clause naming no service ("when a payment fails"): the one service whose
    event phrases (two words or more) match, if only one does."""
    hits = []
    for service in vocab.services.values():
        if service.slug == "http":
            continue
        best, matched = _best(service.events, clause, prefer_write=False, min_len=2)
        if best is not None:
            hits.append((sum(len(p.split()) for p in matched), service, best, matched))
    if not hits:
        return None
    hits.sort(key=lambda h: -h[0])
    if len(hits) > 1 and hits[1][0] == hits[0][0]:
        return None
    _, service, best, matched = hits[0]
    return {"type": "event", "service": service.slug, "event": best.name, "confidence": 0.7,
            "matched": matched}


def _same(a: str, b: str) -> bool:
    """The same word, or the same verb in another form ("open"/"opened", "succeeds" stemmed
    to "succeed"/"succeeded", "create"/"created")."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(short) < 4 or len(long_) - len(short) > 3:
        return False
    stem_ = short[:-1] if short.endswith("e") else short
    return long_.startswith(stem_) and long_[len(stem_):] in ("ed", "d", "ing", "es", "e", "s", "er", "ded", "ted", "ped", "ged", "red", "ned")


def _contains(words: list[str], phrase_: tuple[str, ...]) -> bool:
    n = len(phrase_)
    for j in range(len(words) - n + 1):
        if all(_same(phrase_[k], words[j + k]) for k in range(n)):
            return True
    return False


def _best(items: list, clause: str, prefer_write: bool = True, min_len: int = 1,
          reading: bool = False, verb: str = "") -> tuple[Any, list[str]]:
    best, _, matched = _scored(items, clause, prefer_write, min_len, reading, verb)
    return best, matched


def _best_of(items: list, clauses: list[str], **kw: Any) -> tuple[Any, list[str]]:
    """The best match over several readings of a clause (with and without the service's
    name: "Stripe payment fails" keeps "payment", "new Zendesk ticket" reads "new ticket")."""
    found = max((_scored(items, c, **kw) for c in clauses), key=lambda f: f[1])
    return found[0], found[2]


def _scored(items: list, clause: str, prefer_write: bool = True, min_len: int = 1,
            reading: bool = False, verb: str = "") -> tuple[Any, float, list[str]]:
    words = [t for t, _, _ in tokens(clause) if t not in PHRASE_STOP]
    best, best_score, best_matched = None, 0.0, []
    for item in items:
        score, matched = 0.0, []
        for p in item.phrases:
            if len(p) < min_len:
                continue
            if _contains(words, p):
                score += len(p) ** 1.5 * (2 if verb and _same(p[0], verb) else 1)
                matched.append(" ".join(p))
        name_verb, *name_object = item.name.split("_")
        if verb and len(name_verb) > 2:
            wanted = VERB_ACTIONS.get(verb, (verb,))
            if any(_same(name_verb, w) for w in wanted):
                # "update the Salesforce case": update_record; the verb itself first
                score += 1.5 if _same(name_verb, wanted[0]) else 1.2
                # ... and what it acts on: "list the open issues" is search_issues, not
                # list_transitions
                if name_object and all(any(_same(o, w) for w in words) for o in name_object):
                    score += 1.0
                if not matched:
                    matched.append(verb)
            elif name_verb in NAME_VERBS and verb in VERB_ACTIONS:
                score *= 0.5  # "update the Linear issue" is not create_issue
        if not score:
            continue
        if prefer_write and item.read_only and not reading:
            score *= 0.4
        score -= item.order * 0.01
        if score > best_score:
            best, best_score, best_matched = item, score, matched
    return best, best_score, best_matched


def _actions(vocab: Vocabulary, text: str, lower: str, mentions: list[Mention],
             trigger: dict[str, Any], span: tuple[int, int] | None,
             skip: list[tuple[int, int]]) -> list[dict[str, Any]]:
    outside = [m for m in mentions if not (span and span[0] <= m.start < span[1])]
    if trigger.get("type") == "event":
        outside = [m for m in outside if not (m.slug == trigger["service"] and span is None
                                              and m.start <= _first_start(mentions, m.slug))]
    clauses = _clauses(lower, span)
    contexts = _clauses(lower, None)
    unscheduled = list(lower)  # the schedule's words are not the verb ("daily at 6 archive ...")
    for a, b in skip:
        if not CHANNEL.match(lower, a) and not EMAIL.match(lower, a):
            unscheduled[a:b] = " " * (b - a)
    unscheduled = "".join(unscheduled)
    # Files come from the trigger (an e-mail's attachments, a new file): copy them across.
    copying = trigger.get("type") == "event" and (
        vocab.services[trigger["service"]].category == "storage" or "attachment" in lower)
    blanked = _blank(lower, mentions, vocab, skip)
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for m in outside:
        index = next((i for i, c in enumerate(contexts) if c[0] <= m.start < c[1]), None)
        a, b = contexts[index] if index is not None else (m.start, m.end)
        context = blanked[a:b]
        if index and _first_word(unscheduled[a:b]) not in vocab.verbs:
            # "add them to HubSpot and to the Monday board": the verb of the clause before
            context = _first_verb(vocab, lower, contexts[:index]) + " " + context
        later = [o for o in mentions if a <= o.start < b and o.start > m.end and o.slug != m.slug]
        source = bool(later) and re.search(r"\b(?:to|into|onto|in)\s+(?:the\s+|a\s+|our\s+|my\s+)?$",
                                            lower[max(a, later[0].start - 12):later[0].start]) is not None
        data = bool(re.search(r"(?:\bwith|\bof|\bfrom|\bmy|'s|\bopen|\bclosed|\boverdue|\bunpaid|\bpending"
                              r"|\brecent|\blatest|\btoday's|\bweek's|\bday's|\blast|\bthe\s+week's)\s+(?:\w+\s+){0,1}$",
                              lower[max(a, m.start - 30):m.start]))
        reading = source or (data and trigger.get("type") in ("schedule", "manual"))
        earlier = any(a <= o.start < m.start and o.slug != m.slug for o in mentions)
        destination = earlier and re.search(
            r"\b(?:to|into|onto|in|on|via)\s+(?:the\s+|a\s+|an\s+|our\s+|my\s+)?$",
            lower[max(a, m.start - 14):m.start]) is not None
        item = _choose_action(vocab, m.slug, context, reading, raw=unscheduled[a:b],
                              writing=destination and not source, copying=copying)
        if item is None:
            continue
        action, matched, conf = item
        key = (m.slug, action.name)
        if key in seen:
            continue
        seen.add(key)
        found.append({"service": m.slug, "action": action.name, "title": action.title,
                      "confidence": round(min(m.confidence, conf), 2),
                      "matched": [m.words, *matched]})
    # A clause naming no service acting on the trigger's own ("label it bug", "reply in thread").
    if trigger.get("type") == "event":
        service = vocab.services[trigger["service"]]
        for a, b in clauses:
            if any(a <= m.start < b for m in mentions) or (span and a < span[1] and b > span[0]):
                continue
            part = lower[a:b]
            first = next((t for t, _, _ in tokens(part) if t not in STOP), "")
            if first not in vocab.verbs:
                continue
            best, matched = _best(service.actions, part)
            if best is not None and not best.read_only and (service.slug, best.name) not in seen:
                seen.add((service.slug, best.name))
                found.append({"service": service.slug, "action": best.name, "title": best.title,
                              "confidence": 0.75, "matched": matched})
    return found


def _blank(lower: str, mentions: list[Mention], vocab: Vocabulary,
           skip: list[tuple[int, int]] = ()) -> str:
    """``lower`` with the service names blanked out, so "Microsoft Teams" does not read as
    the word "teams" and "new Zendesk ticket" reads as "new ticket"."""
    chars = list(lower)
    spans = [m.span() for m in CHANNEL.finditer(lower)] + [m.span() for m in EMAIL.finditer(lower)]
    spans += list(skip)
    for m in mentions:
        # The brand goes, the rest of an alias stays ("Stripe payments": "payments").
        brand = vocab.brands.get(m.slug, frozenset())
        for stem_, a, b in tokens(lower[m.start:m.end]):
            if stem_ in brand or m.end - m.start == b - a:
                spans.append((m.start + a, m.start + b))
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _first_word(text: str) -> str:
    return next((t for t, _, _ in tokens(text) if t not in STOP), "")


def _first_verb(vocab: Vocabulary, lower: str, clauses: list[tuple[int, int]]) -> str:
    for a, b in reversed(clauses):
        word = _first_word(lower[a:b])
        if word in vocab.verbs:
            return word
    return ""


def _first_start(mentions: list[Mention], slug: str) -> int:
    return min(m.start for m in mentions if m.slug == slug)


def _clauses(lower: str, span: tuple[int, int] | None) -> list[tuple[int, int]]:
    bounds = [0]
    for m in re.finditer(r",|;|\band then\b|\bthen\b|\band\b|\balso\b|\.\s|\bplus\b|&", lower):
        bounds += [m.start(), m.end()]
    if span:
        bounds += list(span)
    bounds.append(len(lower))
    bounds = sorted(set(bounds))
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if lower[a:b].strip(" ,;&.")]


def _choose_action(vocab: Vocabulary, slug: str, clause: str, reading: bool = False,
                   raw: str | None = None, writing: bool = False,
                   copying: bool = False) -> tuple[Any, list[str], float] | None:
    """The service's action the clause asks for. A read is chosen where the service is where
    data comes from ("list overdue Xero invoices", "Google Drive ... to Box", "with my
    calendar's events"); otherwise a write, the primary one when no words match."""
    service = vocab.services[slug]
    if not service.actions:
        return None
    words = [t for t, _, _ in tokens(raw or clause) if t not in STOP]
    reading = reading or (bool(words) and words[0] in READ_VERBS) or bool(
        set(words[:2]) & {"check", "list", "search", "find", "fetch", "pull", "query", "export",
                          "refresh", "read", "summarise", "summarize", "count"})
    reading = reading and not writing  # "list the invoices in Slack": Slack is where it goes
    verb = words[0] if words else ""
    best, matched = _best(service.actions, clause, reading=reading, verb=verb)
    transfer = verb in TRANSFER_VERBS or " ".join(words[:2]) in ("back up",)
    if writing and transfer and (best is None or not matched or all(m == verb for m in matched)):
        # "back up Notion to Dropbox", "export the leads to Drive": a file goes there
        moving = next((a for a in service.actions if a.name == ("copy_file" if copying else "upload_file")), None)
        if moving is not None:
            return moving, [verb], 0.8
    if reading and (best is None or not best.read_only):
        reads = [a for a in service.actions if a.read_only]
        read, read_matched = _best(reads, clause, prefer_write=False, reading=True, verb=verb)
        if read is None and reads:
            # The read that needs least: a list or search of everything, not one record's
            # details (jira search_issues, not list_transitions of one issue).
            read = min(reads, key=lambda a: (
                sum(1 for f in vocab.input_fields(slug, a.name).values() if f.required),
                _names_one_record(vocab.input_fields(slug, a.name)),
                not a.name.startswith(("list", "search", "query", "get_items")), a.order))
            read_matched = []
        if read is not None:
            return read, read_matched, 0.85 if read_matched else 0.75
    primary = _primary_action(service.manifest)
    if not reading and best is not None and best.read_only and len(matched) == 1 and " " not in matched[0]:
        # One plain word ("channels", "issues") is no reason to read where the words write.
        best, matched = next(a for a in service.actions if a.name == primary.name), []
        return best, matched, 0.7
    if best is not None:
        return best, matched, 0.92
    item = next(a for a in service.actions if a.name == primary.name)
    return item, [], 0.7


def _names_one_record(fields_: dict[str, Any]) -> bool:
    """Whether an action's required input picks out one record (an id or key): a read of
    "the open issues" lists or searches, it does not read one issue's details."""
    return any(f.required and (name in ("id", "key", "gid") or name.endswith(("_id", "_key", "_gid")))
               for name, f in fields_.items())


def _channel_param_service(vocab: Vocabulary) -> str | None:
    """The service whose message action takes a ``channel`` (Slack's): "#eng" with no chat
    service named goes there."""
    return vocab.channel_service


def _channel_service(vocab: Vocabulary, lower: str, actions: list, entities: dict,
                     trigger: dict) -> None:
    if not entities["channels"] or any(vocab.services[a["service"]].category == "communication"
                                       and a["service"] != "gmail" for a in actions):
        return
    if trigger.get("type") == "event" and vocab.services[trigger["service"]].category == "communication":
        return
    slug = _channel_param_service(vocab)
    if slug is None:
        return
    item = _choose_action(vocab, slug, lower)
    if item:
        action, matched, _ = item
        actions.append({"service": slug, "action": action.name, "title": action.title,
                        "confidence": 0.7, "matched": [f"#{entities['channels'][0]}", *matched]})


def _takes_recipient(vocab: Vocabulary, action: dict) -> bool:
    fields_ = vocab.input_fields(action["service"], action["action"])
    return any(f in fields_ and fields_[f].required for f in RECIPIENT_FIELDS)


# -- entities --------------------------------------------------------------------------------


def _entities(text: str, lower: str, schedule: Any) -> dict[str, Any]:
    emails = EMAIL.findall(text)
    email_spans = [m.span() for m in EMAIL.finditer(text)]
    people = [m.group(1) for m in MENTION.finditer(text)
              if not any(a <= m.start() < b for a, b in email_spans)]
    channels = []
    for m in CHANNEL.finditer(text):
        if m.group(1).lower() not in channels:
            channels.append(m.group(1).lower())
    for m in re.finditer(r"\b(?:the\s+)?([a-z][\w-]{1,40})\s+channel\b", lower):
        name = m.group(1)
        if name not in STOP and name not in channels and name not in (
                "slack", "teams", "discord", "same", "right", "team", "webex", "chat", "general-purpose"):
            if not re.search(rf"#{re.escape(name)}\b", lower):
                channels.append(name)
    labels = []
    for m in LABEL.finditer(text):
        value = (m.group(1) or m.group(2) or "").strip()
        if value and value.lower() not in NOT_LABEL and value.lower() not in labels and value.lower() not in ("a", "the"):
            labels.append(value.lower())
    for m in re.finditer(r"\b(?:emails?|messages?|mail)\s+(?:labell?ed|tagged|marked)\s+(?:as\s+)?[\"'“]?([\w-]{2,40})", lower):
        if m.group(1) not in labels:
            labels.append(m.group(1))
    folders = []
    for pattern in FOLDERS:
        for m in pattern.finditer(text):
            value = m.group(1).strip()
            if value and value.lower() not in NOT_FOLDER and value not in folders:
                folders.append(value)
    thresholds = []
    for m in THRESHOLD.finditer(text):
        value = float(m.group("num").replace(",", ""))
        mult = (m.group("mult") or "").lower()
        value *= MULT.get(mult, 1)
        op = next(sym for pat, sym in OPS if re.fullmatch(pat, m.group("op").lower()))
        found = {"op": op, "value": int(value) if value == int(value) else value,
                 "text": text[m.start("op"):m.end()].strip()}
        name = (m.group("field") or "").lower()
        before = lower[max(0, m.start() - 40):m.start()]
        noun = name if name in FIELD_WORDS else next(
            (w for w in reversed(re.findall(r"[a-z]+", before)) if w.rstrip("s") in FIELD_WORDS), None)
        if noun:
            found["field"] = noun.rstrip("s")
        if m.group("cur"):
            found["currency"] = {"$": "USD", "€": "EUR", "£": "GBP"}[m.group("cur")]
        thresholds.append(found)
    times = list(schedule.times) if schedule else []
    return {"channels": channels, "labels": labels, "thresholds": thresholds,
            "recipients": [*emails, *(f"@{p}" for p in people)], "folders": folders,
            "times": times}


# -- generation ------------------------------------------------------------------------------


def generate(text: str, context: dict[str, Any] | None = None, registry: Any = None,
             app: Flask | None = None, connections: dict[str, list[dict[str, Any]]] | None = None,
             optimization_strategy: str | None = None) -> dict[str, Any]:
    """A workflow definition for ``text``, validated, with the analysis, the connections chosen
    and an explanation.

    :param connections: ``{service: [{"id", "enabled", "status", "healthy"}]}`` (default: the
        database's connections, when there is an app context).
    """
    registry = _registry(registry, app)
    vocab = vocabulary(registry)
    analysis = analyze(text, context, registry, app)
    if connections is None:
        connections = _user_connections() if has_app_context() else {}
    trigger = analysis["trigger"]
    entities = analysis["entities"]
    services = [a["service"] for a in analysis["actions"]]
    if trigger["type"] == "event":
        services = [trigger["service"], *services]
    chosen: dict[str, int] = {}
    missing: list[str] = []
    for slug in dict.fromkeys(services):
        conn = _pick_connection(connections.get(slug) or [])
        if conn is None:
            missing.append(slug)
        else:
            chosen[slug] = conn
    definition, guessed = _definition(vocab, analysis, chosen, context or {})
    _ask_unfilled(vocab, definition, analysis)
    for name in guessed:
        value = definition["trigger"]["params"][name]
        analysis["questions"].append({"field": f"trigger.params.{name}", "question":
                                          f"Which {name.replace('_', ' ')} should the trigger "
                                          f"watch? The request does not say; {value!r} is a "
                                          "placeholder to replace."})
    definition = _validated(definition, registry, _lookup(connections), analysis)
    return {"workflow": definition, "analysis": analysis, "connections": chosen,
            "missing_connections": missing, "explanation": explain(vocab, analysis, chosen, missing),
            "confidence": analysis["confidence"],
            "optimization_strategy": optimization_strategy}


TRIGGER_FIELD = re.compile(r"^\{\{ trigger\.([A-Za-z_][\w]*) \}\}$")


def _ask_unfilled(vocab: Vocabulary, definition: dict[str, Any], analysis: dict[str, Any]) -> None:
    """A required parameter left as ``{{ trigger.<field> }}`` where the trigger brings no
    such field (a schedule, a manual run, a webhook whose body is not known, an event whose
    sample has no such key) would be empty at run time: it becomes a question."""
    trigger = definition["trigger"]
    sample: dict[str, Any] = {}
    if trigger["type"] == "event":
        spec = vocab.services[trigger["service"]].manifest.trigger(trigger["event"])
        sample = dict(spec.sample or {})
    for step in definition["steps"]:
        for name, value in (step.get("parameters") or {}).items():
            match = TRIGGER_FIELD.match(str(value))
            if not match or match.group(1) in sample:
                continue
            asked = {q["field"] for q in analysis["questions"]}
            if name in RECIPIENT_FIELDS and "entities.recipients" in asked:
                continue  # "Who should receive it?" was asked already
            analysis["questions"].append({
                "field": f"steps.{step['id']}.parameters.{name}",
                "question": f"What {name.replace('_', ' ')} should {step.get('name') or step['id']} "
                            f"use? Nothing in the request or the {trigger['type']} trigger gives "
                            f"it; {value} is a placeholder to replace."})


def _user_connections() -> dict[str, list[dict[str, Any]]]:
    from atom.extensions import db
    from atom.models import Connection

    out: dict[str, list[dict[str, Any]]] = {}
    for conn in db.session.scalars(db.select(Connection).order_by(Connection.id)):
        out.setdefault(conn.integration, []).append({
            "id": conn.id, "enabled": conn.enabled, "status": conn.status,
            "healthy": conn.status == "active" and not conn.last_error_class})
    return out


def _pick_connection(conns: list[dict[str, Any]]) -> int | None:
    usable = [c for c in conns if c.get("enabled", True)]
    if not usable:
        return None
    usable.sort(key=lambda c: (not c.get("healthy", True), c["id"]))
    return usable[0]["id"]


def _lookup(connections: dict[str, list[dict[str, Any]]]):
    owners = {c["id"]: slug for slug, conns in connections.items() for c in conns}
    return lambda conn_id: owners.get(conn_id)


def _definition(vocab: Vocabulary, analysis: dict, chosen: dict[str, int],
                context: dict[str, Any]) -> dict[str, Any]:
    trigger_in = analysis["trigger"]
    entities = analysis["entities"]
    guessed: list[str] = []
    trigger: dict[str, Any] = {"type": trigger_in["type"]}
    event_title = "the trigger"
    payload: dict[str, Any] = {}
    if trigger_in["type"] == "event":
        service = vocab.services[trigger_in["service"]]
        spec = service.manifest.trigger(trigger_in["event"])
        trigger.update(service=service.slug, event=spec.name, conditions={})
        event_title = f"{service.display_name}: {spec.title}"
        payload = dict(spec.sample or {})
        if spec.params is not None:
            params = _trigger_params(spec, entities, guessed)
            if params or spec.params is not None:
                trigger["params"] = params
    elif trigger_in["type"] == "schedule":
        trigger.update(cron=trigger_in["cron"], timezone=trigger_in["timezone"])
        event_title = f"the schedule ({describe_cron(trigger_in['cron'])})"
    elif trigger_in["type"] == "webhook":
        event_title = "the webhook"
    steps: list[dict[str, Any]] = []
    previous: str | None = None
    # Actions run side by side unless the words order them ("then", "after that"): none
    # of them reads another's output.
    in_order = bool(re.search(r"\bthen\b|\bafter that\b|\bafterwards\b|\bnext\b|\bfollowed by\b",
                              analysis["text"].lower()))
    gate: str | None = None
    reads: list[str] = []
    for threshold in entities["thresholds"][:1]:
        path = _payload_path(payload, threshold.get("field") or "amount")
        expression = f"{path} {threshold['op']} `{threshold['value']}`"
        steps.append({"id": "check_threshold", "type": "condition",
                      "name": f"Only when {threshold['text']}", "expression": expression})
        previous = gate = "check_threshold"
    for item in analysis["actions"]:
        service = vocab.services[item["service"]]
        action = service.manifest.action(item["action"])
        params = _compact_parameters(action, service.slug)
        content = next((k for k, v in params.items() if "||" in str(v)), None)
        if content is not None:
            params[content] = "{{ trigger.%s || '%s' }}" % (content, _quote(f"New event: {event_title}"))
        _fill(params, action, entities, service.slug)
        sid = f"{service.slug}_{action.name}"
        taken = {s["id"] for s in steps}
        if sid in taken:
            sid = next(f"{sid}_{n}" for n in range(2, len(taken) + 3) if f"{sid}_{n}" not in taken)
        step = {"id": sid, "type": "action", "name": action.title, "service": service.slug,
                "action": action.name, "parameters": params,
                "depends_on": [previous] if previous else []}
        if not in_order:
            step["depends_on"] = [gate] if gate else []
        if action.read_only:
            reads.append(sid)
        elif reads:
            # What was read is what this step writes: it waits for the read and takes its
            # output ("list overdue invoices and post them to Slack").
            if reads[-1] not in step["depends_on"]:
                step["depends_on"] = [*step["depends_on"], reads[-1]]
            field_ = next((f for f in DATA_FIELDS if f in vocab.input_fields(service.slug, action.name)), None)
            if field_ is not None:
                step["parameters"][field_] = "{{ steps.%s.output }}" % reads[-1]
        if service.slug in chosen:
            step["connection"] = chosen[service.slug]
        steps.append(step)
        previous = sid
    if not steps or all(s["type"] == "condition" for s in steps):
        steps.append({"id": "describe", "type": "transform", "name": "What happened",
                      "mapping": {"request": f"'{_quote(analysis['text'][:200])}'"},
                      "depends_on": [previous] if previous else []})
    name = _title(analysis["text"])
    return {"name": name, "description": f"Generated from: {analysis['text'][:500]}",
            "trigger": trigger, "steps": steps}, guessed


def _title(text: str, limit: int = 120) -> str:
    """The request as the workflow's name, cut at a word when long."""
    text = text.strip().rstrip(" .") or "Generated workflow"
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _quote(text: str) -> str:
    return text.replace("\\", "").replace("'", "\\'").replace("{{", "{ {").replace("}}", "} }")


def _sample_value(sample: Any, name: str) -> str | None:
    stack = [sample]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if isinstance(node.get(name), str):
                return node[name]
            stack.extend(node.values())
    return None


def _trigger_params(spec: Any, entities: dict, guessed: list[str]) -> dict[str, Any]:
    fields_ = spec.params().fields
    params: dict[str, Any] = {}
    if entities["labels"] and "query" in fields_:
        params["query"] = " ".join(f"label:{label}" for label in entities["labels"])
    if entities["folders"]:
        for name in ("folder_id", "path"):
            if name in fields_:
                folder = entities["folders"][0]
                params[name] = folder if name != "path" or folder.startswith("/") else f"/{folder}"
                break
    if entities["channels"]:
        for name in ("channel_id", "space", "channel"):
            if name in fields_ and fields_[name].required:
                params[name] = entities["channels"][0]
    schema = spec.params()
    for name in list(params):
        if name in schema.validate({name: params[name]}, partial=True):
            del params[name]  # "#support" is no Discord channel id: asked for instead
    for name, fld in fields_.items():
        if fld.required and name not in params:
            # Not in the text: a visible placeholder the field accepts, and a question (see
            # generate, which asks for every placeholder).
            sample = _sample_value(spec.sample, name)
            for candidate in (f"<{name}>", PLACEHOLDER, PLACEHOLDER.lower(), sample, "root"):
                if candidate is not None and name not in schema.validate({name: candidate}, partial=True):
                    params[name] = candidate
                    guessed.append(name)
                    break
    return params


def _payload_path(payload: dict[str, Any], word: str) -> str:
    """The trigger payload's field for a threshold's noun ("deal" -> the amount), found in the
    event's sample payload; ``trigger.<word>`` when the sample has none."""
    wanted = FIELD_WORDS.get(word, (word,))
    stack: list[tuple[str, Any]] = [("trigger", payload)]
    while stack:
        path, node = stack.pop(0)
        if not isinstance(node, dict):
            continue
        for name in wanted:
            if isinstance(node.get(name), (int, float)) and not isinstance(node.get(name), bool):
                return f"{path}.{name}"
        stack.extend((f"{path}.{k}", v) for k, v in node.items() if isinstance(v, dict)
                     and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))
    return f"trigger.{wanted[0]}"


def _fill(params: dict[str, Any], action: Any, entities: dict, slug: str) -> None:
    fields_ = action.input().fields
    if entities["channels"] and "channel" in fields_:
        params["channel"] = f"#{entities['channels'][0]}"
    emails = [r for r in entities["recipients"] if "@" in r and not r.startswith("@")]
    if emails:
        for name in RECIPIENT_FIELDS:
            if name in fields_:
                kind = type(fields_[name]).__name__
                params[name] = emails if kind in ("List", "Addresses") and name in ("to",) else emails[0]
                break
    if entities["labels"]:
        if "labels" in fields_:
            params["labels"] = list(entities["labels"])
        elif "add" in fields_ and slug == "gmail" or "add" in fields_ and "remove" in fields_:
            params["add"] = list(entities["labels"])
        elif "query" in fields_ and slug == "gmail":
            params["query"] = " ".join(f"label:{label}" for label in entities["labels"])
    if entities["folders"]:
        folder = entities["folders"][0]
        for name in ("folder_id", "parent_id", "path", "folder"):
            if name in fields_ and not (name == "path" and fields_[name].required and "name" not in fields_):
                params[name] = folder if name != "path" or folder.startswith("/") else f"/{folder}"
                break


def _validated(definition: dict[str, Any], registry: Any, lookup: Any,
               analysis: dict[str, Any]) -> dict[str, Any]:
    """``definition`` validated. What validation refuses is repaired, each repair asked about:
    a parameter the action refuses is taken from the trigger payload instead; a step still
    refused is left out; a trigger still refused becomes manual."""
    for _ in range(3):
        try:
            return validate_definition(copy.deepcopy(definition), registry, lookup)
        except DefinitionError as exc:
            definition = _repair(definition, exc.errors, analysis)
    return validate_definition(definition, registry, lookup)


def _repair(definition: dict[str, Any], errors: dict[str, Any],
            analysis: dict[str, Any]) -> dict[str, Any]:
    dropped: set[str] = set()
    for key, problems in errors.items():
        if key == "trigger" or not key.startswith("steps."):
            continue
        sid = key.split(".", 1)[1]
        step = next((s for s in definition["steps"] if s["id"] == sid), None)
        if step is None:
            continue
        bad = problems.get("parameters") if isinstance(problems, dict) else None
        other = [k for k in (problems if isinstance(problems, dict) else {}) if k != "parameters"]
        templated = isinstance(bad, dict) and all("{{" in str(step["parameters"].get(n, "")) for n in bad)
        if isinstance(bad, dict) and not other and not templated:
            for name in bad:
                step["parameters"][name] = "{{ trigger.%s }}" % name
            continue
        dropped.add(sid)
        analysis["questions"].append({"field": f"steps.{sid}", "question":
                                      f"The step {sid} was left out: {problems}. Add it by hand."})
    if dropped:
        definition["steps"] = [s for s in definition["steps"] if s["id"] not in dropped]
        for step in definition["steps"]:
            step["depends_on"] = [d for d in step.get("depends_on", []) if d not in dropped]
    if "trigger" in errors:
        analysis["questions"].append({"field": "trigger", "question":
                                      f"The trigger was refused ({errors['trigger']}); it runs by "
                                      "hand until you choose one."})
        definition["trigger"] = {"type": "manual"}
    if not definition["steps"]:
        definition["steps"] = [{"id": "describe", "type": "transform", "name": "What happened",
                                "mapping": {"request": "'see the questions'"}}]
    return definition


def explain(vocab: Vocabulary, analysis: dict, chosen: dict[str, int], missing: list[str]) -> str:
    trigger = analysis["trigger"]
    name = lambda slug: vocab.services[slug].display_name  # noqa: E731
    if trigger["type"] == "event":
        spec = vocab.services[trigger["service"]].manifest.trigger(trigger["event"])
        start = f"This workflow starts when {name(trigger['service'])} reports \"{spec.title}\" ({trigger['event']})"
    elif trigger["type"] == "schedule":
        start = (f"This workflow runs on a schedule, {describe_cron(trigger['cron'])} "
                 f"(cron {trigger['cron']}, {trigger['timezone']})")
    elif trigger["type"] == "webhook":
        start = "This workflow starts when its webhook URL receives a request"
    else:
        start = "This workflow runs when you start it"
    sentences = [start + f", understood with confidence {trigger['confidence']:.2f}."]
    entities = analysis["entities"]
    if entities["thresholds"]:
        t = entities["thresholds"][0]
        sentences.append(f"It continues only when {t.get('field', 'the amount')} {t['op']} {t['value']} "
                         f"(from \"{t['text']}\").")
    steps = []
    for a in analysis["actions"]:
        words = f" (matched: {', '.join(a['matched'])})" if a["matched"] else ""
        steps.append(f"{a['title'].lower()} in {name(a['service'])}{words}")
    if steps:
        sentences.append("Then it will " + "; then ".join(steps) + ".")
    else:
        sentences.append("No action was recognised: name a service to act on.")
    filled = []
    if entities["channels"]:
        filled.append(f"channel #{entities['channels'][0]}")
    if entities["labels"]:
        filled.append(f"label {', '.join(entities['labels'])}")
    if entities["recipients"]:
        filled.append(f"recipients {', '.join(entities['recipients'])}")
    if entities["folders"]:
        filled.append(f"folder {entities['folders'][0]}")
    if filled:
        sentences.append("From your words it filled in: " + "; ".join(filled) + ".")
    if chosen:
        sentences.append("Connections used: " + ", ".join(f"{name(s)} #{i}" for s, i in chosen.items()) + ".")
    if missing:
        sentences.append("Connect " + ", ".join(name(s) for s in missing) + " before it can run.")
    if analysis["questions"]:
        sentences.append(f"{len(analysis['questions'])} question(s) remain: "
                         + " ".join(q["question"] for q in analysis["questions"]))
    return " ".join(sentences)


def status(app: Flask) -> dict[str, Any]:
    vocab = vocabulary(_registry(None, app))
    return {"model": MODEL, "version": VERSION, "trained_at": None,
            "trained_on": vocab.counts(),
            "details": {"offline": True, "max_input_chars": MAX_INPUT,
                        "schedules": "English to five-field cron (atom.intelligence.schedule)",
                        "services": sorted(vocab.services)}}
