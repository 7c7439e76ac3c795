"""Records, nonconformities and actions in the index.

They are indexed as they are written: an ORM hook notes every record, nonconformity or
action a transaction adds, changes or deletes, and just before that transaction commits
their index entries are rewritten in it. So every write path of those domains (and any
they add later) keeps the index right without calling search, and a rolled-back change
never reaches the index. Text comes from the domains' public service functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import event, select

from qms.auth import visibility
from qms.context import services as context
from qms.context.models import ContextIssue, InterestedParty, LegalRequirement
from qms.equipment import search as equipment_search
from qms.equipment.models import Equipment
from qms.extensions import db
from qms.improvement import services as improvement
from qms.improvement.models import Action, NcOutput, Nonconformity
from qms.records import services as records
from qms.records.models import Record
from qms.risks import services as risks
from qms.risks.models import Risk
from qms.search.services import Entry, index, register_provider, register_scope, remove

log = logging.getLogger(__name__)
PENDING = "qms.search.pending"


@dataclass(frozen=True)
class Watched:
    type: str
    model: type
    entry: Callable[[object], Entry]
    key: Callable[[object], str]


WATCHED: list[Watched] = []


def _join(*parts) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


# -- records ---------------------------------------------------------------------------


def _flatten(value) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _flatten(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _flatten(v)
    elif value not in (None, ""):
        yield str(value)


def record_entry(record) -> Entry:
    try:
        shown = records.shown(records.record_definition(record), record.values or {})
        parts = []
        for fd, text, cells in shown:
            cell_text = " ".join(" ".join(row) for row in cells)
            if text or cell_text:
                parts.append(_join(f"{fd.label}:", text if not cells else cell_text))
        text = " ".join(parts)
    except Exception:  # the form's definition unreadable: index the raw values instead
        text = " ".join(_flatten(record.values))
    return Entry(
        type="record",
        key=record.number,
        title=_join(record.form_code, record.form_title),
        text=text,
        endpoint="records.detail",
        params={"number": record.number},
        updated_at=record.submitted_at,
    )


def visible_records(viewer):
    """Return a select() of the record numbers ``viewer`` may find, or None for all."""
    clause = visibility.visible_clause(
        viewer, "record", Record.department_id, Record.submitted_by_id
    )
    return None if clause is None else select(Record.number).where(clause)


def all_records() -> Iterator[Entry]:
    for record in db.session.scalars(records.list_records()).unique():
        yield record_entry(record)


# -- nonconformities and actions -------------------------------------------------------


def nc_entry(nc) -> Entry:
    output = nc.output
    return Entry(
        type="nonconformity",
        key=nc.number,
        title=nc.title,
        text=_join(
            nc.description,
            output.output if output else None,
            output.disposition_note if output else None,
            nc.clause,
            nc.containment,
            nc.root_cause,
            nc.check_result,
            nc.rejection_reason,
        ),
        endpoint="improvement.detail",
        params={"number": nc.number},
    )


def action_entry(action) -> Entry:
    return Entry(
        type="action",
        key=action.number,
        title=action.title,
        text=_join(
            action.description,
            action.origin_ref,
            action.effectiveness_criteria,
            action.done_note,
            action.check_result,
            action.change_request,
        ),
        endpoint="improvement.action",
        params={"action_id": action.number},
    )


def all_ncs() -> Iterator[Entry]:
    for nc in db.session.scalars(improvement.list_ncs()).unique():
        yield nc_entry(nc)


def all_actions() -> Iterator[Entry]:
    for action in db.session.scalars(improvement.list_actions()).unique():
        yield action_entry(action)


# -- the context registers: issues, interested parties, legal requirements ---------------


def issue_entry(issue) -> Entry:
    return Entry(
        type="context",
        key=issue.number,
        title=issue.title,
        text=_join(issue.description, issue.owner.display_name),
        endpoint="context.index",
        updated_at=issue.updated_at,
    )


def party_entry(party) -> Entry:
    return Entry(
        type="context",
        key=party.number,
        title=party.name,
        text=_join(party.needs, party.owner.display_name),
        endpoint="context.index",
        updated_at=party.updated_at,
    )


def legal_entry(requirement) -> Entry:
    return Entry(
        type="context",
        key=requirement.number,
        title=_join(requirement.law, requirement.article),
        text=_join(requirement.requirement, *requirement.documents),
        endpoint="context.legal",
        params={"number": requirement.number},
    )


def all_context() -> Iterator[Entry]:
    yield from (issue_entry(i) for i in context.list_issues())
    yield from (party_entry(p) for p in context.list_parties())
    yield from (legal_entry(r) for r in context.list_legal_requirements())


def risk_entry(risk) -> Entry:
    return Entry(
        type="risk",
        key=risk.number,
        title=risk.title,
        text=_join(
            risk.cause,
            risk.effect,
            risk.treatment,
            risk.process,
            risk.department.name if risk.department else None,
            risk.status_note,
        ),
        endpoint="risks.detail",
        params={"number": risk.number},
    )


def all_risks() -> Iterator[Entry]:
    for risk in risks.list_risks():
        yield risk_entry(risk)


# -- external providers ------------------------------------------------------------------


def supplier_entry(supplier) -> Entry:
    from qms.suppliers import labels as supplier_labels

    return Entry(
        type="supplier",
        key=supplier.number,
        title=_join(supplier.number, supplier.name),
        text=_join(
            supplier.supplies,
            supplier.controls,
            supplier_labels.status_label(supplier.status),
            " ".join(supplier.documents),
        ),
        endpoint="suppliers.detail",
        params={"number": supplier.number},
        updated_at=supplier.updated_at,
    )


def all_suppliers() -> Iterator[Entry]:
    from qms.suppliers import services as suppliers

    for supplier in suppliers.list_suppliers():
        yield supplier_entry(supplier)


# -- keeping the index current ---------------------------------------------------------


def _noted(session, flush_context) -> None:
    """After each flush, remember which watched objects it wrote (the lists are pre-flush)."""
    pending = session.info.setdefault(PENDING, {})
    for obj in [*session.new, *session.dirty]:
        for w in WATCHED:
            if isinstance(obj, w.model):
                pending[(w.type, id(obj))] = (w, obj, False)
    for obj in session.deleted:
        for w in WATCHED:
            if isinstance(obj, w.model):
                pending[(w.type, id(obj))] = (w, obj, True)


def _write(session) -> None:
    """Before commit, rewrite the index entries of what this transaction wrote."""
    if not session.info.get(PENDING) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()
    pending = session.info.pop(PENDING, {})
    for w, obj, deleted in pending.values():
        try:
            # A savepoint, so a failed entry is undone alone and the transaction commits.
            with session.begin_nested():
                key = w.key(obj)
                if deleted:
                    remove(w.type, key)
                else:
                    entry = w.entry(obj)
                    index(**entry.__dict__)
        except Exception:
            # Never let the index stop a record or NC being saved; `qms reindex` repairs.
            log.exception("could not index %s", w.type)
    session.info.pop(PENDING, None)


def _forget(session, *args) -> None:
    session.info.pop(PENDING, None)


def _watch(watched: Watched) -> None:
    if all((w.type, w.model) != (watched.type, watched.model) for w in WATCHED):
        WATCHED.append(watched)
    for name, fn in (
        ("after_flush", _noted),
        ("before_commit", _write),
        ("after_rollback", _forget),
    ):
        if not event.contains(db.session, name, fn):
            event.listen(db.session, name, fn)


def install() -> None:
    """Index records, NCs, actions and the context registers, and keep their entries current."""
    register_provider("record", all_records)
    register_scope("record", visible_records)
    register_provider("nonconformity", all_ncs)
    register_provider("action", all_actions)
    register_provider("context", all_context)
    register_provider("risk", all_risks)
    _watch(Watched("record", Record, record_entry, lambda r: r.number))
    _watch(Watched("nonconformity", Nonconformity, nc_entry, lambda n: n.number))
    # An NC's output (8.7) and its disposition are indexed with the NC.
    _watch(
        Watched(
            "nonconformity",
            NcOutput,
            lambda o: nc_entry(o.nonconformity),
            lambda o: o.nonconformity.number,
        )
    )
    _watch(Watched("action", Action, action_entry, lambda a: a.number))
    _watch(Watched("context", ContextIssue, issue_entry, lambda i: i.number))
    _watch(Watched("context", InterestedParty, party_entry, lambda p: p.number))
    _watch(Watched("context", LegalRequirement, legal_entry, lambda r: r.number))
    _watch(Watched("risk", Risk, risk_entry, lambda r: r.number))
    from qms.suppliers.models import Supplier

    register_provider("supplier", all_suppliers)
    _watch(Watched("supplier", Supplier, supplier_entry, lambda s: s.number))
    register_provider("equipment", equipment_search.all_entries)
    _watch(Watched("equipment", Equipment, equipment_search.entry, lambda e: e.number))
