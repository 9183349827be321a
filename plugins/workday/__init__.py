"""Workday (REST API and Reports-as-a-Service): workers, custom reports as JSON, new hires by
polling a report.

Workday's own documentation (community.workday.com, doc.workday.com) is behind a customer
login; what this plugin relies on comes from public third-party references, and every fact
not confirmed by them is marked "(verify)":

- API client for integrations, refresh-token grant and the token endpoint
  ``https://{host}/ccx/oauth2/{tenant}/token``:
  https://nango.dev/docs/api-integrations/workday-refresh-token/connect ,
  https://help.merge.dev/en/articles/9891389-workday-how-do-i-link-using-oauth ,
  https://docs.workato.com/connectors/workday-rest/connection-setup
- REST workers ``/ccx/api/v1/{tenant}/workers`` (``limit``/``offset`` paging with ``total``;
  worker fields ``id``, ``descriptor``, ``href``, ``primaryWorkEmail``, ``businessTitle``,
  ``isManager``, ``primarySupervisoryOrganization``, ``location`` ...):
  https://docs.workato.com/connectors/workday-rest/new-worker-trigger.html ,
  https://www.servicenow.com/docs/r/australia/integrate-applications/integration-hub/rest-wd-hr-spoke.html ,
  https://knowledgelib.io/business/erp-integration/workday-rest-soap-api-capabilities/2026
- RaaS ``/ccx/service/customreport2/{tenant}/{owner}/{report}?format=json`` with prompts as
  query parameters, answering ``{"Report_Entry": [...]}``:
  https://apis.apis.io/apis/workday/raas-api/ ,
  https://knowledgelib.io/business/erp-integration/workday-raas-integration/2026
"""
