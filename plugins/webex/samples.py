"""Sample webhook deliveries of the Webex triggers (pure data), stored as Webex sends them.

The envelope (``id`` is the webhook's, then ``name``, ``resource``, ``event``, ``filter``,
``orgId``, ``createdBy``, ``appId``, ``ownedBy``, ``status``, ``actorId``, ``data``) and the
message example are those of the Webhooks guide
(https://developer.webex.com/docs/api/guides/webhooks). A delivery's ``data`` is the object
of the resource's API without its content (a message's text must be fetched with
get_message). The membership, meeting and card ``data`` below use the fields of the
Memberships, Meetings and Attachment Actions references
(https://developer.webex.com/docs/api/v1/memberships, /meetings, /attachment-actions); Webex
documents those deliveries by their resource and event only (verify the exact data fields).
"""
from __future__ import annotations

ORG_ID = "OTZhYmMyYWEtM2RjYy0xMWU1LWExNTItZmUzNDgxOWNkYzlh"
APP_ID = ("Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL0MyNzljYjMwYzAyOTE4MGJiNGJkYWViYjA2MWI3OTY1Y2Rh"
          "MzliNjAyOTdjODUwM2YyNjZhYmY2NmM5OTllYzFm")
CREATOR = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xZjdkZTVjYi04NTYxLTQ2NzEtYmMwMy1iYzk3NDMxNDQ0MmQ"
ROOM_ID = "Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0"
PERSON_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY"


def _delivery(webhook_id: str, name: str, resource: str, event: str, data: dict,
              filter_: str | None = None) -> dict:
    out = {"id": webhook_id, "name": name, "resource": resource, "event": event}
    if filter_:
        out["filter"] = filter_
    out.update({"orgId": ORG_ID, "createdBy": CREATOR, "appId": APP_ID, "ownedBy": "creator",
                "status": "active", "actorId": CREATOR, "data": data})
    return out


MESSAGE_CREATED = _delivery(
    "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svZjRlNjA1NjAtNjYwMi00ZmIwLWEyNWEtOTQ5ODgxNjA5NDk3",
    "New message in 'Project Unicorn' room", "messages", "created",
    {"id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk",
     "roomId": ROOM_ID, "roomType": "group", "personId": PERSON_ID,
     "personEmail": "matt@example.com", "created": "2015-10-18T14:26:16.000Z"},
    filter_=f"roomId={ROOM_ID}")

MEMBERSHIP_CREATED = _delivery(
    "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svOTZhYmMyYWEtM2RjYy0xMWU1LWExNTItZmUzNDgxOWNkYzlh",
    "New member in 'Project Unicorn' room", "memberships", "created",
    {"id": ("Y2lzY29zcGFyazovL3VzL01FTUJFUlNISVAvMGQwYzkxYjYtY2U2MC00NzI1LWI2ZDAtMzQ1NWQ1ZD"
            "ExZWYzOmNkZTFkZDQwLTJmMGQtMTFlNS1iYTljLTdiNjU1NmQyMjA3Yg"),
     "roomId": ROOM_ID, "personId": PERSON_ID, "personEmail": "john.andersen@example.com",
     "personDisplayName": "John Andersen", "personOrgId": ORG_ID, "isModerator": False,
     "isMonitor": False, "created": "2015-10-18T14:26:16.203Z"},
    filter_=f"roomId={ROOM_ID}")

_MEETING = {
    "id": "870f51ff287b41be84648412901e0402_I_167427437874906958",
    "meetingSeriesId": "870f51ff287b41be84648412901e0402",
    "meetingNumber": "123456789", "title": "Example Daily Meeting",
    "meetingType": "meeting", "timezone": "UTC",
    "start": "2019-11-01T20:00:00Z", "end": "2019-11-01T21:00:00Z",
    "hostUserId": CREATOR, "hostDisplayName": "John Andersen",
    "hostEmail": "john.andersen@example.com", "siteUrl": "site4-example.webex.com",
}

MEETING_STARTED = _delivery(
    "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svMzY0YTY2ZjgtNGUwOS00NmMwLTk5ZWMtYjJiZjc1MjhiYTQ1",
    "Meeting started", "meetings", "started", {**_MEETING, "state": "inProgress"})

MEETING_ENDED = _delivery(
    "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svMzY0YTY2ZjgtNGUwOS00NmMwLTk5ZWMtYjJiZjc1MjhiYTQ1",
    "Meeting ended", "meetings", "ended", {**_MEETING, "state": "ended"})

CARD_SUBMITTED = _delivery(
    "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svYjRkYzg4NjQtNWJmYy00YjZjLWJiMmYtYmYzMzU1NzM3NjJm",
    "Card submitted", "attachmentActions", "created",
    {"id": ("Y2lzY29zcGFyazovL3VzL0FUVEFDSE1FTlRfQUNUSU9OLzI0YzAxZGVhLTFiYmEtNDk0Yy1hNDhlLWQz"
            "MWRiZWVjMmRiNA"),
     "type": "submit",
     "messageId": MESSAGE_CREATED["data"]["id"],
     "personId": PERSON_ID, "roomId": ROOM_ID, "created": "2019-09-23T05:33:17.622Z"})
