"""Secret keys: from configuration, or generated once with owner-only permissions in the keys folder.

The platform holds two: the 個人番号 tokenization key (ingestion) and the access-log chain key (API).
Neither ever lives in the repository; ``Settings.keys_dir`` keeps generated ones outside it.
"""

from __future__ import annotations

import os
import secrets
import stat

from pydantic import SecretStr

from core.settings import Settings


class KeyError_(RuntimeError):
    """A key is missing, too short, unreadable or too open."""


def load_or_create_key(settings: Settings, configured: SecretStr | None, env_name: str, file_name: str) -> bytes:
    """The key given in configuration (``env_name``), else the one generated in ``keys_dir/file_name``."""
    if configured is not None:
        key = configured.get_secret_value().encode()
        if len(key) < 32:
            raise KeyError_(f"{env_name} must hold at least 32 bytes")
        return key
    path = settings.keys_dir / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyError_(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return bytes.fromhex(path.read_text().strip())
