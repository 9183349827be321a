"""Okta: create, look up and deactivate users, manage group membership, list users and groups;
event hook triggers for new, activated and deactivated users and group membership."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.okta import samples
from plugins.okta.schemas import CreateUserInput
from plugins.okta.schemas import DeactivateUserInput
from plugins.okta.schemas import ListGroupsInput
from plugins.okta.schemas import ListUsersInput
from plugins.okta.schemas import MembershipInput
from plugins.okta.schemas import OktaCredentials
from plugins.okta.schemas import OktaSettings
from plugins.okta.schemas import UserInput

_USER = obj(required=("id", "status", "profile"), id=STR, status=maybe(STR), login=maybe(STR),
            email=maybe(STR), created=maybe(STR), activated=maybe(STR), last_login=maybe(STR),
            last_updated=maybe(STR), profile=obj(),
            about="status STAGED, PROVISIONED (activation pending), ACTIVE, SUSPENDED, "
                  "DEPROVISIONED, ...")
_GROUP = obj(required=("id",), id=STR, type=maybe(STR), name=maybe(STR),
             description=maybe(STR), created=maybe(STR), last_membership_updated=maybe(STR))
_MEMBERSHIP = obj(required=("group_id", "user_id", "member"), group_id=STR, user_id=STR,
                  member=BOOL)
_TARGET = maybe(obj(id=STR, alternate_id=maybe(STR), display_name=maybe(STR)))
_EVENT = obj(required=("uuid", "eventType", "published"), uuid=STR, eventType=STR,
             published=STR, displayMessage=maybe(STR), actor=maybe(obj()), target=arr(obj()),
             outcome=maybe(obj()), user=_TARGET, group=_TARGET,
             about="an Okta System Log event; user and group are its targets of those types")
_CREATED = dict(_USER, required=["id", "status", "profile", "group_ids"],
                properties={**_USER["properties"], "group_ids": arr(STR)})

MANIFEST = Manifest(
    slug="okta",
    display_name="Okta",
    category="identity",
    description="Create, look up and deactivate Okta users, add them to and remove them from "
                "groups, list users and groups; react to new, activated and deactivated users "
                "and to group membership through Okta event hooks.",
    docs_url="https://developer.okta.com/docs/api/openapi/okta-management/",
    auth=AuthScheme(kind="custom", fields=OktaCredentials,
                    signer="plugins.okta.auth:okta_auth"),
    integration="plugins.okta.integration:OktaIntegration",
    aliases=("okta", "sso", "identity provider", "idp", "directory", "okta user"),
    # Limits are per org and endpoint group (e.g. 600 a minute on /api/v1/users for many
    # orgs: verify for yours); X-Rate-Limit-* re-syncs the bucket at run time.
    rate_limit=RateLimit(per_second=5, burst=10),
    settings=OktaSettings,
    actions=(
        Action("create_user", "Create a user", CreateUserInput, _CREATED,
               example={"profile": {"firstName": "Isaac", "lastName": "Brock",
                                    "email": "isaac.brock@example.com",
                                    "department": "Engineering"},
                        "activate": True, "group_ids": ["00g1emaKYZTWRYYRRTSK"]},
               description="login defaults to email; activate: false creates a STAGED user. "
                           "Not retried once it may have reached Okta (no idempotency key).",
               words=("create user", "new user", "add user", "onboard", "provision",
                      "new hire", "invite")),
        Action("get_user", "Get a user", UserInput, _USER,
               example={"user_id": "00ub0oNGTSWTBKOLGLNR"}, idempotent=True, read_only=True,
               words=("get user", "look up user", "find user", "user details")),
        Action("deactivate_user", "Deactivate a user", DeactivateUserInput,
               obj(required=("id", "status"), id=STR, status=STR),
               example={"user_id": "00ub0oNGTSWTBKOLGLNR"}, idempotent=True,
               words=("deactivate", "offboard", "disable user", "deprovision",
                      "remove access")),
        Action("add_user_to_group", "Add a user to a group", MembershipInput, _MEMBERSHIP,
               example={"group_id": "00g1emaKYZTWRYYRRTSK", "user_id": "00ub0oNGTSWTBKOLGLNR"},
               idempotent=True, words=("add to group", "assign group", "grant access",
                                       "join group")),
        Action("remove_user_from_group", "Remove a user from a group", MembershipInput,
               _MEMBERSHIP,
               example={"group_id": "00g1emaKYZTWRYYRRTSK", "user_id": "00ub0oNGTSWTBKOLGLNR"},
               idempotent=True, words=("remove from group", "unassign group",
                                       "revoke access", "leave group")),
        Action("list_users", "List users", ListUsersInput, listing("users", _USER),
               example={"search": "profile.department eq \"Engineering\"", "max_items": 20},
               idempotent=True, read_only=True,
               description="q (starts-with on names and email), search or filter (Okta's "
                           "expressions); follows Link rel=\"next\" pages up to max_items.",
               words=("list users", "find users", "search users", "who is in", "directory")),
        Action("list_groups", "List groups", ListGroupsInput, listing("groups", _GROUP),
               example={"q": "Eng", "max_items": 20}, idempotent=True, read_only=True,
               words=("list groups", "groups", "find group", "teams")),
    ),
    triggers=(
        Trigger("user_created", "User created", samples.USER_CREATED, _EVENT,
                description="user.lifecycle.create: a user was added (staged or active).",
                words=("new user", "user created", "new hire", "someone joins")),
        Trigger("user_activated", "User activated", samples.USER_ACTIVATED, _EVENT,
                description="user.lifecycle.activate", words=("user activated",
                                                              "account activated")),
        Trigger("user_deactivated", "User deactivated", samples.USER_DEACTIVATED, _EVENT,
                description="user.lifecycle.deactivate",
                words=("user deactivated", "user left", "offboarded", "someone leaves")),
        Trigger("user_added_to_group", "User added to a group", samples.USER_ADDED_TO_GROUP,
                _EVENT, description="group.user_membership.add; group is the group",
                words=("added to group", "joined group", "group membership")),
    ),
    webhook=WebhookSpec(scheme="okta_authorization", secret_field="webhook_secret"),
    # The spec's paths carry /api/v1; its server is https://{yourOktaDomain}.
    contract=Contract("openapi", "okta.json", base_path="/api/v1",
                      settings={"domain": "acme.okta.com"}),
)
