"""The standard system (标准体系): categories, external standards, service items and windows.

A service centre measures itself by the share of its service items (事项) that have
governing standards, and files every rating and complaint against an item and the
window (窗口) that handled it.
"""
