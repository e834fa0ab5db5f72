"""Editors, their passwords and API tokens, and the web app's session secret.

Passwords: scrypt (n=2**14, r=8, p=1) with a 16-byte salt per editor, stored as
``scrypt$n$r$p$salt_hex$hash_hex``. API tokens: 32 random bytes, shown once; the catalog
keeps only their sha256 (a random token needs no salt or slow hash). A new password or token
ends the editor's web sessions: whoever held the old credential is signed out.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from tagger.review.decisions import ReviewError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
TOKEN_PREFIX = "tgr_"
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                            dklen=len(expected) // 2)
    return hmac.compare_digest(digest.hex(), expected)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def add_editor(catalog, name: str, password: str) -> str:
    """Create an editor; returns the API token (the only time it is seen)."""
    if not _NAME.match(name):
        raise ReviewError(f"editor name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                          "letter or digit")
    _check_password(name, password)
    if catalog.editor_exists(name):
        raise ReviewError(f"editor {name!r} already exists in {catalog.path}; `tagger editors token {name}` "
                          "makes a new token")
    token = new_token()
    catalog.create_editor(name, password_hash=hash_password(password), token_hash=hash_token(token))
    return token


def new_editor_token(catalog, name: str) -> str:
    """Replace an editor's API token (the old one stops working, and so do the editor's web
    sessions); returns the new one."""
    token = new_token()
    with catalog.transaction():
        if not catalog.set_editor_token_hash(name, hash_token(token)):
            raise ReviewError(f"no editor {name!r} in {catalog.path}")
        catalog.end_editor_sessions(name)
    return token


def set_password(catalog, name: str, password: str) -> None:
    """Give an editor a new password; the editor's web sessions end."""
    _check_password(name, password)
    password_hash = hash_password(password)
    with catalog.transaction():
        if not catalog.set_editor_password_hash(name, password_hash):
            raise ReviewError(f"no editor {name!r} in {catalog.path}")
        catalog.end_editor_sessions(name)


def _check_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ReviewError(f"editor {name!r}: password must have at least {MIN_PASSWORD_CHARS} characters")


def editor_by_password(catalog, name: str, password: str) -> str | None:
    stored = catalog.editor_password_hash(name)
    if stored is None:
        hash_password(password)   # same work either way, so timing does not reveal names
        return None
    return name if verify_password(password, stored) else None


def editor_by_token(catalog, token: str) -> str | None:
    return catalog.editor_with_token_hash(hash_token(token))


def session_secret(catalog) -> str:
    """The key that signs session cookies: made once per catalog and kept in it."""
    return catalog.setting("session_secret", default=lambda: secrets.token_hex(32))
