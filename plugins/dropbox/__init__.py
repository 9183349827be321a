"""Dropbox (API v2): upload files (one request up to a chunk, upload sessions above), create
folders, list folders with cursors, read metadata, share links, delete, stream files to and from
other connections; file-added and file-changed triggers polled from a ``list_folder`` cursor and
made due at once by signed webhook notifications.

References used:

- HTTP API: https://www.dropbox.com/developers/documentation/http/documentation (routes, the
  "Request and response formats", "Path formats" and "Errors" sections)
- Webhooks: https://www.dropbox.com/developers/reference/webhooks
- OAuth: https://developers.dropbox.com/oauth-guide and
  https://www.dropbox.com/developers/documentation/http/documentation#oauth2-authorize
- Upload sessions: https://developers.dropbox.com/dbx-performance-guide
- The official SDK's client (``dropbox/dropbox-sdk-python`` ``dropbox/dropbox_client.py``):
  hosts, refresh on ``expired_access_token``, 429 ``retry_after``.

Dropbox publishes no OpenAPI description: the contract is the documented fake in
``tests/plugins/dropbox/fake.py``.
"""
