"""Tableau: list workbooks and views, refresh extracts and follow the job, export a view as CSV
or PNG; react to extract refreshes that succeed or fail, new workbooks and deleted views."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import TIME
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.tableau.samples import EVENTS
from plugins.tableau.samples import JOB_ID
from plugins.tableau.samples import VIEW_ID
from plugins.tableau.samples import WORKBOOK_ID
from plugins.tableau.schemas import ExportCsvInput
from plugins.tableau.schemas import ExportImageInput
from plugins.tableau.schemas import GetJobInput
from plugins.tableau.schemas import ListViewsInput
from plugins.tableau.schemas import ListWorkbooksInput
from plugins.tableau.schemas import RefreshExtractInput
from plugins.tableau.schemas import TableauCredentials
from plugins.tableau.schemas import TableauSettings

_S, _I, _T = maybe(STR), maybe(INT), maybe(TIME)
_WORKBOOK = obj(required=("id",), id=STR, name=_S, content_url=_S, webpage_url=_S,
                project_id=_S, project_name=_S, owner_id=_S, default_view_id=_S, size=_I,
                created_at=_T, updated_at=_T, tags=arr(STR))
_VIEW = obj(required=("id",), id=STR, name=_S, content_url=_S, view_url_name=_S,
            workbook_id=_S, project_id=_S, owner_id=_S, created_at=_T, updated_at=_T,
            tags=arr(STR))
_JOB = obj(required=("id", "status"), about="status: queued, in_progress, succeeded, failed or "
                                            "cancelled (from finishCode)",
           id=STR, type=_S, mode=_S, progress=_I, status=STR, finish_code=_S, created_at=_T,
           started_at=_T, completed_at=_T, workbook_id=_S, datasource_id=_S, notes=_S)
_EVENT = obj(required=("event_type", "resource_id"), event_type=STR, resource=_S,
             resource_name=_S, resource_id=STR, site_id=_S, created_at=_S)
_NOTE = ("From a Tableau site webhook for this event whose destination URL is this "
         "connection's receiver with ?atom_token=<webhook_token> (Tableau signs no webhook; "
         "duplicates, which Tableau may send with identical bodies, fire once).")


def _trigger(name: str, title: str, description: str, words: tuple[str, ...]) -> Trigger:
    return Trigger(name, title, EVENTS[name], _EVENT, description=f"{description} {_NOTE}",
                   words=words)


MANIFEST = Manifest(
    slug="tableau",
    display_name="Tableau",
    category="analytics",
    description="List Tableau workbooks and views, refresh a workbook's or data source's "
                "extract and follow its job, export a view's data as CSV or its image as PNG; "
                "react to extract refreshes that succeed or fail, new workbooks and deleted "
                "views.",
    docs_url="https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api.htm",
    auth=AuthScheme(kind="custom", fields=TableauCredentials,
                    signer="plugins.tableau.session:signer"),
    integration="plugins.tableau.integration:TableauIntegration",
    settings=TableauSettings,
    aliases=("tableau", "tableau server", "tableau cloud", "tableau online", "dashboard",
             "bi dashboard", "tableau workbook"),
    # Tableau publishes no request rate for the REST API (verify); stay gentle.
    rate_limit=RateLimit(per_second=5, burst=10),
    actions=(
        Action("list_workbooks", "List workbooks", ListWorkbooksInput,
               listing("workbooks", _WORKBOOK),
               example={"project_name": "Sales", "max_items": 50},
               idempotent=True, read_only=True,
               description="The site's workbooks, narrowed by exact name, project, owner, tag "
                           "or update time.",
               words=("workbooks", "list dashboards", "find workbook", "reports")),
        Action("list_views", "List views", ListViewsInput, listing("views", _VIEW),
               example={"workbook_id": WORKBOOK_ID}, idempotent=True, read_only=True,
               description="A workbook's views (sheets and dashboards), or the site's.",
               words=("views", "sheets", "dashboards", "list views")),
        Action("refresh_extract", "Refresh an extract", RefreshExtractInput, _JOB,
               example={"workbook_id": WORKBOOK_ID},
               description="Runs a workbook's or published data source's extract refresh now "
                           "and returns the job; follow it with get_job or the refresh "
                           "triggers.",
               words=("refresh extract", "refresh data", "update dashboard data",
                      "refresh workbook", "refresh data source", "run refresh")),
        Action("get_job", "Get a job", GetJobInput, _JOB, example={"job_id": JOB_ID},
               idempotent=True, read_only=True,
               words=("job status", "refresh status", "check job", "is the refresh done")),
        Action("export_view_csv", "Export a view as CSV", ExportCsvInput,
               obj(required=("view_id", "csv"), view_id=STR, csv=STR, rows=INT, size=INT),
               example={"view_id": VIEW_ID, "filters": {"Region": "West"}},
               idempotent=True, read_only=True,
               description="The view's summary data as CSV text (view filters as vf_<field>), "
                           "refused past max_bytes.",
               words=("export csv", "download data", "view data", "report data", "csv")),
        Action("export_view_image", "Export a view as PNG", ExportImageInput,
               obj(required=("view_id", "content_base64"), view_id=STR, mime_type=STR,
                   size=INT, content_base64=STR),
               example={"view_id": VIEW_ID, "resolution": "high"},
               idempotent=True, read_only=True,
               description="The rendered view as a PNG, base64-encoded, refused past max_bytes "
                           "(2 MB by default).",
               words=("screenshot dashboard", "export image", "dashboard picture", "png",
                      "snapshot")),
    ),
    triggers=(
        _trigger("workbook_refresh_succeeded", "Workbook refresh succeeded",
                 "A workbook's extract refresh finished.",
                 ("refresh succeeded", "extract refreshed", "dashboard updated")),
        _trigger("workbook_refresh_failed", "Workbook refresh failed",
                 "A workbook's extract refresh failed.",
                 ("refresh failed", "extract failed", "dashboard refresh failed")),
        _trigger("datasource_refresh_succeeded", "Data source refresh succeeded",
                 "A published data source's extract refresh finished.",
                 ("data source refreshed", "datasource refresh succeeded")),
        _trigger("datasource_refresh_failed", "Data source refresh failed",
                 "A published data source's extract refresh failed.",
                 ("data source refresh failed", "datasource refresh failed")),
        _trigger("workbook_created", "Workbook published", "A workbook was published.",
                 ("new workbook", "workbook published", "new dashboard")),
        _trigger("view_deleted", "View deleted", "A view was deleted.",
                 ("view deleted", "sheet deleted", "dashboard deleted")),
    ),
    webhook=WebhookSpec(scheme="tableau_url_token", secret_field="webhook_token"),
    contract=Contract("fake", "tests/plugins/tableau/fake.py",
                      notes="Tableau publishes no OpenAPI description; tested against "
                            "tests/plugins/tableau/fake.py, a stateful fake whose docstring "
                            "cites the REST API reference page of each behaviour."),
)
