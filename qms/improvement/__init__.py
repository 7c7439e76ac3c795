"""Nonconformities and corrective / preventive actions, traced to a verified closure."""
