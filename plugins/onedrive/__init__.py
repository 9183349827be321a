"""OneDrive and SharePoint document libraries through Microsoft Graph v1.0 drive items: upload
(simple, or an upload session in 320 KiB multiples), create folders, list children, read,
share and delete items, copy files in from other connections; new and changed files from the
drive's delta query, nudged by Graph change notifications.

References:
- driveItem and drive: https://learn.microsoft.com/graph/api/resources/driveitem ,
  https://learn.microsoft.com/graph/api/drive-get
- Simple upload: https://learn.microsoft.com/graph/api/driveitem-put-content ("This method only
  supports files up to 250 MB in size"; older revisions said 4 MB)
- Upload sessions: https://learn.microsoft.com/graph/api/driveitem-createuploadsession
  (fragments in multiples of 320 KiB, each under 60 MiB; no Authorization on the uploadUrl;
  202 with nextExpectedRanges; GET the uploadUrl for the status; 416 for a fragment already
  received)
- Children: https://learn.microsoft.com/graph/api/driveitem-list-children ; folders:
  https://learn.microsoft.com/graph/api/driveitem-post-children
- Download: https://learn.microsoft.com/graph/api/driveitem-get-content (302 to a
  pre-authenticated URL)
- Sharing links: https://learn.microsoft.com/graph/api/driveitem-createlink
- Delete: https://learn.microsoft.com/graph/api/driveitem-delete
- Delta: https://learn.microsoft.com/graph/api/driveitem-delta (``token=latest``,
  ``@odata.deltaLink``, 410 resync)
- Subscriptions: https://learn.microsoft.com/graph/api/resources/subscription (driveItem:
  ``updated`` only, at most 42,300 minutes) and
  https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
- Errors and throttling: https://learn.microsoft.com/graph/errors ,
  https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online
"""
