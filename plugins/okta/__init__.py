"""Okta: users and groups through the Management API; event hooks for user lifecycle and group
membership.

Vendor references used:
- Management API and its OpenAPI description (okta/okta-management-openapi-spec,
  ``shared/specs/okta.json``): https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/,
  .../tag/Group/.
- API tokens (``Authorization: SSWS <token>``): https://developer.okta.com/docs/guides/create-an-api-token/
- Service apps (client credentials with ``private_key_jwt``, ``okta.*`` scopes):
  https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/
- Errors (``errorCode``, ``errorSummary``, ``errorCauses``): https://developer.okta.com/docs/reference/error-codes/
- Rate limits (``X-Rate-Limit-Limit/-Remaining/-Reset``, E0000047):
  https://developer.okta.com/docs/reference/rate-limits/
- Pagination (``Link: <...>; rel="next"``): https://developer.okta.com/docs/api/#pagination
- Event hooks (verification challenge, authorization header, ``data.events[]``):
  https://developer.okta.com/docs/concepts/event-hooks/
"""
