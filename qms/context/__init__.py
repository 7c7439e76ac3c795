"""Context of the organisation (ISO 9001 §4.1–4.3): issues, interested parties, legal register."""
