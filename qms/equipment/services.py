"""The rules of the equipment register (§7.1.5), used by both the pages and the API.

An instrument is usable for a measurement while it is in use and its calibration is not
overdue; the periodic job turns an overdue one out of calibration and reminds its owner
once per due date. An out-of-tolerance result raises a nonconformity, through the
improvement domain's own service, naming the records made with the instrument since its
last good calibration (§7.1.5.2). Every change leaves a trail event; nothing here commits.
"""

from qms.equipment.calibration import (
    certificate_path,
    get_calibration,
    last_good,
    record_calibration,
    records_since_last_good,
)
from qms.equipment.due import mark_overdue, review_figures, run_daily, send_reminders
from qms.equipment.register import (
    EDITABLE,
    EquipmentFilters,
    change_status,
    due_for,
    get_equipment,
    list_equipment,
    measurements,
    record_problem,
    register_equipment,
    update_equipment,
    usable_choices,
    usable_choices_by_measurement,
)
from qms.equipment.rules import (
    RECORD_KEY,
    REMIND_DAYS,
    add_months,
    is_overdue,
    next_due_from,
    remind_days,
    usable,
)

__all__ = [
    "EDITABLE",
    "RECORD_KEY",
    "REMIND_DAYS",
    "EquipmentFilters",
    "add_months",
    "certificate_path",
    "change_status",
    "due_for",
    "get_calibration",
    "get_equipment",
    "is_overdue",
    "last_good",
    "list_equipment",
    "mark_overdue",
    "measurements",
    "next_due_from",
    "record_calibration",
    "record_problem",
    "records_since_last_good",
    "register_equipment",
    "remind_days",
    "review_figures",
    "run_daily",
    "send_reminders",
    "update_equipment",
    "usable",
    "usable_choices",
    "usable_choices_by_measurement",
]
