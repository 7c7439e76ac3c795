"""Competence and training (ISO 9001 §7.2, §7.3): positions, records and the matrix."""
