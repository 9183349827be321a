"""Salesforce (REST API): records of any sObject, SOQL queries and object metadata; new and
changed records by polling.

Vendor references used (Salesforce publishes no OpenAPI description of the REST API):

- REST API Developer Guide: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
  (resources: ``dome_sobject_create.htm``, ``dome_update_fields.htm``, ``dome_upsert.htm``,
  ``dome_get_field_values.htm``, ``dome_query.htm`` with ``nextRecordsUrl``,
  ``dome_sobject_describe.htm``, ``dome_limits.htm``, ``headers_queryoptions.htm``
  (``Sforce-Query-Options: batchSize``), ``errorcodes.htm`` (status codes and the error body
  ``[{"message", "errorCode", "fields"}]``) and ``headers_api_usage.htm``
  (``Sforce-Limit-Info: api-usage=18/5000`` on every answer).
- OAuth 2.0 web server flow: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
  (``login.salesforce.com``/``test.salesforce.com``/My Domain; the token response carries
  ``instance_url``, ``id``, ``issued_at``, ``signature`` and no ``expires_in``; PKCE).
- SOQL: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
  (``FIELDS(STANDARD)``, date-time literals, ORDER BY, LIMIT).
- API request limits: https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
"""
