"""Fixtures of the Tableau plugin tests: the documented fake and connections to it."""
from __future__ import annotations

import pytest

from tests.plugins.tableau.fake import SITE
from tests.plugins.tableau.fake import TOKEN_NAME
from tests.plugins.tableau.fake import TOKEN_SECRET
from tests.plugins.tableau.fake import FakeTableau

URL_TOKEN = "tableau-url-token-0123456789abcdefghij"


@pytest.fixture
def tableau():
    fake = FakeTableau().start()
    yield fake
    fake.stop()


@pytest.fixture
def connect(create_connection, tableau):
    def make(secret: str = TOKEN_SECRET, **settings):
        return create_connection(
            "tableau", settings={"base_url": tableau.url, "site_content_url": SITE,
                                 "max_attempts": 3, **settings},
            credentials={"token_name": TOKEN_NAME, "token_secret": secret,
                         "webhook_token": URL_TOKEN})
    return make
