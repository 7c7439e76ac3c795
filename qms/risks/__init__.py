"""Risks and opportunities (ISO 9001 §6.1): the register, its matrix, treatment and review."""
