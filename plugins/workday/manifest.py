"""Workday: get and list workers (REST), run a custom report (RaaS, JSON); new hires by
polling a hires report."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.workday import samples
from plugins.workday.schemas import GetWorkerInput
from plugins.workday.schemas import ListOrganizationsInput
from plugins.workday.schemas import ListWorkersInput
from plugins.workday.schemas import NewHireParams
from plugins.workday.schemas import RunReportInput
from plugins.workday.schemas import WorkdayCredentials
from plugins.workday.schemas import WorkdaySettings

# The worker the examples name: the contract fake (tests/plugins/workday/fake.py) seeds it.
EXAMPLE_WORKER = "3aa5550b7fe348b98d7b5741afc65534"

_REF = obj(id=STR, descriptor=maybe(STR), href=maybe(STR))
_WORKER = obj(required=("id",), about="A worker as the REST API answers it", id=STR,
              descriptor=maybe(STR), href=maybe(STR), businessTitle=maybe(STR),
              primaryWorkEmail=maybe(STR), primaryWorkPhone=maybe(STR), isManager=maybe(BOOL),
              primarySupervisoryOrganization=maybe(_REF), location=maybe(_REF))

MANIFEST = Manifest(
    slug="workday",
    display_name="Workday",
    category="hr",
    description="Get and list workers, run custom reports (Reports-as-a-Service, as JSON); "
                "react to new hires. Connects as an integration system user: an API client "
                "for integrations (client id and secret) and the refresh token issued for it, "
                "with the tenant's host and name.",
    docs_url="https://community.workday.com/sites/default/files/file-hosting/restapi/index.html",
    auth=AuthScheme(
        kind="oauth2", fields=WorkdayCredentials,
        # The connection's own client id and secret and refresh token go to the tenant's token
        # URL (filled from its host and tenant settings, both destinations). The access token
        # is short-lived (its lifetime is set on the API client: verify) and fetched before the
        # first call. The authorize URL serves auth-code API clients (verify: on the tenant's
        # UI host, which may differ from the services host).
        oauth2=OAuth2Spec(authorize_url="{host}/{tenant}/authorize",
                          token_url="{host}/ccx/oauth2/{tenant}/token",
                          pkce=False, client_auth="basic")),
    integration="plugins.workday.integration:WorkdayIntegration",
    settings=WorkdaySettings,
    aliases=("workday hcm", "workday hr", "wday", "hris", "workday raas"),
    # No published limits; about 10 calls/s per tenant is an observed figure (verify).
    rate_limit=RateLimit(per_second=5, burst=10),
    actions=(
        Action("get_worker", "Get a worker", GetWorkerInput, _WORKER,
               example={"worker_id": EXAMPLE_WORKER},
               idempotent=True, read_only=True,
               words=("employee", "worker details", "look up employee", "staff member")),
        Action("list_workers", "List workers", ListWorkersInput,
               listing("workers", _WORKER, total=INT),
               example={"search": "McNeil", "max_items": 20},
               idempotent=True, read_only=True,
               description="Pages with limit/offset until max_items or the stated total.",
               words=("employees", "staff list", "headcount", "find employee", "directory")),
        Action("list_organizations", "List supervisory organizations", ListOrganizationsInput,
               listing("organizations", obj(required=("id",), id=STR, descriptor=maybe(STR),
                                            href=maybe(STR)), total=INT),
               example={"max_items": 50},
               idempotent=True, read_only=True,
               words=("departments", "teams", "org chart", "supervisory organizations")),
        Action("run_report", "Run a custom report", RunReportInput,
               listing("rows", obj(about="One Report_Entry: columns as the report names "
                                         "them"), truncated=BOOL),
               example={"owner": "lmcneil", "report": "New_Hires",
                        "prompts": {"Start_Date": "2026-03-01", "End_Date": "2026-03-31"}},
               idempotent=True, read_only=True,
               description="Reports-as-a-Service: the report must be enabled as a web service "
                           "and shared with the integration system user; prompts are its "
                           "prompt names.",
               words=("raas", "report", "custom report", "export", "hr report")),
    ),
    triggers=(
        Trigger("new_hire", "New hire", samples.NEW_HIRE,
                obj(required=("worker_id",), worker_id=STR,
                    about="One row of the hires report, and worker_id (its id_field)"),
                delivery=Poll("poll_new_hire", cursor="window end date", item_id="worker_id",
                              interval_s=3600),
                params=NewHireParams,
                description="Each worker a custom hires report lists for the window since the "
                            "last poll (with a look-back for hires entered late).",
                words=("new hire", "new employee", "onboarding", "employee hired",
                       "someone joins")),
    ),
    contract=Contract("fake", "tests/plugins/workday/fake.py",
                      notes="Workday's documentation is behind a customer login and no OpenAPI "
                            "description is published: tests/plugins/workday/fake.py follows "
                            "the public third-party references named in its docstring "
                            "(token endpoint, REST workers with limit/offset/total, RaaS "
                            "JSON); unconfirmed behaviour is marked (verify)."),
)
