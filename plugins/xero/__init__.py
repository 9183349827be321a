"""Xero Accounting: contacts, sales invoices and bills; invoice and contact webhooks.

Vendor references used:
- Accounting API: https://developer.xero.com/documentation/api/accounting/overview
  (invoices https://developer.xero.com/documentation/api/accounting/invoices, contacts
  https://developer.xero.com/documentation/api/accounting/contacts; paging ``page=N``, 100 a
  page; ``If-Modified-Since``; ``where`` and ``Statuses`` filters)
- OAuth 2.0: https://developer.xero.com/documentation/guides/oauth2/auth-flow/ and
  https://developer.xero.com/documentation/guides/oauth2/pkce-flow/ (tenants from
  ``GET https://api.xero.com/connections``; refresh tokens are single-use)
- Errors and limits: https://developer.xero.com/documentation/api/accounting/responsecodes
  and https://developer.xero.com/documentation/guides/oauth2/limits/
- Idempotency: https://developer.xero.com/documentation/guides/idempotent-requests/idempotency/
- Webhooks: https://developer.xero.com/documentation/guides/webhooks/overview/ and
  .../configuring-your-server/ (``x-xero-signature``, intent to receive)
- Contract: ``shared/specs/xero.json`` (XeroAPI/Xero-OpenAPI ``xero_accounting.yaml``).
"""
