"""Stripe: customers, invoices, hosted checkout pages, charges and refunds; signed webhooks.

Vendor references used:
- API reference: https://docs.stripe.com/api (form-encoded bodies, nested ``a[b]=c``;
  https://docs.stripe.com/api/pagination for ``limit``/``starting_after``/``has_more``;
  https://docs.stripe.com/api/pagination/search for ``page``/``next_page``)
- Errors: https://docs.stripe.com/api/errors (``error.type``/``code``/``param``) and
  https://docs.stripe.com/error-low-level (``Stripe-Should-Retry``, 409 conflicts)
- Idempotency: https://docs.stripe.com/api/idempotent_requests
- Rate limits: https://docs.stripe.com/rate-limits (429, ``lock_timeout``)
- Webhooks: https://docs.stripe.com/webhooks#verify-manually (``Stripe-Signature``) and
  https://docs.stripe.com/api/events/types
- Contract: ``shared/specs/stripe.json`` (stripe/openapi, API version 2023-08-16, trimmed).
"""
