"""Supervision and evaluation (监督评价): departments and windows scored with star levels."""
