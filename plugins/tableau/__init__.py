"""Tableau (Server and Cloud) REST API: workbooks, views, extract refreshes, jobs, view exports;
site webhooks.

Vendor reference pages this plugin follows (Tableau publishes no OpenAPI description; the plugin
is contract-tested against tests/plugins/tableau/fake.py):

- Sign in with a personal access token, ``X-Tableau-Auth``, session lifetime:
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_concepts_auth.htm ,
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_authentication.htm
- Workbooks and views (Query Workbooks for Site, Query Views for Site / for Workbook, Query View
  Data, Query View Image, Update Workbook Now):
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_workbooks_and_views.htm
- Update Data Source Now:
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_data_sources.htm
- Query Job: https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_jobs_tasks_and_schedules.htm
- Paging (``pageSize`` <= 1000, ``pageNumber``, ``pagination.totalAvailable``) and filters
  (``field:operator:value``): https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_concepts_paging.htm ,
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_concepts_filtering_and_sorting.htm
- Errors (``{"error": {"summary", "detail", "code"}}``, codes such as 401001, 401002, 404006):
  https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_errors.htm (verify
  the codes per endpoint)
- Webhooks (events, payloads, no signature, duplicates, three retries):
  https://help.tableau.com/current/developer/webhooks/en-us/ and the tableau/webhooks-docs
  README. Tableau does not sign webhook deliveries: the receiver URL carries a secret token
  (``?atom_token=``, scheme ``tableau_url_token`` in atom/integrations/webhooks.py).
"""
