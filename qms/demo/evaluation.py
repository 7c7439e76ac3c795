"""The demo's supervision and evaluation (监督评价): departments and windows scored quarterly.

A quarterly scheme over every department (NCs raised, actions overdue, audit NC findings
and the supervision office's spot checks), run for each quarter of the year the demo
tells (within :data:`~qms.demo.HISTORY_DAYS`): the past quarters confirmed, one of them
corrected with a reason, the quarter in progress left as a draft. Made through the
domain's services, at the present time like the other registers.
"""

from __future__ import annotations

from datetime import timedelta

from qms.demo.activity import Demo
from qms.evaluation import services as evaluation
from qms.reviews import periods

EN = {
    "scheme": "Quarterly supervision of departments",
    "spot_checks": "Supervision spot checks",
    "ncs": "Nonconformities raised",
    "overdue": "Actions overdue",
    "findings": "Audit NC findings",
    "note": "Spot checks of service quality by the supervision office.",
    "reason": "The spot-check score of one department was entered wrongly.",
    "windows": "Quarterly evaluation of windows by citizens' ratings",
    "good_rate": "Good-rating rate",
    "on_time": "Poor ratings rectified on time",
}
ZH_HANS = {
    "scheme": "部门季度监督评价",
    "spot_checks": "监督抽查",
    "ncs": "发生的不合格",
    "overdue": "逾期措施",
    "findings": "审核不合格项",
    "note": "投诉监督室对服务质量的抽查。",
    "reason": "一个部门的抽查得分录入有误。",
    "windows": "窗口季度好差评评价",
    "good_rate": "好评率",
    "on_time": "差评按时整改率",
}
#: Each department's spot-check score, varied by quarter (by position, any language).
SPOT_CHECKS = (96, 91, 88, 84, 79, 73, 93)
QUARTER_DRIFT = (-3, 0, 2, 1, 3)


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def quarters(demo: Demo) -> list[str]:
    """The quarters begun within the demo's year of history, oldest first."""
    from qms.demo import HISTORY_DAYS

    first = demo.today - timedelta(days=HISTORY_DAYS)
    return [
        q
        for q in periods.periods_between(first, demo.today, "quarterly")
        if periods.bounds(q)[0] >= first
    ]


def _spot_checks(demo: Demo, run, quarter: int, t: dict, shift: int = 0) -> None:
    for n, result in enumerate(sorted(run.results, key=lambda r: int(r.subject_key))):
        score = SPOT_CHECKS[n % len(SPOT_CHECKS)] + QUARTER_DRIFT[quarter % len(QUARTER_DRIFT)]
        score = max(0, min(100, score + (shift if n == 1 else 0)))
        evaluation.adjust(demo.people["mrep"], run, result.subject_key, 0, score, t["note"])


def load(demo: Demo) -> None:
    """A quarterly scheme over the departments, and a year of its evaluations."""
    t = _texts(demo.lang)
    admin, mrep = demo.people["admin"], demo.people["mrep"]
    scheme = evaluation.create_scheme(
        admin,
        t["scheme"],
        "department",
        "quarterly",
        [
            {"source": "manual", "label": t["spot_checks"], "weight": 40,
             "target": 100, "zero": 50},
            {"source": "ncs_raised", "label": t["ncs"], "weight": 25, "rule": "bands",
             "direction": "lower", "bands": [[0, 100], [1, 85], [2, 70], [4, 40]]},
            {"source": "actions_overdue", "label": t["overdue"], "weight": 15,
             "direction": "lower", "target": 0, "zero": 4},
            {"source": "audit_findings", "label": t["findings"], "weight": 20, "rule": "bands",
             "direction": "lower", "bands": [[0, 100], [1, 80], [3, 50]]},
        ],
        [95, 85, 75, 60],
    )  # fmt: skip
    found = quarters(demo)
    for n, quarter in enumerate(found):
        run = evaluation.run(mrep, scheme, quarter)
        if quarter == found[-1] and periods.bounds(quarter)[1] >= demo.today:
            break  # the quarter in progress: a draft, its spot checks still to come
        # The second quarter's spot check of one department was mis-typed, then corrected.
        _spot_checks(demo, run, n, t, shift=-25 if n == 1 else 0)
        evaluation.confirm(mrep, run)
        if n == 1:
            correction = evaluation.correct(mrep, run, t["reason"])
            _spot_checks(demo, correction, n, t)
            evaluation.confirm(mrep, correction)


def load_windows(demo: Demo) -> None:
    """A quarterly scheme over the windows, scored from the citizens' ratings of the year."""
    from qms.standards import catalogue

    if not catalogue.active_windows():
        return
    t = _texts(demo.lang)
    scheme = evaluation.create_scheme(
        demo.people["admin"],
        t["windows"],
        "window",
        "quarterly",
        [
            {"source": "ratings_good_rate", "label": t["good_rate"], "weight": 70,
             "target": 100, "zero": 80},
            {"source": "ratings_on_time", "label": t["on_time"], "weight": 30,
             "target": 100, "zero": 50},
        ],
        [95, 85, 75, 60],
    )  # fmt: skip
    for quarter in quarters(demo):
        run = evaluation.run(demo.people["mrep"], scheme, quarter)
        if periods.bounds(quarter)[1] >= demo.today:
            break  # the quarter in progress stays a draft
        evaluation.confirm(demo.people["mrep"], run)
