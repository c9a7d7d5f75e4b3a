"""API rate limits that fail open: the cache (Redis) is a helper, never a gate.

DRF's throttles read and write the cache on every request. If Redis is paused or down,
the stock classes raise and the API answers 500 for everyone; these let the request
through and log the outage instead.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception:  # any cache backend error
            log.warning("API throttle skipped: the cache is unavailable", exc_info=True)
            return True


class AnonThrottle(_FailOpen, AnonRateThrottle):
    pass


class UserThrottle(_FailOpen, UserRateThrottle):
    pass
