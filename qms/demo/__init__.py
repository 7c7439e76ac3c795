"""Load the demo: the starter QMS in ``documents/`` with history, and the system at work.

The documents, departments and users are loaded here; records, nonconformities, audits,
objectives, feedback and a management review follow in :mod:`qms.demo.activity`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from qms import ROOT, clock, render
from qms.auth.models import User
from qms.auth.services import create_user, get_or_create_department
from qms.documents import services
from qms.documents.models import Document
from qms.extensions import db
from qms.models import utcnow
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
    ("director", "Dana Director", ("top_management",), "General Affairs Office", "director-demo"),
)
# The demo's people in a Chinese installation (Traditional by character conversion).
DEMO_NAMES_ZH = {
    "admin": "赵磊",
    "mrep": "王芳",
    "author": "刘洋",
    "auditor": "陈静",
    "staff": "孙丽",
    "director": "张伟",
}
# The newest revisions came into force this many days before the demo's today, each
# older one a year before the next: a year of the system at work follows.
HISTORY_DAYS = 340
# Who signs each revision as reviewed before the management representative approves it.
REVIEWER = "auditor"
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


def person_name(username: str, english: str, lang: str) -> str:
    """Return a demo person's full name in the installation's language."""
    if lang == "en" or username not in DEMO_NAMES_ZH:
        return english
    name = DEMO_NAMES_ZH[username]
    return to_traditional(name) if lang == "zh_Hant" else name


def office_moment(day: date, hour: int, minute: int = 0) -> datetime:
    """Return ``day`` at ``hour``:``minute`` in the offices' zone, as an aware moment."""
    return datetime.combine(day, time(hour, minute), tzinfo=clock.zone())


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


def founded(lang: str) -> datetime:
    """Return when the demo's system was set up: before the first step of its history.

    ``init --demo`` creates the document repository at that moment, so that its first
    commit is older than the history committed on top of it.
    """
    with _office_clock(lang):
        generations = max(len(texts) for _meta, texts in starter_set(lang))
        day = clock.today() - timedelta(days=HISTORY_DAYS + 365 * (generations - 1) + 30)
        return office_moment(day, 8)


def load_demo(lang: str = "en", progress: Callable[[int, int], None] | None = None) -> None:
    """Create departments, one user per role, the starter documents and the QMS at work.

    One unit of work: the demo is there whole or not at all (``init --demo`` loads it only
    into an instance without users, so a half-loaded demo could never be completed), and
    one commit and one publication of refs are much faster than one per step. What it
    indexes for search at the commit is worded in the demo's language.
    """
    with _office_clock(lang), force_locale(lang):
        _load(lang, progress)


@transactional
def _load(lang: str, progress: Callable[[int, int], None] | None) -> None:
    today = clock.today()
    documents = starter_set(lang)
    generations = max(len(texts) for _meta, texts in documents)
    # The system is set up a month before its oldest revisions come into force.
    founded = today - timedelta(days=HISTORY_DAYS + 365 * (generations - 1) + 30)
    # Set up an hour after the repository (see founded()).
    with clock.travel(office_moment(founded, 9)):
        _people(lang)
        docs = [(_create(meta, lang), texts) for meta, texts in documents]
        total = sum(len(texts) for _meta, texts in documents)
        done = 0
        # Generation by generation, oldest first, so main's history and the trail run in
        # time order: each revision drafted, reviewed and approved in the weeks before it
        # came into force, a year before its successor.
        for generation in range(generations - 1, -1, -1):
            batch = [
                (doc, texts[len(texts) - 1 - generation])
                for doc, texts in docs
                if len(texts) > generation
            ]
            effective = today - timedelta(days=HISTORY_DAYS + 365 * generation)
            release_generation(batch, effective)
            done += len(batch)
            if progress:
                progress(done, total)
        # The service catalogue, governed by the documents now in force; before the year's
        # stories, which name its items and windows.
        from qms.demo.service_centre import load_catalogue

        clock.move_to(office_moment(today - timedelta(days=HISTORY_DAYS), 11))
        load_catalogue(lang)
    from qms.demo.activity import load_activity
    from qms.demo.standards import load_standards
    from qms.notifications import services as notifications

    load_activity(lang, dict((u[0], u[4]) for u in DEMO_USERS))
    load_standards(lang)  # the standard system (标准体系)
    # From now on the manual is reviewed by the representative and approved by the director
    # (审核 / 批准), as Chinese practice has it; its history was signed the default way.
    services.set_route(
        _user("admin"),
        "manual",
        [
            services.StepSpec("reviewed", role="approver"),
            services.StepSpec("approved", role="top_management"),
        ],
    )
    # The year behind the demo was read and mailed in its time; the last week's is news.
    notifications.close_past(utcnow() - timedelta(days=7))


