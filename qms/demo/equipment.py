"""The demo's monitoring and measuring equipment (ISO 9001 §7.1.5).

A record form that names the balance it was weighed on, four instruments (one due for
calibration within days, one withdrawn) and a balance found out of tolerance, which
raises a nonconformity listing the weighings made with it since its last good
calibration. Made through the domains' services like the rest of the demo.
"""

from __future__ import annotations

import yaml

from qms.demo.activity import Demo
from qms.documents import services as documents
from qms.equipment import services as equipment
from qms.records import services as records

CODE = "RF-07-04-01"

EN = {
    "form_title": "Sample weighing record",
    "form_body": "Weigh each sample on a balance in calibration and record the mass. "
    "The system offers only the balances that may be used today.",
    "sample": "Sample number",
    "weighed_on": "Date weighed",
    "balance": "Balance used",
    "mass": "Mass",
    "length": "Length",
    "temperature": "Temperature",
    "weighed_by": "Weighed by",
    "balance_1": "Electronic balance, 0.1 mg",
    "balance_2": "Electronic balance, 0.01 g",
    "tape": "Steel tape measure, 5 m",
    "thermometer": "Glass thermometer, 0-50 °C",
    "room": "Inspection room 1",
    "field_kit": "Field inspection kit",
    "lab": "Provincial Institute of Metrology",
    "drift": "Reads 0.05 g high at 200 g, beyond the 0.02 g tolerance.",
    "broken": "Capillary broken; replaced by a digital thermometer.",
}
ZH_HANS = {
    "form_title": "样品称量记录",
    "form_body": "每个样品须在校准有效的天平上称量并记录质量。系统只列出今天可以使用的天平。",
    "sample": "样品编号",
    "weighed_on": "称量日期",
    "balance": "所用天平",
    "mass": "质量",
    "length": "长度",
    "temperature": "温度",
    "weighed_by": "称量人",
    "balance_1": "电子天平（0.1 mg）",
    "balance_2": "电子天平（0.01 g）",
    "tape": "钢卷尺（5 m）",
    "thermometer": "玻璃温度计（0～50 °C）",
    "room": "检验室一",
    "field_kit": "现场检查工具箱",
    "lab": "省计量科学研究院",
    "drift": "在 200 g 处示值偏高 0.05 g，超出 0.02 g 的允许误差。",
    "broken": "毛细管破损，已改用数字温度计。",
}


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def _form(demo: Demo, t: dict) -> None:
    from qms.demo import release_one

    dept = demo.dept("Business Approval Department")
    fields = [
        {"key": "sample_no", "label": t["sample"], "type": "text", "required": True},
        {"key": "weighed_on", "label": t["weighed_on"], "type": "date", "required": True},
        {
            "key": "balance",
            "label": t["balance"],
            "type": "equipment",
            "measurement": t["mass"],
            "required": True,
        },
        {"key": "mass", "label": t["mass"], "type": "number", "unit": "g", "required": True},
        {"key": "weighed_by", "label": t["weighed_by"], "type": "user"},
    ]
    meta = {
        "code": CODE,
        "title": t["form_title"],
        "type": "record_form",
        "department": dept,
        "distribution": [dept],
        "clauses": ["7.1.5"],
        "summary": "First issue",
        "fields": fields,
    }
    text = (
        f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n\n"
        f"# {t['form_title']}\n\n{t['form_body']}\n"
    )
    author, approver = demo.people["author"], demo.people["mrep"]
    doc = documents.create_document(
        author, CODE, t["form_title"], "record_form", department=dept, distribution=[dept]
    )
    release_one(doc, text, author, approver, demo.passwords["mrep"], demo.days(-30))


def load(demo: Demo) -> None:
    """Add the weighing form, the instruments, weighings and an out-of-tolerance result."""
    t = _texts(demo.lang)
    mrep, auditor = demo.people["mrep"], demo.people["auditor"]
    _form(demo, t)
    owner = auditor.username
    # Due for calibration within the week: on the owner's home page and reminded.
    first = equipment.register_equipment(
        mrep,
        t["balance_1"],
        owner,
        t["mass"],
        12,
        serial="AX-224-0193",
        location=t["room"],
        last_calibrated_on=equipment.add_months(demo.days(6), -12),
    )
    second = equipment.register_equipment(
        mrep,
        t["balance_2"],
        owner,
        t["mass"],
        12,
        serial="ME-2002-7781",
        location=t["room"],
        last_calibrated_on=demo.days(-200),
    )
    equipment.register_equipment(
        mrep,
        t["tape"],
        owner,
        t["length"],
        24,
        kind="verification",
        location=t["field_kit"],
        last_calibrated_on=demo.days(-100),
    )
    old = equipment.register_equipment(
        mrep, t["thermometer"], owner, t["temperature"], 12, last_calibrated_on=demo.days(-90)
    )
    equipment.change_status(mrep, old, "withdrawn", t["broken"])
    for n, (balance, mass) in enumerate(((first, "12.4"), (second, "187.35"), (second, "9.20"))):
        records.submit_record(
            auditor,
            CODE,
            {
                "sample_no": f"S-{demo.today.year}-{n + 101}",
                "weighed_on": demo.today.isoformat(),
                "balance": balance.number,
                "mass": mass,
                "weighed_by": auditor.username,
            },
        )
    equipment.record_calibration(
        auditor, second, demo.today, "out_of_tolerance", t["lab"], t["drift"]
    )
