"""Notices to people about the document workflow: in the app, and by mail from the worker.

A notice is one row per person and occasion (a revision submitted, a revision they must
read released, a periodic review coming due), so each is shown and mailed once however
often the occasion is seen again. The home page lists the unread ones; the job runner
mails them in the recipient's language.
"""
