"""The scales and the level matrix the register is scored on, kept by an administrator.

Until an administrator saves settings the default is a 5 x 5 matrix: a score
(likelihood x impact) below a fifth of the largest is low, from three fifths high.
Changing the matrix re-levels every entry in the same unit of work.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from qms import trail
from qms.auth.models import User
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.risks import labels
from qms.risks.models import LEVELS, SCALE_SIZES, RiskSettings
from qms.risks.permissions import can_configure
from qms.uow import transactional


def default_matrix(scale: int) -> list[list[str]]:
    """Return the default levels of a ``scale`` x ``scale`` matrix."""
    top = scale * scale
    return [
        [
            "high" if l * i >= 0.6 * top else "medium" if l * i >= 0.2 * top else "low"
            for i in range(1, scale + 1)
        ]
        for l in range(1, scale + 1)  # noqa: E741 (l for likelihood reads as the clause does)
    ]


class Scales:
    """The settings in force: scale size, step names and the matrix."""

    def __init__(self, row: RiskSettings | None):
        self.scale = row.scale if row else 5
        self.matrix = row.matrix if row and row.matrix else default_matrix(self.scale)
        self._likelihood = list(row.likelihood_names or []) if row else []
        self._impact = list(row.impact_names or []) if row else []

    @staticmethod
    def _names(given: list[str], defaults: list[str]) -> list[str]:
        return [(given[i] if i < len(given) else "") or d for i, d in enumerate(defaults)]

    @property
    def likelihood_names(self) -> list[str]:
        return self._names(self._likelihood, labels.default_likelihood_names(self.scale))

    @property
    def impact_names(self) -> list[str]:
        return self._names(self._impact, labels.default_impact_names(self.scale))

    @property
    def steps(self) -> range:
        return range(1, self.scale + 1)

    def level(self, likelihood: int, impact: int) -> str:
        return self.matrix[likelihood - 1][impact - 1]

    def check(self, value, field: str, what: str) -> int:
        """Return ``value`` as a step of the scale, or refuse beside ``field``."""
        try:
            step = int(value)
        except (TypeError, ValueError):
            step = 0
        if not 1 <= step <= self.scale:
            raise ValidationFailed(
                _("%(what)s must be from 1 to %(top)d.", what=what, top=self.scale), field=field
            )
        return step


def current() -> Scales:
    """Return the settings in force (the default until an administrator saves some)."""
    return Scales(db.session.scalar(select(RiskSettings).order_by(RiskSettings.id)))


def _clean_names(names, scale: int, field: str) -> list[str]:
    names = [str(n or "").strip()[:60] for n in (names or [])][:scale]
    names += [""] * (scale - len(names))
    given = [n for n in names if n]
    if len(given) != len(set(given)):
        raise ValidationFailed(_("Give each step of a scale its own name."), field=field)
    return names


@transactional
def save_settings(
    actor: User,
    scale: int,
    matrix: list[list[str]] | None = None,
    likelihood_names: list[str] | None = None,
    impact_names: list[str] | None = None,
) -> Scales:
    """Set the scales and the matrix, and re-level every entry of the register.

    Without ``matrix`` the default one of that size is taken. Raises
    :class:`ValidationFailed` for a size other than 3-5, a matrix of the wrong shape or
    with an unknown level, or one whose level falls as likelihood or impact rises.
    """
    if not can_configure(actor):
        raise PermissionDenied(_("Only an administrator sets the risk scales and matrix."))
    try:
        scale = int(scale)
    except (TypeError, ValueError):
        scale = 0
    if scale not in SCALE_SIZES:
        raise ValidationFailed(_("A scale has 3, 4 or 5 steps."), field="scale")
    matrix = matrix or default_matrix(scale)
    if len(matrix) != scale or any(len(row) != scale for row in matrix):
        raise ValidationFailed(
            _("The matrix must have %(n)d rows of %(n)d levels.", n=scale), field="matrix"
        )
    if any(cell not in LEVELS for row in matrix for cell in row):
        raise ValidationFailed(_("Each cell of the matrix is low, medium or high."), "matrix")
    rank = {level: n for n, level in enumerate(LEVELS)}
    for l in range(scale):  # noqa: E741
        for i in range(scale):
            right = i + 1 < scale and rank[matrix[l][i + 1]] < rank[matrix[l][i]]
            up = l + 1 < scale and rank[matrix[l + 1][i]] < rank[matrix[l][i]]
            if right or up:
                raise ValidationFailed(
                    _("A level cannot fall as likelihood or impact rises."), field="matrix"
                )
    row = db.session.scalar(select(RiskSettings).order_by(RiskSettings.id))
    before = None
    if row is None:
        row = RiskSettings()
        db.session.add(row)
    else:
        before = {"scale": row.scale, "matrix": row.matrix}
    old_scale = row.scale if before else 5
    row.scale = scale
    row.matrix = [list(r) for r in matrix]
    row.likelihood_names = _clean_names(likelihood_names, scale, "likelihood_names")
    row.impact_names = _clean_names(impact_names, scale, "impact_names")
    row.updated_by_id, row.updated_at = actor.id, utcnow()
    db.session.flush()
    from qms.risks.services import relevel_all

    changed = relevel_all(actor, current(), old_scale)
    trail.record(
        "risk.settings_saved",
        "risk_settings",
        "1",
        before=before,
        after={
            "scale": scale,
            "matrix": row.matrix,
            "likelihood_names": row.likelihood_names,
            "impact_names": row.impact_names,
            "relevelled": changed,
        },
        user=actor,
    )
    return current()
