"""Who may do what with evaluations: one ``can_<verb>`` per rule.

Administrators define the schemes; the quality office (approvers) and administrators run
evaluations, enter the manual scores and confirm them. Everyone signed in may read the
results and the evidence behind them: the scores are published to those scored.
"""

from qms.auth.models import User

EVALUATOR_ROLES = ("approver", "admin")


def can_manage_schemes(user: User) -> bool:
    """Define and change evaluation schemes: their criteria, weights and star thresholds."""
    return user.has_role("admin")


def can_run(user: User) -> bool:
    """Run a scheme for a period, giving a draft evaluation."""
    return user.has_role(*EVALUATOR_ROLES)


def can_adjust(user: User, evaluation=None) -> bool:
    """Enter a manual criterion's value with a note: only while the evaluation is a draft."""
    if not user.has_role(*EVALUATOR_ROLES):
        return False
    return evaluation is None or evaluation.state == "draft"


def can_confirm(user: User, evaluation=None) -> bool:
    """Confirm a draft evaluation, after which it is never edited."""
    return can_adjust(user, evaluation)


def can_discard(user: User, evaluation=None) -> bool:
    """Throw away a draft evaluation (a confirmed one is kept for ever)."""
    return can_adjust(user, evaluation)


def can_correct(user: User, evaluation=None) -> bool:
    """Run a correction of a confirmed evaluation: a new evaluation with a reason."""
    if not user.has_role(*EVALUATOR_ROLES):
        return False
    return evaluation is None or evaluation.state == "confirmed"
