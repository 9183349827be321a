"""Box (https://www.box.com), Box Platform API 2.0.

Vendor references used: https://developer.box.com/reference/ (the API, also as
box/box-openapi, served by Prism from shared/specs/box.json),
https://developer.box.com/guides/uploads/chunked/ ,
https://developer.box.com/guides/downloads/file/ ,
https://developer.box.com/guides/authentication/ (OAuth2, JWT, Client Credentials Grant,
token refresh), https://developer.box.com/guides/api-calls/pagination/ ,
https://developer.box.com/guides/api-calls/permissions-and-errors/ ,
https://developer.box.com/guides/webhooks/v2/ and /signatures-v2/ .
"""
