"""The web chat's safety: the session cookie, CSRF tokens, same-origin checks and headers."""
from __future__ import annotations

import hmac
import re
import secrets
from typing import Optional
from urllib.parse import urlsplit

from aiohttp import web

from bot.identity import Pseudonymizer

SESSION_COOKIE = "coproduce_session"
# No timeouts: a participant can come back on the same device a long time later.
SESSION_MAX_AGE = 400 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "media-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes form posts say Origin: null
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def new_session_token() -> str:
    """A random, unguessable session token for a new participant's device."""
    return secrets.token_urlsafe(32)


def session_token(request: web.Request) -> Optional[str]:
    """The session token from the request's cookie, or None when there is no valid one."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return token if _TOKEN.match(token) else None


def set_session_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    """Keep the session token on this device: HttpOnly, SameSite=Lax, for a long time."""
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, path="/",
                        httponly=True, samesite="Lax", secure=secure)


def sender_for(pseudonymizer: Pseudonymizer, token: str) -> str:
    """The Rasa sender id for a session: a keyed hash, so Rasa never sees the token."""
    return pseudonymizer.pseudonym(token, channel="web")


def csrf_token(pseudonymizer: Pseudonymizer, token: str) -> str:
    """The form token tied to a session; keyed, so only this server can make it."""
    return pseudonymizer.pseudonym(token, channel="web-csrf")


def csrf_ok(pseudonymizer: Pseudonymizer, token: Optional[str], offered: str) -> bool:
    """True when the form token sent matches the session's own."""
    if not token or not offered:
        return False
    return hmac.compare_digest(csrf_token(pseudonymizer, token), offered)


def same_origin(request: web.Request) -> bool:
    """False when the browser says a post came from another site (no Origin header is allowed)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.host


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Put the security headers on every response, pages, files and errors alike."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
