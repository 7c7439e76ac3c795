"""Outgoing webhooks: signed HTTP notices of quality events, retried by the job runner.

Other domains call :func:`emit` inside their unit of work, e.g. the ratings package::

    from qms import webhooks

    webhooks.emit("rating.poor", {"window": "A-12", "score": 1, ...})

The events are listed once, in :data:`EVENTS`.
"""

from qms.webhooks.models import EVENTS
from qms.webhooks.services import emit

__all__ = ["EVENTS", "emit"]
