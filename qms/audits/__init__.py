"""Internal audits: the yearly programme, independent plans, checklists, findings, reports."""
