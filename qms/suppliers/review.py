"""What the register tells others: the management-review input on provider performance
(§9.3.2 c) 7)) and the register as a spreadsheet."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from qms import clock
from qms.suppliers import labels
from qms.suppliers.models import Supplier, SupplierEvaluation
from qms.suppliers.services import list_suppliers, points, poor_score, proposals


def review_input(start: date, end: date, ncs) -> dict:
    """Return the figures and items of provider performance in [start, end].

    From the evaluations made in the period (their mean total, how many were poor), the
    NCs raised about providers, the providers suspended and those proposed for
    suspension, and the evaluations overdue at the period's end. ``ncs`` are all NCs.
    """
    suppliers = list_suppliers()
    in_period = [e for s in suppliers for e in s.evaluations if start <= e.evaluated_on <= end]
    # Each provider's last evaluation in the period stands for its performance.
    last: dict[int, SupplierEvaluation] = {}
    for e in sorted(in_period, key=lambda e: (e.evaluated_on, e.id)):
        last[e.supplier_id] = e
    totals = [e.total for e in last.values()]
    average = round(sum(totals) / len(totals), 1) if totals else None
    poor = [e for e in last.values() if e.total < poor_score()]

    def raised_in(nc) -> bool:
        return start <= clock.local(nc.raised_at).date() <= end

    about = [nc for nc in ncs if raised_in(nc) and (nc.supplier_id or nc.source == "supplier")]
    per_supplier: dict[int, int] = {}
    for nc in about:
        if nc.supplier_id:
            per_supplier[nc.supplier_id] = per_supplier.get(nc.supplier_id, 0) + 1
    suspended = {
        c.supplier_id
        for s in suppliers
        for c in s.status_changes
        if c.to_status == "suspended" and start <= clock.local(c.changed_at).date() <= end
    }
    props = proposals(suppliers)
    overdue = [s for s in suppliers if s.status != "suspended" and s.next_evaluation_due < end]
    figures = [
        _fig("external_providers.providers", _("Providers in the register"), len(suppliers)),
        _fig(
            "external_providers.approved",
            _("approved"),
            sum(1 for s in suppliers if s.status == "approved"),
        ),
        _fig("external_providers.evaluated", _("Providers evaluated"), len(last)),
        _fig(
            "external_providers.average_score",
            _("Mean evaluation score"),
            average,
            _("points"),
            "" if totals else _("no evaluation in the period"),
        ),
        _fig(
            "external_providers.poor",
            _("Evaluations below %(limit)s points", limit=points(poor_score())),
            len(poor),
        ),
        _fig("external_providers.ncs", _("Nonconformities about providers"), len(about)),
        _fig("external_providers.suspended", _("Providers suspended"), len(suspended)),
        _fig(
            "external_providers.proposed",
            _("Proposed for suspension now"),
            sum(1 for p in props.values() if p),
        ),
        _fig("external_providers.overdue", _("Evaluations overdue at the end"), len(overdue)),
    ]
    items = []
    for s in suppliers:
        e = last.get(s.id)
        if e is None and not per_supplier.get(s.id) and s.id not in suspended:
            continue
        parts = [s.name]
        if e is not None:
            parts.append(_("score %(total)s", total=points(e.total)))
        if per_supplier.get(s.id):
            parts.append(_("%(n)s NC(s)", n=per_supplier[s.id]))
        items.append(
            {
                "kind": "supplier",
                "key": s.number,
                "text": " · ".join(parts),
                "status": s.status,
            }
        )
    items += [
        {"kind": "nc", "key": nc.number, "text": nc.title, "status": nc.state} for nc in about
    ]
    return {"figures": figures, "items": items}


def _fig(key: str, label: str, value, unit: str = "", detail: str = "") -> dict:
    return {"key": key, "label": label, "value": value, "unit": unit, "detail": detail, "data": {}}


# -- the spreadsheet ------------------------------------------------------------------------


def register_rows(suppliers: list[Supplier]) -> tuple[list[str], list[list]]:
    """Return the header and rows of the register as a spreadsheet shows it."""
    props = proposals(suppliers)
    header = [
        _("Number"),
        _("Provider"),
        _("What it supplies"),
        _("Controls applied"),
        _("Status"),
        _("Owner"),
        _("Latest evaluation"),
        _("Score"),
        _("Next evaluation due"),
        _("Governing documents"),
        _("Suspension proposed"),
    ]
    rows = []
    for s in suppliers:
        latest = s.latest_evaluation
        rows.append(
            [
                s.number,
                s.name,
                s.supplies,
                s.controls,
                labels.status_label(s.status),
                s.owner.display_name,
                latest.evaluated_on.isoformat() if latest else "",
                latest.total if latest else "",
                s.next_evaluation_due.isoformat(),
                ", ".join(s.documents),
                " ".join(props[s.id].reasons),
            ]
        )
    return header, rows
