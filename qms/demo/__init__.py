"""Load the demo: the starter QMS in ``documents/`` with history, and the system at work.

The documents, departments and users are loaded here; records, nonconformities, audits,
objectives, feedback and a management review follow in :mod:`qms.demo.activity`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from qms import ROOT, clock, render
from qms.auth.models import User
from qms.auth.services import create_user, get_or_create_department
from qms.documents import services
from qms.documents.models import Document
from qms.extensions import db
from qms.uow import transactional

DEPARTMENTS = (
    "Quality Office",
    "Service Hall",
    "Business Approval Department",
    "Certificate Issuance Department",
    "Complaints and Supervision Office",
    "General Affairs Office",
    "Information Technology Department",
)
# The starter documents name departments in English; a Chinese installation gets them in
# Chinese (Traditional by character conversion, like the documents).
DEPARTMENTS_ZH = {
    "Quality Office": "质量管理办公室",
    "Service Hall": "政务服务大厅",
    "Business Approval Department": "业务审批科",
    "Certificate Issuance Department": "证照发放科",
    "Complaints and Supervision Office": "投诉监督室",
    "General Affairs Office": "综合办公室",
    "Information Technology Department": "信息技术科",
}
# (username, full name, roles, department, password): one user per role.
DEMO_USERS = (
    ("admin", "Ada Admin", ("admin",), "Information Technology Department", "admin-demo"),
    ("mrep", "Mei Rep", ("approver",), "Quality Office", "mrep-demo"),
    ("author", "Alan Author", ("author",), "Quality Office", "author-demo"),
    ("auditor", "Aud Itor", ("auditor",), "Business Approval Department", "auditor-demo"),
    ("staff", "Sam Staff", ("staff",), "Service Hall", "staff-demo"),
)
HISTORY_FILE = re.compile(r"^(?P<code>.+)@(?P<rev>[A-Z]+)\.md$")
# The offices of a demo in Chinese keep Beijing time: their "today" is that zone's date.
TIMEZONES = {"zh_Hans": "Asia/Shanghai", "zh_Hant": "Asia/Shanghai"}


def source_dir(lang: str) -> Path:
    return ROOT / "documents" / ("zh_Hans" if lang == "zh_Hant" else lang)


def to_traditional(text: str) -> str:
    """Return Simplified Chinese ``text`` in Traditional characters."""
    return _s2t().convert(text)


@cache
def _s2t():
    import opencc

    # Character conversion only: official terms (文件, 程序) keep their meaning. Built once:
    # loading the dictionaries takes far longer than converting a document.
    return opencc.OpenCC("s2t")


def read_source(path: Path, lang: str) -> str:
    text = path.read_text(encoding="utf-8")
    return to_traditional(text) if lang == "zh_Hant" else text


def starter_set(lang: str) -> list[tuple[dict, list[str]]]:
    """Return each starter document's front matter and its revisions' texts, parents first."""
    base = source_dir(lang)
    history: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((base / "_history").glob("*.md")):
        match = HISTORY_FILE.match(path.name)
        if match:
            history.setdefault(match["code"], []).append((match["rev"], read_source(path, lang)))
    docs = []
    for path in sorted(base.glob("*.md")):
        if path.name == "README.md":
            continue
        text = read_source(path, lang)
        meta, _body = render.split_front_matter(text)
        older = [t for _rev, t in sorted(history.get(meta["code"], []))]
        docs.append((meta, [*older, text]))
    order = {"manual": 0, "external": 1, "procedure": 2, "work_instruction": 3, "record_form": 4}
    docs.sort(key=lambda d: (order.get(d[0]["type"], 9), d[0]["code"]))
    return docs


def department_name(name: str, lang: str) -> str:
    """Return a starter department's name in the installation's language."""
    if lang == "en" or name not in DEPARTMENTS_ZH:
        return name
    if lang == "zh_Hant":
        return to_traditional(DEPARTMENTS_ZH[name])
    return DEPARTMENTS_ZH[name]


def timezone(lang: str) -> str | None:
    """Return the time zone a demo in ``lang`` is set in, or None (UTC)."""
    return TIMEZONES.get(lang)


@contextmanager
def _office_clock(lang: str) -> Iterator[None]:
    """Date the demo in its offices' zone, unless the installation names its own."""
    zone = timezone(lang)
    config = current_app.config
    if zone is None or config.get("QMS_TIMEZONE") not in (None, "", "UTC"):
        yield
        return
    saved = config.get("QMS_TIMEZONE")
    config["QMS_TIMEZONE"] = zone
    try:
        yield
    finally:
        config["QMS_TIMEZONE"] = saved


