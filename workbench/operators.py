"""The workbench's operators: personal sign-ins for the data team's stewards (a reviewer's name goes on every
decision). Passwords are generated, shown once and kept only as scrypt hashes in the keys folder."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path

from core.settings import Settings

NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}


def _file(settings: Settings) -> Path:
    return settings.keys_dir / "workbench_operators.json"


def _load(settings: Settings) -> dict[str, dict]:
    path = _file(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save(settings: Settings, operators: dict[str, dict]) -> None:
    path = _file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(operators, indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT).hex()


def add_operator(settings: Settings, name: str) -> str:
    """Create (or reset) an operator; returns the new password, which is not kept."""
    if not NAME.match(name):
        raise ValueError("an operator name is 2-32 characters: lower-case letters, digits, . _ - (starting with a "
                         "letter)")
    password = secrets.token_urlsafe(18)
    salt = secrets.token_bytes(16)
    operators = _load(settings)
    operators[name] = {"salt": salt.hex(), "hash": _hash(password, salt)}
    _save(settings, operators)
    return password


def remove_operator(settings: Settings, name: str) -> bool:
    operators = _load(settings)
    if operators.pop(name, None) is None:
        return False
    _save(settings, operators)
    return True


def operators(settings: Settings) -> list[str]:
    return sorted(_load(settings))


def stamp(settings: Settings, name: str) -> str | None:
    """What a session remembers of its operator's sign-in: the salt of the password it was opened with (a new
    one at every reset). None once the operator is removed: the session ends with it."""
    record = _load(settings).get(name or "")
    return record["salt"] if record else None


def device_key(settings: Settings) -> bytes:
    """The key that signs the workbench's device cookies (kept in the keys folder, made at first use)."""
    path = settings.keys_dir / "workbench_device.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(secrets.token_bytes(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # the first process to make it wins; the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def verify(settings: Settings, name: str, password: str) -> bool:
    """Constant-time check; an unknown name costs the same as a wrong password."""
    record = _load(settings).get(name or "")
    salt = bytes.fromhex(record["salt"]) if record else b"\0" * 16
    digest = _hash(password or "", salt)
    return bool(record) and hmac.compare_digest(digest, record["hash"])
