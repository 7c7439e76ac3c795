"""URL helpers."""

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return ``target`` only when it is a path on this site, so a login cannot redirect away."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
