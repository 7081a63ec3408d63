"""個人番号 tokenization at the edge.

The raw number never passes this module: it is validated and replaced by
HMAC-SHA256 under a key from configuration (``ONESOURCE_MY_NUMBER_KEY``) or,
on the embedded default, a key generated on first use in the keys folder
with owner-only permissions. Tokens are domain-separated like the national
機関別符号: the ingestion token (domain ``identity``) is what linkage joins
on; any mart that needs a pseudonym derives its own with :meth:`derive`, so
a token leaked from one use cannot be joined to another.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from core.ids import my_number_valid
from core.keys import KeyError_, load_or_create_key  # noqa: F401 - KeyError_ re-exported
from core.settings import Settings, get_settings

KEY_FILE = "my_number.key"
TOKEN_VERSION = b"onesource/my_number/v1"
IDENTITY_DOMAIN = "identity"


def load_key(settings: Settings | None = None) -> bytes:
    """The HMAC key: from configuration, else the generated embedded default (created 0600 on first use)."""
    settings = settings or get_settings()
    return load_or_create_key(settings, settings.my_number_key, "ONESOURCE_MY_NUMBER_KEY", KEY_FILE)


class Tokenizer:
    """Validates 個人番号 and turns them into domain-separated tokens."""

    def __init__(self, key: bytes, domain: str = IDENTITY_DOMAIN) -> None:
        self._key = hmac.new(key, TOKEN_VERSION + b"\x00" + domain.encode(), hashlib.sha256).digest()
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)  # copied per value: no key schedule each time
        self.domain = domain

    def token(self, value: object) -> str | None:
        """The token of a valid number; None when it is empty or fails its check digit."""
        digits = value if (type(value) is str and len(value) == 12 and value.isascii()) else normalize_digits(value)
        if not my_number_valid(digits):
            return None
        mac = self._mac.copy()
        mac.update(digits.encode())
        return mac.hexdigest()

    @staticmethod
    def derive(token: str, domain: str, key: bytes) -> str:
        """A token for another use, computed from the identity token (one derivation per use)."""
        sub = hmac.new(key, TOKEN_VERSION + b"\x00derive\x00" + domain.encode(), hashlib.sha256).digest()
        return hmac.new(sub, token.encode(), hashlib.sha256).hexdigest()


def normalize_digits(value: object) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text.replace("-", "").replace(" ", "")

