"""The demo's citizens' ratings: eleven months of them, imported every week, and the loop
of each poor one (finding, fix, follow-up), one of them late, and a repeat that became an NC.

Told as a story on the demo's travelling clock (:func:`qms.demo.activity._tell`). The
ratings name the catalogue's active items and windows; without a catalogue it tells
nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime

from qms.demo import office_moment
from qms.ratings import services as ratings
from qms.standards import catalogue

#: How far back the ratings begin (inside the demo's HISTORY_DAYS) and how often they come.
FIRST_DAY = -330
BATCH_EVERY = 7
PER_BATCH = 9
#: The poor ratings and what becomes of them: (days ago, pair index, level, comment key,
#: what happens: "closed" (the whole loop), "open" (left late), "repeat" (the second of a
#: recurrence, which raises the NC)).
POOR = (
    (-300, 0, 2, "poor_wait", "closed"),
    (-200, 1, 1, "poor_rude", "closed"),
    (-121, 2, 2, "poor_documents", "closed"),
    (-101, 2, 1, "poor_documents_again", "repeat"),
    (-40, 0, 2, "poor_wait", "closed"),
    (-9, 1, 2, "poor_rude", "open"),
)
CHANNELS = ("device", "device", "device", "online", "mobile", "sms")

EN = {
    "good_quick": "Quick and clear, thank you.",
    "good_kind": "The clerk was patient and explained everything.",
    "poor_wait": "Waited over an hour; only one window was open.",
    "poor_rude": "The clerk was impatient and did not explain what was missing.",
    "poor_documents": "I was told to bring a document the guide does not list.",
    "poor_documents_again": "Sent home again for a paper nobody mentioned before.",
    "finding_wait": "Two of three clerks were on leave; no cover was arranged.",
    "fix_wait": "Leave is now planned with cover; a second window opens when ten are waiting.",
    "finding_rude": "The clerk had not had the refresher on explaining refusals.",
    "fix_rude": "Refresher training given; the one-time notification slip is used every time.",
    "finding_documents": "The service guide lacked the floor plan the item now requires.",
    "fix_documents": "The guide and the checklist were corrected and republished.",
    "followup_note": "The citizen confirmed the matter is settled.",
}
ZH_HANS = {
    "good_quick": "办理快，讲解清楚，谢谢。",
    "good_kind": "工作人员很耐心，一次讲清楚了。",
    "poor_wait": "等了一个多小时，只开了一个窗口。",
    "poor_rude": "工作人员态度不耐烦，没有说明缺什么材料。",
    "poor_documents": "要求提供办事指南上没有列出的材料。",
    "poor_documents_again": "又因为之前没人提过的材料被退回。",
    "finding_wait": "三名工作人员中两人休假，未安排顶岗。",
    "fix_wait": "休假已统筹安排顶岗；等候超过十人时加开窗口。",
    "finding_rude": "该工作人员未参加一次性告知的复训。",
    "fix_rude": "已完成复训；每次均使用一次性告知单。",
    "finding_documents": "办事指南未列出该事项现需的平面图。",
    "fix_documents": "已更正并重新发布办事指南和材料清单。",
    "followup_note": "群众确认问题已解决。",
}
FINDINGS = {
    "poor_wait": ("finding_wait", "fix_wait"),
    "poor_rude": ("finding_rude", "fix_rude"),
    "poor_documents": ("finding_documents", "fix_documents"),
    "poor_documents_again": ("finding_documents", "fix_documents"),
}


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def _pairs() -> list[tuple]:
    """The (item, window) pairs ratings name: each active item at its windows."""
    windows = catalogue.active_windows()
    pairs = []
    for n, item in enumerate(catalogue.active_items()):
        at = [w for w in item.windows if w.active] or windows[
            n % len(windows) : n % len(windows) + 1
        ]
        pairs.extend((item, window) for window in at)
    return pairs


def story(demo) -> Iterator[datetime]:
    """Weekly imports of the ratings of the week before, and the loops of the poor ones."""
    if not catalogue.active_items() or not catalogue.active_windows():
        return
    pairs = _pairs()
    if not pairs:
        return
    t = _texts(demo.lang)
    mrep, staff = demo.people["mrep"], demo.people["staff"]
    rng = random.Random(19)
    steps: list[tuple[datetime, int, Callable[[], None]]] = []
    rows_by_batch: dict[int, list[dict]] = {}
    seq = 0

    def batch_day(day: int) -> int:
        """The day of the import that carries a rating of ``day``."""
        return min(day + BATCH_EVERY - (day - FIRST_DAY) % BATCH_EVERY, -1)

    def row(day: int, pair, level: int, comment: str, hour: int) -> dict:
        nonlocal seq
        seq += 1
        item, window = pair
        when = office_moment(demo.days(day), hour, (seq * 7) % 60)
        return {
            "case_number": f"HC{when:%Y%m%d}{seq:05d}",
            "item": item.code,
            "window": window.code,
            "channel": CHANNELS[seq % len(CHANNELS)],
            "level": level,
            "attitude": level if level != 3 else 4,
            "efficiency": level,
            "comment": comment,
            "rated_at": when.replace(tzinfo=None).isoformat(),
        }

    for day in range(FIRST_DAY, -1, BATCH_EVERY):
        for n in range(PER_BATCH):
            level = rng.choices((5, 4, 3), weights=(70, 25, 5))[0]
            comment = t[("good_quick", "good_kind")[n % 2]] if n % 4 == 0 and level > 3 else ""
            rating_day = day + n % BATCH_EVERY
            if rating_day >= -1:
                continue
            pair = pairs[rng.randrange(len(pairs))]
            rows_by_batch.setdefault(batch_day(rating_day), []).append(
                row(rating_day, pair, level, comment, 9 + n % 8)
            )
    poor_cases: list[tuple[int, str, str, str]] = []
    for day, index, level, key, fate in POOR:
        poor = row(day, pairs[index % len(pairs)], level, t[key], 11)
        rows_by_batch.setdefault(batch_day(day), []).append(poor)
        poor_cases.append((batch_day(day), poor["case_number"], key, fate))

    def receive(rows: list[dict]) -> Callable[[], None]:
        return lambda: ratings.receive(mrep, list(enumerate(rows, start=2)), origin="import")

    for day, rows in rows_by_batch.items():
        steps.append((demo.at(day, 17, 30), 0, receive(rows)))

    def doer(case: str):
        rect = ratings.get_rating(case).rectification
        return rect, staff if staff.department_id == rect.department_id else mrep

    def rectify(case: str, key: str) -> Callable[[], None]:
        finding, fix = FINDINGS[key]

        def step():
            rect, who = doer(case)
            ratings.rectify(who, rect, t[finding], t[fix])

        return step

    def follow_up(case: str) -> Callable[[], None]:
        def step():
            rect, _who = doer(case)
            ratings.follow_up(mrep, rect, None, "phone", "satisfied", t["followup_note"])

        return step

    def close(case: str) -> Callable[[], None]:
        return lambda: ratings.close(mrep, doer(case)[0])

    for received, case, key, fate in poor_cases:
        if fate == "open":
            continue  # left late: shown overdue on the department's home page
        steps.append((demo.at(received + 3, 10), 1, rectify(case, key)))
        if fate == "repeat":
            continue  # the NC the repeat raised carries the cause on
        steps.append((demo.at(received + 6, 15), 1, follow_up(case)))
        steps.append((demo.at(received + 7, 9), 1, close(case)))
    for moment, _order, step in sorted(steps, key=lambda s: (s[0], s[1])):
        yield moment
        step()
