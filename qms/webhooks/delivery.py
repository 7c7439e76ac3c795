"""Signing and sending one delivery: the HTTP side of webhooks, and nothing else.

The stdlib's urllib is enough for one POST with a short timeout; ``requests`` is not a
dependency of the project. Redirects are not followed: a POST that a receiver moved is
a failure its administrator should see, not one to be re-sent somewhere else as a GET.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

USER_AGENT = "QMS-Webhooks/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the ``X-QMS-Signature`` of ``body``: HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def headers(event: str, uid: str, secret: str, body: bytes, timestamp: str | None = None) -> dict:
    """Return the headers of one attempt; the timestamp is the attempt's, in Unix seconds."""
    timestamp = timestamp or str(int(time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-QMS-Event": event,
        "X-QMS-Delivery": uid,
        "X-QMS-Timestamp": timestamp,
        "X-QMS-Signature": signature(secret, timestamp, body),
    }


@dataclass(frozen=True)
class Answer:
    """What the receiver answered: its status (None when none came) and an error, if any."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx is then raised as an HTTPError: a failed attempt


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, sent_headers: dict, timeout: float) -> Answer:
    """POST ``body`` to ``url``; never raises, whatever the network or the receiver does."""
    request = urllib.request.Request(url, data=body, headers=sent_headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(4096)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(exc.code, f"HTTP {exc.code} {exc.reason}"[:500])
    except urllib.error.URLError as exc:
        return Answer(None, str(exc.reason)[:500])
    except (OSError, ValueError) as exc:  # a timeout while reading, a malformed answer
        return Answer(None, (str(exc) or type(exc).__name__)[:500])
    if 200 <= status < 300:
        return Answer(status, None)
    return Answer(status, f"HTTP {status}")
