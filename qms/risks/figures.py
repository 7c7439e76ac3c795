"""What the register adds up to: the heat map, the trend of high risks, and the
management review's input §9.3.2 e) on how effective the actions on risks were."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.extensions import db
from qms.models import aware
from qms.risks import labels, matrix
from qms.risks.models import LEVELS, RiskLevelChange
from qms.risks.services import RiskFilters, actions_of, list_risks


@dataclass
class Cell:
    likelihood: int
    impact: int
    level: str
    count: int


def heat_map(filters: RiskFilters | None = None) -> list[list[Cell]]:
    """Return rows of cells, highest likelihood first, counting the entries not closed
    at their current (residual where assessed) likelihood and impact."""
    scales = matrix.current()
    f = filters or RiskFilters()
    f.open_only, f.likelihood, f.impact = True, None, None
    counts: dict[tuple[int, int], int] = {}
    for risk in list_risks(f):
        key = (risk.current_likelihood, risk.current_impact)
        counts[key] = counts.get(key, 0) + 1
    return [
        [Cell(lk, im, scales.level(lk, im), counts.get((lk, im), 0)) for im in scales.steps]
        for lk in reversed(scales.steps)
    ]


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def months_back(n: int, today: date | None = None) -> list[tuple[int, int]]:
    today = today or clock.today()
    year, month = today.year, today.month
    result = []
    for _i in range(n):
        result.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(result))


def high_trend(months: int = 12, today: date | None = None) -> list[tuple[str, int]]:
    """Return ("YYYY-MM", high entries at that month's end, or today for this month).

    Counted from each entry's level history: its last level on or before the moment.
    """
    today = today or clock.today()
    changes = db.session.execute(
        select(RiskLevelChange.risk_id, RiskLevelChange.at, RiskLevelChange.level).order_by(
            RiskLevelChange.at, RiskLevelChange.id
        )
    ).all()
    result = []
    for year, month in months_back(months, today):
        day = min(_month_end(year, month), today)
        moment = datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.zone())
        level_at: dict[int, str] = {}
        for risk_id, at, level in changes:
            if aware(at) < moment:
                level_at[risk_id] = level
        result.append((f"{year}-{month:02d}", sum(1 for v in level_at.values() if v == "high")))
    return result


def level_counts() -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    for risk in list_risks(RiskFilters(open_only=True)):
        counts[risk.current_level] += 1
    return counts


# -- management review §9.3.2 e) -------------------------------------------------------


def _within(value, start: date, end: date) -> bool:
    if value is None:
        return False
    day = aware(value).astimezone(clock.zone()).date() if isinstance(value, datetime) else value
    return start <= day <= end


def review_input(start: date, end: date) -> dict:
    """Figures on the actions taken on risks and opportunities in [start, end].

    Entries treated (with a residual assessment), their actions closed effective or not,
    and how many came down a level (or went up) from before treatment to after.
    """
    rank = {level: n for n, level in enumerate(LEVELS)}
    risks = [r for r in list_risks() if r.created_at and _within(r.created_at, date.min, end)]
    assessed = [r for r in risks if r.residual_level is not None]
    actions = [(r, a) for r in risks for a in actions_of(r)]
    checked = [a for _r, a in actions if _within(a.checked_at, start, end)]
    lowered = [r for r in assessed if rank[r.residual_level] < rank[r.level]]
    raised = [r for r in assessed if rank[r.residual_level] > rank[r.level]]

    def fig(key, label, value):
        return {"key": key, "label": label, "value": value, "unit": "", "detail": "", "data": {}}

    return {
        "figures": [
            fig(
                "risks.register_open",
                _("Risks and opportunities open"),
                sum(1 for r in risks if r.status != "closed"),
            ),
            fig(
                "risks.high",
                _("High risks now"),
                sum(
                    1
                    for r in risks
                    if r.status != "closed" and r.current_level == "high" and r.kind == "risk"
                ),
            ),
            fig("risks.treated", _("Entries treated (residual score assessed)"), len(assessed)),
            fig("risks.risk_actions", _("Actions raised from risks"), len(actions)),
            fig(
                "risks.risk_actions_effective",
                _("Actions on risks closed effective"),
                sum(1 for a in checked if a.state == "verified_effective"),
            ),
            fig(
                "risks.risk_actions_not_effective",
                _("Actions on risks found not effective"),
                sum(1 for a in checked if a.state == "not_effective"),
            ),
            fig("risks.level_lowered", _("Entries whose level fell after treatment"), len(lowered)),
            fig("risks.level_raised", _("Entries whose level rose after treatment"), len(raised)),
        ],
        "items": [
            {
                "kind": "risk",
                "key": r.number,
                "text": r.title,
                "status": f"{labels.level_label(r.level)} → {labels.level_label(r.residual_level)}",
            }
            for r in assessed
        ]
        + [
            {"kind": "action", "key": a.number, "text": a.title, "status": a.state}
            for _r, a in actions
            if a in checked
        ],
    }
