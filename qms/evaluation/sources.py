"""Where a criterion's value comes from: one registry of sources, key -> how to compute it.

Each :class:`Source` says which subjects it applies to (departments, windows) and, unless
the evaluator enters it (``manual``), computes ``(subject, start, end, params)`` into a
:class:`Measure`: the value and the items it counted, each a reference with a link. Other
domains add theirs with :func:`register` (the citizens' ratings will, say), so a scheme
can use them without this package knowing the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qms import clock
from qms.extensions import db


@dataclass(frozen=True)
class Subject:
    """What is scored: a department (key: its id) or a window (key: its code)."""

    kind: str
    key: str
    name: str
    department_id: int | None = None


@dataclass
class Evidence:
    """One item a value counted: an NC, an action, a finding, a record."""

    kind: str
    ref: str
    label: str
    endpoint: str | None = None
    args: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "label": self.label,
            "endpoint": self.endpoint,
            "args": self.args,
        }


@dataclass
class Measure:
    value: float | None
    evidence: list[Evidence] = field(default_factory=list)
    #: How the value was found, e.g. "12 of 15 on time".
    detail: str = ""


@dataclass(frozen=True)
class Source:
    key: str
    label: object  # a lazy_gettext string
    kinds: tuple[str, ...]
    compute: Callable[[Subject, date, date, dict], Measure] | None = None
    unit: str = ""
    #: The parameters a scheme must give this source (a record form's code, say).
    params: tuple[str, ...] = ()

    @property
    def manual(self) -> bool:
        """Whether the evaluator enters the value (with a note) instead of it being computed."""
        return self.compute is None


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source to the registry (again: replace it), for schemes to use by its key."""
    SOURCES[source.key] = source
    return source


def get(key: str) -> Source | None:
    return SOURCES.get(key)


def for_kind(kind: str) -> list[Source]:
    """Return the sources that apply to ``kind`` subjects, in registration order."""
    return [s for s in SOURCES.values() if kind in s.kinds]


def label(key: str) -> str:
    source = SOURCES.get(key)
    return str(source.label) if source else key


def evidence_url(item: dict) -> str | None:
    """Return the link of a stored evidence item, or None when its page is gone."""
    from flask import url_for
    from werkzeug.routing import BuildError

    if not item.get("endpoint"):
        return None
    try:
        return url_for(item["endpoint"], **(item.get("args") or {}))
    except BuildError:
        return None


def _day_starts(day: date) -> datetime:
    """When the organisation's ``day`` begins, in UTC as timestamps are stored."""
    return datetime.combine(day, time.min, tzinfo=clock.zone()).astimezone(UTC)


def _within(moment: datetime | None, start: date, end: date) -> bool:
    if moment is None:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _day_starts(start) <= moment < _day_starts(end + timedelta(days=1))


# -- the sources that exist ------------------------------------------------------------------


def ncs_raised(subject: Subject, start: date, end: date, params: dict) -> Measure:
    """Nonconformities raised against the department in the period."""
    from qms.improvement import services as improvement

    stmt = improvement.list_ncs(
        improvement.NcFilters(department_id=int(subject.key)), sort="raised_at"
    )
    found = [nc for nc in db.session.scalars(stmt) if _within(nc.raised_at, start, end)]
    return Measure(
        float(len(found)),
        [
            Evidence("nc", nc.number, nc.title, "improvement.detail", {"number": nc.number})
            for nc in found
        ],
        _("%(n)d raised in the period", n=len(found)),
    )


def actions_overdue(subject: Subject, start: date, end: date, params: dict) -> Measure:
    """Actions owned in the department that fell due in the period and were not done by then.

    Counted from what happened, not from today's list: an action done a week late still
    counts in the quarter it was late in.
    """
    from sqlalchemy import select

    from qms.auth.models import User
    from qms.improvement import services as improvement

    last = min(end, clock.today())
    owners = db.session.scalars(select(User.id).where(User.department_id == int(subject.key)))
    found = []
    for owner in list(owners):
        # One list per owner in the department: not every action of the organisation.
        filters = improvement.ActionFilters(owner_id=owner)
        for action in db.session.scalars(improvement.list_actions(filters)):
            if not start <= action.due_date <= end or action.due_date >= last:
                continue
            done = clock.local(action.done_at).date() if action.done_at else None
            if done is None or done > action.due_date:
                found.append(action)
    found.sort(key=lambda a: (a.due_date, a.id))
    return Measure(
        float(len(found)),
        [
            Evidence(
                "action",
                a.number,
                _("%(title)s (due %(due)s)", title=a.title, due=a.due_date.isoformat()),
                "improvement.action",
                {"action_id": a.number},
            )
            for a in found
        ],
        _("%(n)d not done by their due date", n=len(found)),
    )


def audit_findings(subject: Subject, start: date, end: date, params: dict) -> Measure:
    """Nonconformity findings of the audits of the department that began in the period."""
    from qms.audits import services as audits
    from qms.audits.models import NC_RESULTS

    found = []
    for year in range(start.year, end.year + 1):
        for audit in db.session.scalars(audits.list_audits(year=year)):
            if start <= audit.planned_start <= end and any(
                str(d.id) == subject.key for d in audit.departments
            ):
                found.extend((audit, q) for q in audit.questions if q.result in NC_RESULTS)
    return Measure(
        float(len(found)),
        [
            Evidence(
                "finding",
                f"{audit.ref} #{q.seq}",
                f"{audits.result_label(q.result)}: {q.text[:150]}",
                "audits.detail",
                {"ref": audit.ref},
            )
            for audit, q in found
        ],
        _("%(n)d nonconformity findings", n=len(found)),
    )


def records_on_time(subject: Subject, start: date, end: date, params: dict) -> Measure:
    """Share (%) of the department's records of a form, in the period, marked on time.

    ``params``: ``form`` (the record form's code), ``field`` and ``value`` (a record is on
    time when that field holds that value, e.g. ``on_time`` = ``yes``).
    """
    from qms.records import services as records

    form, key, wanted = params.get("form"), params.get("field"), params.get("value")
    stmt = records.list_records(
        form=form, date_from=start, date_to=end, department_id=int(subject.key)
    )
    counted = [r for r in db.session.scalars(stmt) if r.status != "void"]
    on_time = [r for r in counted if str((r.values or {}).get(key, "")) == str(wanted)]
    ok = {r.number for r in on_time}
    value = round(100.0 * len(on_time) / len(counted), 1) if counted else None
    return Measure(
        value,
        [
            Evidence(
                "record",
                r.number,
                _("on time") if r.number in ok else _("late"),
                "records.detail",
                {"number": r.number},
            )
            for r in counted
        ],
        _("%(ok)d of %(n)d on time", ok=len(on_time), n=len(counted))
        if counted
        else _("no record in the period"),
    )


BOTH = ("department", "window")

register(Source("manual", _l("Score entered by the evaluator"), BOTH))
register(Source("ncs_raised", _l("Nonconformities raised"), ("department",), ncs_raised))
register(Source("actions_overdue", _l("Actions overdue"), ("department",), actions_overdue))
register(Source("audit_findings", _l("Audit NC findings"), ("department",), audit_findings))
register(
    Source(
        "records_on_time",
        _l("Records on time (%)"),
        ("department",),
        records_on_time,
        "%",
        ("form", "field", "value"),
    )
)
