"""Analyst accounts (scrypt password hashes), signed expiring sessions and CSRF tokens.

A session is a cookie ``<payload>.<hmac>``: the payload (base64url JSON) names the
analyst, the expiry and a random CSRF token; the HMAC-SHA256 key is the ``admin_secret``
setting (or a random key generated once into ``<var_dir>/admin-secret``). The admin page
sends the CSRF token back in ``X-CSRF-Token`` on every state-changing request; scripts use
``Authorization: Bearer <admin_token>`` instead and need no CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from iara.admin.errors import ConflictError, InvalidChangeError, NotAuthenticatedError
from iara.admin.models import AdminUser
from iara.db import Database
from iara.settings import Settings

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TOKEN_USER = "token"  # the actor name of bearer-token calls
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32,
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def add_user(db: Database, username: str, password: str) -> None:
    username = username.strip().lower()
    if not username or not set(username) <= USERNAME_CHARS or len(username) > 100:
        raise InvalidChangeError("Nome de usuário inválido: use letras, números, '.', '_', "
                                 "'-' ou '@'.")
    if len(password) < 10:
        raise InvalidChangeError("A senha precisa de pelo menos 10 caracteres.")
    with db.session() as session:
        if session.scalars(select(AdminUser).where(AdminUser.username == username)).first():
            raise ConflictError(f"O usuário {username!r} já existe.")
        session.add(AdminUser(username=username, password_hash=hash_password(password)))


def authenticate(db: Database, username: str, password: str) -> str:
    """The analyst's name, or NotAuthenticatedError (same message for any failure)."""
    with db.session() as session:
        user = session.scalars(select(AdminUser).where(
            AdminUser.username == username.strip().lower())).first()
        stored = user.password_hash if user else None
    # Hash even for unknown users, so timing does not tell which names exist.
    ok = verify_password(password, stored or hash_password("x" * 12)) and stored is not None
    if not ok:
        raise NotAuthenticatedError("Usuário ou senha incorretos.")
    return username.strip().lower()


def session_key(settings: Settings) -> bytes:
    if settings.admin_secret is not None and settings.admin_secret.get_secret_value():
        return settings.admin_secret.get_secret_value().encode()
    path = settings.var_dir / "admin-secret"
    if not path.exists():
        _write_secret(path)
    return path.read_text(encoding="utf-8").strip().encode()


def _write_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)  # first writer wins; others keep its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


@dataclass(frozen=True)
class AdminSession:
    user: str
    expires: float
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_session(key: bytes, user: str, minutes: int, now: float | None = None
                  ) -> tuple[str, AdminSession]:
    session = AdminSession(user, (now or time.time()) + minutes * 60,
                           secrets.token_urlsafe(24))
    payload = _b64(json.dumps({"u": session.user, "e": session.expires,
                               "c": session.csrf}).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}", session


def read_session(key: bytes, cookie: str | None, now: float | None = None) -> AdminSession:
    if not cookie or "." not in cookie:
        raise NotAuthenticatedError("Entre com seu usuário e senha.")
    payload, mac = cookie.rsplit(".", 1)
    expected = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        raise NotAuthenticatedError("Sessão inválida: entre novamente.")
    data = json.loads(_unb64(payload))
    if float(data["e"]) < (now or time.time()):
        raise NotAuthenticatedError("Sua sessão expirou: entre novamente.")
    return AdminSession(str(data["u"]), float(data["e"]), str(data["c"]))


def token_matches(settings: Settings, presented: str) -> bool:
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    return bool(token) and hmac.compare_digest(presented.encode(), token.encode())
