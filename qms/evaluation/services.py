"""The rules of supervision and evaluation (监督评价), for pages and API alike.

- A scheme names what it scores (departments or windows), how often, its criteria (a
  source from :mod:`~qms.evaluation.sources`, a weight, a rule from value to points) and
  the least total for each star level. Weights sum to 100; thresholds descend.
- Running a scheme for a period computes, for every subject, each criterion's value, its
  points (0–100) and the evidence counted; the total is the weighted sum of the points
  (rounded to 0.1) and the stars are read from the total against the thresholds.
- A run is a draft: the evaluator enters the manual criteria with a note, then confirms.
  A confirmed evaluation is never edited; a correction is a new evaluation with a reason,
  which replaces the one it corrects once confirmed.

The rules live by sub-domain — :mod:`~qms.evaluation.schemes`, :mod:`~qms.evaluation.runs`,
:mod:`~qms.evaluation.results` and :mod:`~qms.evaluation.scoring` — and this module is
their public face. Nothing here commits: the outermost ``@transactional`` call owns the
transaction.
"""

from qms.evaluation.permissions import (  # noqa: F401
    can_adjust,
    can_confirm,
    can_correct,
    can_discard,
    can_manage_schemes,
    can_run,
)
from qms.evaluation.results import (  # noqa: F401
    Point,
    current,
    get_evaluation,
    get_result,
    history,
    is_superseded,
    list_evaluations,
    superseded_ids,
)
from qms.evaluation.runs import (  # noqa: F401
    adjust,
    check_period,
    confirm,
    correct,
    discard,
    missing_manual,
    run,
    subjects,
)
from qms.evaluation.schemes import (  # noqa: F401
    MAX_CRITERIA,
    change_scheme,
    create_scheme,
    get_scheme,
    list_schemes,
)
from qms.evaluation.scoring import (  # noqa: F401
    number,
    points_for,
    stars_for,
    weighted_total,
)
