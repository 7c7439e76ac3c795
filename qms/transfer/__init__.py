"""Bringing an existing quality system in, and taking everything out: import, export,
backup and restore, and mirroring the document repository to another git remote."""