def load_demo(lang: str = "en", progress: Callable[[int, int], None] | None = None) -> None:
    """Create departments, one user per role, the starter documents and the QMS at work.

    One unit of work: the demo is there whole or not at all (``init --demo`` loads it only
    into an instance without users, so a half-loaded demo could never be completed), and
    one commit and one publication of refs are much faster than one per step.
    """
    with _office_clock(lang):
        _load(lang, progress)


@transactional
def _load(lang: str, progress: Callable[[int, int], None] | None) -> None:
    for name in DEPARTMENTS:
        get_or_create_department(department_name(name, lang))
    for username, full_name, roles, dept, password in DEMO_USERS:
        locale = lang if lang != "en" else None
        create_user(
            username,
            password,
            list(roles),
            department_name(dept, lang),
            full_name,
            f"{username}@demo.qms.invalid",
            locale,
        )
    author = db.session.scalar(select(User).where(User.username == "author"))
    approver = db.session.scalar(select(User).where(User.username == "mrep"))
    password = dict((u[0], u[4]) for u in DEMO_USERS)["mrep"]

    documents = starter_set(lang)
    total = sum(len(texts) for _meta, texts in documents)
    done = 0
    for meta, texts in documents:
        doc = services.create_document(
            author,
            meta["code"],
            meta["title"],
            meta["type"],
            parent=meta.get("parent"),
            department=department_name(meta["department"], lang)
            if meta.get("department")
            else None,
            clauses=meta.get("clauses") or [],
            review_interval_months=int(meta.get("review_interval_months") or 12),
            distribution=[department_name(d, lang) for d in meta.get("distribution") or []],
        )
        # Older revisions became effective a year apart, the newest at the start of this year.
        for index, text in enumerate(texts):
            year = clock.today().year - (len(texts) - 1 - index)
            release_one(doc, text, author, approver, password, date(year, 1, 2))
            done += 1
            if progress:
                progress(done, total)
    _leave_work_in_progress(author, approver, lang)
    from qms.demo.activity import load_activity

    load_activity(lang, dict((u[0], u[4]) for u in DEMO_USERS))


@transactional
def release_one(
    doc: Document, text: str, author: User, approver: User, password: str, effective: date
) -> None:
    """Draft, submit, approve and release one revision of ``doc``."""
    meta, _body = render.split_front_matter(text)
    services.save_draft(author, doc, text, meta.get("summary") or "Issue")
    services.submit(author, doc)
    services.approve(approver, doc, password, "Approved for release")
    services.release(approver, doc, effective, allow_past=True)


def _leave_work_in_progress(author: User, approver: User, lang: str) -> None:
    """Leave a change request and a revision in review, so the demo has work to do."""
    from qms.demo.texts import texts

    t = texts(lang)
    doc = db.session.scalar(
        select(Document).where(Document.doc_type == "procedure").order_by(Document.code.desc())
    )
    if doc is None:
        return
    cr = services.raise_change_request(
        author, t["cr_title"].format(code=doc.code), t["cr_reason"], [doc.code]
    )
    services.decide_change_request(approver, cr, accept=True, note=t["cr_decision"])
    text = services.revision_content(services.effective_revision(doc))
    text = text.rstrip("\n") + f"\n\n## {t['cr_note_heading']}\n\n{t['cr_note']}\n"
    services.save_draft(author, doc, text, t["cr_summary"], change_request=cr.number)
    services.submit(author, doc)
