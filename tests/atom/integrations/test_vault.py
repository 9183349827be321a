"""Credentials at rest: Fernet encryption, MultiFernet key rotation, masking and merging."""
from __future__ import annotations

import string

import pytest
from cryptography.fernet import Fernet

from atom.integrations.vault import MASK
from atom.integrations.vault import Vault
from atom.integrations.vault import mask
from atom.integrations.vault import mask_credentials
from atom.integrations.vault import merge_credentials
from atom.settings import ConfigError

CREDS = {"token": "xoxb-1234567890-abcdefghijkl", "team": "T1", "nested": {"a": [1, 2]}}


def test_encrypt_then_decrypt_round_trips():
    vault = Vault([Fernet.generate_key().decode()])
    token = vault.encrypt(CREDS)
    assert "xoxb" not in token
    assert vault.decrypt(token) == CREDS
    assert vault.decrypt("") == {}


def test_decrypt_with_the_wrong_key_is_a_config_error():
    token = Vault([Fernet.generate_key().decode()]).encrypt(CREDS)
    with pytest.raises(ConfigError):
        Vault([Fernet.generate_key().decode()]).decrypt(token)


def test_rotation_reads_old_tokens_and_re_encrypts_under_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault([old]).encrypt(CREDS)
    rotated_vault = Vault([new, old])

    assert rotated_vault.decrypt(token) == CREDS  # old tokens still readable
    rotated = rotated_vault.rotate(token)
    assert rotated != token
    assert Vault([new]).decrypt(rotated) == CREDS  # now under the new key alone
    with pytest.raises(ConfigError):
        Vault([old]).decrypt(rotated)
    with pytest.raises(ConfigError):
        Vault([new]).decrypt(token)
    assert Vault([new]).decrypt(rotated_vault.encrypt(CREDS)) == CREDS  # new writes use the new key


def test_malformed_keys_are_a_config_error():
    with pytest.raises(ConfigError):
        Vault(["not-a-fernet-key"])


@pytest.mark.parametrize("length", range(1, 41))
def test_mask_never_returns_a_whole_secret(length):
    secret = (string.ascii_letters + string.digits)[:length]
    masked = mask(secret)
    assert masked != secret
    assert secret not in masked
    assert masked.startswith(MASK)
    assert len(masked) - len(MASK) <= 4  # at most the last four characters
    if length < 16:
        assert masked == MASK  # short secrets reveal nothing


def test_mask_credentials_masks_only_secret_fields():
    masked = mask_credentials(CREDS, {"token"})
    assert masked["token"] == MASK + "ijkl"
    assert masked["team"] == "T1"


def test_merge_keeps_a_stored_secret_when_its_mask_comes_back():
    stored = {"token": "xoxb-1234567890-abcdefghijkl", "pin": "1234", "team": "T1"}
    incoming = mask_credentials(stored, {"token", "pin"}) | {"team": "T2"}
    merged = merge_credentials(stored, incoming, {"token", "pin"})
    assert merged == {"token": "xoxb-1234567890-abcdefghijkl", "pin": "1234", "team": "T2"}


def test_merge_replaces_a_secret_when_a_new_value_comes():
    stored = {"token": "xoxb-1234567890-abcdefghijkl"}
    merged = merge_credentials(stored, {"token": "xoxb-new-value-0000000000"}, {"token"})
    assert merged == {"token": "xoxb-new-value-0000000000"}



def test_a_non_string_secret_is_masked_too():
    from atom.integrations.vault import MASK
    from atom.integrations.vault import mask

    assert mask(123456789) == MASK
    assert mask(None) is None and mask("") == ""


def test_a_mask_of_some_other_secret_is_refused_not_stored():
    import pytest

    from atom.integrations.errors import ValidationFailed
    from atom.integrations.vault import merge_credentials

    stored = {"token": "tok-0123456789abcdef-real"}
    with pytest.raises(ValidationFailed) as info:
        merge_credentials(stored, {"token": "********zzzz"}, {"token"})
    assert "token" in info.value.details["credentials"]
