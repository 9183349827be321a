"""Settings, credentials and action inputs of the Tableau plugin.

Workbook, view, data source and job ids are LUIDs (UUIDs): checked here, so nothing else ever
reaches a URL path.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from plugins.tableau.session import DEFAULT_VERSION

_LUID = validate.Regexp(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{12}$", error="a Tableau LUID "
                                                   "(1f2e3d4c-0000-4a5b-8c7d-0123456789ab)")
# A filter value may not hold the filter syntax's own separators.
_FILTER_VALUE = validate.Regexp(r"^[^,:\[\]]{1,255}$",
                                error="up to 255 characters without , : [ or ]")
MB = 1024 * 1024


def _luid(description: str, required: bool = False) -> fields.String:
    return fields.String(required=required, validate=_LUID,
                         metadata={"description": description})


class TableauSettings(Schema):
    server_url = fields.Url(
        require_tld=False, schemes={"https", "http"},
        metadata={"destination": True, "example": "https://10ay.online.tableau.com",
                  "description": "Tableau Server URL, or the Tableau Cloud pod URL "
                                 "(https://10ay.online.tableau.com)"})
    site_content_url = fields.String(
        load_default="", validate=validate.Regexp(r"^[A-Za-z0-9_-]{0,128}$",
                                                  error="the site's content URL: mysite in "
                                                        "/#/site/mysite/ (empty: the default "
                                                        "site)"),
        metadata={"description": "Site content URL (mysite in .../#/site/mysite/); empty for "
                                 "the default site of Tableau Server"})
    api_version = fields.String(
        load_default=DEFAULT_VERSION,
        validate=validate.Regexp(r"^[0-9]\.[0-9]{1,2}$", error="a REST API version such as 3.22"),
        metadata={"description": "REST API version (3.22 = Tableau 2024.1; Cloud supports the "
                                 "newest)"})

    @validates_schema
    def _somewhere(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if not partial and not data.get("server_url") and not data.get("base_url"):
            raise ValidationError("give the server URL", field_name="server_url")


class TableauCredentials(Schema):
    token_name = fields.String(
        required=True, validate=validate.Length(min=1, max=255),
        metadata={"description": "Personal access token name", "example": "atom-automation"})
    token_secret = fields.String(
        required=True, validate=validate.Length(min=10, max=512),
        metadata={"secret": True, "description": "Personal access token secret",
                  "example": "qlE1g9MMh9vbrjjg==:rZTHhPpP2tUW1kfn4tjg8"})
    webhook_token = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{32,128}$",
                                 error="32 to 128 letters, digits, - or _ (URL-safe)"),
        metadata={"secret": True,
                  "description": "Secret for the webhook URL: register "
                                 "https://<atom>/hooks/tableau/<connection id>?atom_token=<it> "
                                 "(Tableau signs no webhook)"})


class _Listing(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many items"})


class ListWorkbooksInput(_Listing):
    name = fields.String(validate=_FILTER_VALUE, metadata={"description": "Exact name"})
    project_name = fields.String(validate=_FILTER_VALUE)
    owner_name = fields.String(validate=_FILTER_VALUE)
    tag = fields.String(validate=_FILTER_VALUE)
    updated_after = fields.AwareDateTime(metadata={"description": "Only workbooks updated "
                                                                  "after this time"})


class ListViewsInput(_Listing):
    workbook_id = _luid("Only this workbook's views")
    name = fields.String(validate=_FILTER_VALUE, metadata={"description": "Exact view name"})


class RefreshExtractInput(Schema):
    workbook_id = _luid("Refresh this workbook's extracts")
    datasource_id = _luid("Refresh this published data source's extract")

    @validates_schema
    def _one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("workbook_id")) == bool(data.get("datasource_id")):
            raise ValidationError("give workbook_id or datasource_id", field_name="workbook_id")


class GetJobInput(Schema):
    job_id = _luid("The job (from refresh_extract)", required=True)


class _Export(Schema):
    view_id = _luid("The view (sheet or dashboard)", required=True)
    filters = fields.Dict(keys=fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9 _().-]{1,100}$", error="a field name (letters, digits, spaces, _ . - ( ))")),
        values=fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=20),
        metadata={"description": "View filters: {field: value} sent as vf_<field>=value"})
    max_age_minutes = fields.Integer(validate=validate.Range(min=1, max=240 * 60),
                                     metadata={"description": "Accept a cached rendering this "
                                                              "old"})


class ExportCsvInput(_Export):
    max_bytes = fields.Integer(load_default=5 * MB, validate=validate.Range(min=1, max=20 * MB),
                               metadata={"description": "Refuse bigger exports"})


class ExportImageInput(_Export):
    resolution = fields.String(load_default="high", validate=validate.OneOf(("standard", "high")))
    max_bytes = fields.Integer(load_default=2 * MB, validate=validate.Range(min=1, max=10 * MB),
                               metadata={"description": "Refuse bigger images (the PNG is "
                                                        "returned as base64)"})
