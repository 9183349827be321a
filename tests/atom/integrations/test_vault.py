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


# -- re-reading the key source (a rotation run by another process) ------------------------------


class Source:
    """A key source that counts its reads."""

    def __init__(self, raw: str) -> None:
        self.raw, self.reads = raw, 0

    def __call__(self) -> str:
        self.reads += 1
        if isinstance(self.raw, Exception):
            raise self.raw
        return self.raw


def test_a_token_under_a_key_added_to_the_source_decrypts_after_one_re_read():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    source = Source(old)
    vault = Vault([old], source)
    assert vault.decrypt(vault.encrypt(CREDS)) == CREDS
    assert source.reads == 0  # nothing is re-read while tokens decrypt
    source.raw = f"{new},{old}"
    token = Vault([new]).encrypt(CREDS)
    assert vault.decrypt(token) == CREDS and vault.decrypt_text(Vault([new]).encrypt_text("s")) == "s"
    assert source.reads == 1
    assert Vault([new]).decrypt(vault.encrypt(CREDS)) == CREDS  # new writes use the new key


def test_re_reads_are_rate_limited_so_a_bad_token_cannot_read_the_file_per_request():
    key = Fernet.generate_key().decode()
    source = Source(key)
    vault = Vault([key], source, reload_interval=60)
    bad = Vault([Fernet.generate_key().decode()]).encrypt(CREDS)
    for _ in range(50):
        with pytest.raises(ConfigError):
            vault.decrypt(bad)
    assert source.reads == 1


def test_re_reading_again_after_the_interval():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    source = Source(old)
    vault = Vault([old], source, reload_interval=0.05)
    token = Vault([new]).encrypt(CREDS)
    with pytest.raises(ConfigError):
        vault.decrypt(token)  # re-read: the source has not changed yet
    source.raw = f"{new},{old}"
    import time

    time.sleep(0.06)
    assert vault.decrypt(token) == CREDS
    assert source.reads == 2


@pytest.mark.parametrize("broken", ["not-a-key", "", OSError("file is gone")])
def test_a_broken_source_keeps_the_loaded_keys(broken):
    key = Fernet.generate_key().decode()
    vault = Vault([key], Source(broken), reload_interval=0)
    token = vault.encrypt(CREDS)
    with pytest.raises(ConfigError):
        vault.decrypt(Vault([Fernet.generate_key().decode()]).encrypt(CREDS))
    assert vault.decrypt(token) == CREDS


def test_without_a_source_the_keys_are_fixed():
    vault = Vault([Fernet.generate_key().decode()])
    with pytest.raises(ConfigError):
        vault.decrypt(Vault([Fernet.generate_key().decode()]).encrypt(CREDS))


def test_secret_strings_round_trip_and_rotate():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault([old]).encrypt_text("wf-secret-value")
    assert "wf-secret-value" not in token
    rotated = Vault([new, old]).rotate(token)
    assert Vault([new]).decrypt_text(rotated) == "wf-secret-value"
    assert Vault([new]).decrypt_text("") == ""


def test_after_new_keys_the_next_rotation_is_picked_up_at_once():
    k0, k1, k2 = (Fernet.generate_key().decode() for _ in range(3))
    source = Source(f"{k1},{k0}")
    vault = Vault([k0], source, reload_interval=60)
    assert vault.decrypt(Vault([k1]).encrypt(CREDS)) == CREDS
    source.raw = f"{k2},{k1}"
    assert vault.decrypt(Vault([k2]).encrypt(CREDS)) == CREDS
    bad = Vault([Fernet.generate_key().decode()]).encrypt(CREDS)
    for _ in range(20):
        with pytest.raises(ConfigError):
            vault.decrypt(bad)
    assert source.reads == 3  # two productive re-reads, then one for all the bad tokens
