"""Sample Events API deliveries of the Slack triggers (pure data).

A stored event's payload is the ``event_callback`` envelope without Slack's legacy
verification ``token``; the event itself is under ``event``.
"""
from __future__ import annotations

from typing import Any


def _envelope(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """An Events API ``event_callback`` as stored (Slack's verification token removed)."""
    return {
        "type": "event_callback",
        "team_id": "T0001ABCD",
        "api_app_id": "A0APPID01",
        "event_id": event_id,
        "event_time": 1717171717,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        "authorizations": [{"team_id": "T0001ABCD", "user_id": "U0BOTUSER", "is_bot": True}],
        "event": event,
    }


_MESSAGE = {"type": "message", "channel": "C0123ABCD", "user": "U0456EFGH",
            "text": "Deploy finished :rocket:", "ts": "1717171717.000200",
            "event_ts": "1717171717.000200", "channel_type": "channel"}

MESSAGE_POSTED = _envelope("Ev0MSG0001", _MESSAGE)
APP_MENTIONED = _envelope("Ev0MEN0001", {
    **_MESSAGE, "type": "app_mention", "text": "<@U0BOTUSER> what's the status?"})
REACTION_ADDED = _envelope("Ev0REA0001", {
    "type": "reaction_added", "user": "U0456EFGH", "reaction": "white_check_mark",
    "item_user": "U0789IJKL", "event_ts": "1717171720.000300",
    "item": {"type": "message", "channel": "C0123ABCD", "ts": "1717171717.000200"}})
CHANNEL_CREATED = _envelope("Ev0CHA0001", {
    "type": "channel_created", "event_ts": "1717171730.000400",
    "channel": {"id": "C0NEWCHAN", "name": "incident-42", "created": 1717171730,
                "creator": "U0456EFGH", "is_channel": True}})
MEMBER_JOINED = _envelope("Ev0JOI0001", {
    "type": "member_joined_channel", "user": "U0456EFGH", "channel": "C0123ABCD",
    "channel_type": "C", "team": "T0001ABCD", "event_ts": "1717171740.000500"})
