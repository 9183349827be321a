"""The sample payloads of the Dropbox triggers (pure data): a FileMetadata entry of
``files/list_folder/continue`` (https://www.dropbox.com/developers/documentation/http/documentation#files-list_folder-continue),
shaped by :func:`plugins.dropbox.payloads.entry`."""
from __future__ import annotations

FILE = {
    "tag": "file",
    "id": "id:a4ayc_80_OEAAAAAAAAAXw",
    "name": "Prime_Numbers.txt",
    "path_lower": "/homework/math/prime_numbers.txt",
    "path_display": "/Homework/math/Prime_Numbers.txt",
    "rev": "a1c10ce0dd78",
    "size": 7212,
    "client_modified": "2015-05-12T15:50:38Z",
    "server_modified": "2015-05-12T15:50:38Z",
    "content_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "is_downloadable": True,
}
