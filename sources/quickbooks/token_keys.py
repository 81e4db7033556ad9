"""The token store's encryption keys: made by `qbo keygen`, checked before anything is stored with them.

A key that is not a Fernet key (the example file's placeholder, a truncated paste) is named by its
position in the setting, never by its value, with the command that makes a good one; `qbo connect`
checks this before the consent URL is printed, so a consent is never spent on tokens it cannot store.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, MultiFernet

from sources.quickbooks.token_schema import TokenStoreError

KEYS_SETTING = "sources.quickbooks.token_encryption_keys (env SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS)"


class KeyProblem(TokenStoreError):
    """The configured token encryption keys are missing or malformed (before any row is read)."""


def generate_key() -> str:
    """A new encryption key for the token store (put it first in the key list)."""
    return Fernet.generate_key().decode("ascii")


def fernet_of(keys: Sequence[str | bytes] | str) -> MultiFernet:
    """The keys as one MultiFernet; KeyProblem (one line: the setting, what is wrong, `qbo keygen`)."""
    if isinstance(keys, str | bytes):
        raw = keys.decode() if isinstance(keys, bytes) else keys
        keys = [k for k in raw.replace(",", " ").split() if k]
    if not keys:
        raise KeyProblem(
            f"no token encryption key configured: make one with `qbo keygen` and set {KEYS_SETTING}"
        )
    fernets = []
    for n, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            example = " (it is still the example's placeholder)" if "keygen" in str(key) else ""
            raise KeyProblem(
                f"token encryption key #{n} of {KEYS_SETTING} is not a Fernet key{example}: make one "
                "with `qbo keygen` and put it there (in .dlt/secrets.toml or the environment)"
            ) from None
    return MultiFernet(fernets)
