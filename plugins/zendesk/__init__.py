"""Zendesk Support: tickets (create, update, comment, read, search) and ticket webhooks.

Vendor reference pages this plugin follows (Zendesk publishes no openly licensed OpenAPI
description here, so it is contract-tested against tests/plugins/zendesk/fake.py):

- Tickets: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
- Ticket comments: https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
- Search: https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/
- Users (``/users/me``): https://developer.zendesk.com/api-reference/ticketing/users/users/
- Authentication (API token as ``{email}/token:{api_token}``, OAuth):
  https://developer.zendesk.com/api-reference/introduction/security-and-auth/
- Errors: https://developer.zendesk.com/api-reference/introduction/requests/ (``RecordInvalid``)
- Rate limits: https://developer.zendesk.com/api-reference/introduction/rate-limits/
- Webhooks, ticket events and verification:
  https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/ ,
  https://developer.zendesk.com/documentation/webhooks/verifying/
"""
