"""Name, in the OpenAPI document, the refusals an operation answers.

Every refusal sends the one error body (:class:`qms.api.ErrorSchema`); flask-smorest
registers a response per HTTP status with it, and :func:`refusals` points an operation's
documented statuses at those, so a client reads which ones to expect.
"""

from http import HTTPStatus


def refusals(blp, *codes: int):
    """Document that the decorated view may answer each of ``codes`` with the error body."""

    def decorator(view):
        for code in codes:
            view = blp.alt_response(code, HTTPStatus(code).name)(view)
        return view

    return decorator
