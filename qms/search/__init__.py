"""Full-text search over documents, records, nonconformities and actions.

Other code writes to the index only through :func:`index` and :func:`remove`, and each
domain registers a provider with :func:`register_provider` so ``flask qms reindex`` can
rebuild everything from the source of truth.
"""

from qms.search.services import Entry, index, register_provider, reindex, remove, search

__all__ = ["Entry", "index", "register_provider", "reindex", "remove", "search"]
