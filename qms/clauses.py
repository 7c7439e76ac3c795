"""ISO 9001 clause numbers in the order of the standard: 4.1 before 10.1, 8.5 before 8.5.1.

Stored as text, clauses sort as text ("10.1" < "4.1"); every list of clauses a page, an
export or an API answer shows is put in order with :func:`clause_key` instead.
"""

from __future__ import annotations

from collections.abc import Iterable


def clause_key(clause: str) -> tuple:
    """Return the sort key of a clause number: its parts as numbers, text after them."""
    parts = []
    for part in str(clause).strip().split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


def in_order(clauses: Iterable[str]) -> list[str]:
    """Return ``clauses`` sorted as the standard numbers them."""
    return sorted(clauses, key=clause_key)
