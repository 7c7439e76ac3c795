"""Monitoring and measuring resources (ISO 9001 §7.1.5): the equipment register."""