def _people(lang: str) -> None:
    for name in DEPARTMENTS:
        get_or_create_department(department_name(name, lang))
    for username, full_name, roles, dept, password in DEMO_USERS:
        locale = lang if lang != "en" else None
        create_user(
            username,
            password,
            list(roles),
            department_name(dept, lang),
            person_name(username, full_name, lang),
            f"{username}@demo.qms.invalid",
            locale,
        )


def _create(meta: dict, lang: str) -> Document:
    author = db.session.scalar(select(User).where(User.username == "author"))
    return services.create_document(
        author,
        meta["code"],
        meta["title"],
        meta["type"],
        parent=meta.get("parent"),
        department=department_name(meta["department"], lang) if meta.get("department") else None,
        clauses=meta.get("clauses") or [],
        review_interval_months=int(meta.get("review_interval_months") or 12),
        distribution=[department_name(d, lang) for d in meta.get("distribution") or []],
    )


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def release_generation(batch: list[tuple[Document, str]], effective: date) -> None:
    """Draft, review, approve and release one revision of each document, in that order.

    Drafts are written two weeks before ``effective`` and submitted two days later,
    reviewed ten days and approved a week before it, and the revisions come into force
    on ``effective``; each step a couple of minutes after the one of the previous document.
    """
    from qms.demo.texts import texts

    passwords = dict((u[0], u[4]) for u in DEMO_USERS)
    author, reviewer, approver = _user("author"), _user(REVIEWER), _user("mrep")
    lang = author.locale or "en"
    t = texts(lang)
    steps = (
        (14, 9, lambda doc, text: _draft(author, doc, text)),
        (12, 16, lambda doc, text: services.submit(author, doc)),
        (10, 9, lambda doc, text: services.sign_review(
            reviewer, doc, passwords[REVIEWER], t["review_comment"])),
        (7, 14, lambda doc, text: services.approve(
            approver, doc, passwords["mrep"], t["approve_comment"])),
        (0, 8, lambda doc, text: services.release(approver, doc, effective, allow_past=True)),
    )  # fmt: skip
    for days_before, hour, step in steps:
        start = office_moment(effective - timedelta(days=days_before), hour)
        for index, (doc, text) in enumerate(batch):
            clock.move_to(start + timedelta(minutes=2 * index))
            step(doc, text)


def _draft(author: User, doc: Document, text: str) -> None:
    meta, _body = render.split_front_matter(text)
    services.save_draft(author, doc, text, meta.get("summary") or "Issue")


@transactional
def release_one(
    doc: Document, text: str, author: User, approver: User, password: str, effective: date
) -> None:
    """Draft, submit, approve and release one revision of ``doc``."""
    from qms.demo.texts import texts

    meta, _body = render.split_front_matter(text)
    services.save_draft(author, doc, text, meta.get("summary") or "Issue")
    services.submit(author, doc)
    services.approve(approver, doc, password, texts(author.locale or "en")["approve_comment"])
    services.release(approver, doc, effective, allow_past=True)


def leave_work_in_progress(demo) -> Iterator[datetime]:
    """Leave a change request and a revision in review, so the demo has work to do.

    A story of the demo's year (see :mod:`qms.demo.activity`): it yields the moment of
    each step before taking it.
    """
    from qms.demo.texts import texts

    t = texts(demo.lang)
    author, approver = demo.people["author"], demo.people["mrep"]
    doc = db.session.scalar(
        select(Document).where(Document.doc_type == "procedure").order_by(Document.code.desc())
    )
    if doc is None:
        return
    yield demo.at(-18, 9, 30)
    cr = services.raise_change_request(
        author, t["cr_title"].format(code=doc.code), t["cr_reason"], [doc.code]
    )
    yield demo.at(-17, 14)
    services.decide_change_request(approver, cr, accept=True, note=t["cr_decision"])
    yield demo.at(-15, 10)
    text = services.revision_content(services.effective_revision(doc))
    text = text.rstrip("\n") + f"\n\n## {t['cr_note_heading']}\n\n{t['cr_note']}\n"
    services.save_draft(author, doc, text, t["cr_summary"], change_request=cr.number)
    yield demo.at(-14, 16)
    services.submit(author, doc)
