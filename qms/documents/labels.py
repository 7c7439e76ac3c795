"""The names of document types, states and signature meanings in the user's language."""

from flask_babel import gettext as _


def status_label(status: str) -> str:
    """Return a revision or document status in the user's language."""
    return {
        "draft": _("draft"),
        "in_review": _("in review"),
        "approved": _("approved"),
        "scheduled": _("released, not yet effective"),
        "effective": _("effective"),
        "superseded": _("superseded"),
        "obsolete": _("obsolete"),
    }.get(status, status)


def type_label(doc_type: str) -> str:
    """Return a document type in the user's language."""
    return {
        "manual": _("Quality manual"),
        "procedure": _("Procedure"),
        "work_instruction": _("Work specification"),
        "record_form": _("Record form"),
        "external": _("External document"),
    }.get(doc_type, doc_type)


def meaning_label(meaning: str) -> str:
    """Return what a signature means in the user's language."""
    return {
        "authored": _("authored"),
        "reviewed": _("reviewed"),
        "approved": _("approved"),
        "verified": _("verified"),
        "periodic_review": _("reviewed, no change"),
        "imported": _("imported"),
    }.get(meaning, meaning)


def cr_status_label(status: str) -> str:
    """Return a change request's status in the user's language."""
    return {
        "open": _("open"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "implemented": _("implemented"),
    }.get(status, status)
