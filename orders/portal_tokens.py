"""Client-link tokens: 256-bit HMAC of a random nonce under the site secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

_CONTEXT = b"reeldesk.portal-link.v1:"


def new_nonce() -> str:
    return secrets.token_hex(32)


def token_for_nonce(nonce: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), _CONTEXT + nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before any database lookup (43 url-safe base64 characters)."""
    return len(token) == 43 and all(c.isalnum() or c in "-_" for c in token)
