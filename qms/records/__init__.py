"""Controlled record forms and the records staff fill in."""
