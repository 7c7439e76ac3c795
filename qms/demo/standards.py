"""The demo's standard system (标准体系).

The base / quality / management / work preset with every starter document placed in it,
and fifteen real external standards the centre works to: ISO 9001 and its Chinese
adoption (the 2008 edition replaced by the 2016 one), the GB/T 24421 guide to
standardisation in service organisations, the GB/T 32169 operation specification of
government service centres and the newer national standards on their service. ISO 9001
has its controlled copy (EXT-01) and is cited by the documents that name it. Made through
the domain's services, by the management representative.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from qms.auth.models import User
from qms.documents.models import Document
from qms.extensions import db
from qms.standards import services

ACTOR = "mrep"
AQSIQ_ZH = "国家质量监督检验检疫总局 国家标准化管理委员会"
SAMR_ZH = "国家市场监督管理总局 国家标准化管理委员会"
AQSIQ_EN = "AQSIQ / SAC"
SAMR_EN = "SAMR / SAC"

#: (number, English title, Chinese title, issuing body en, zh, effective on, category)
STANDARDS = (
    (
        "ISO 9001:2015",
        "Quality management systems — Requirements",
        "质量管理体系 要求",
        "ISO",
        "国际标准化组织（ISO）",
        date(2015, 9, 15),
        "JC",
    ),
    (
        "GB/T 19000-2016",
        "Quality management systems — Fundamentals and vocabulary",
        "质量管理体系 基础和术语",
        AQSIQ_EN,
        AQSIQ_ZH,
        date(2017, 7, 1),
        "JC",
    ),
    (
        "GB/T 19001-2008",
        "Quality management systems — Requirements",
        "质量管理体系 要求",
        AQSIQ_EN,
        AQSIQ_ZH,
        date(2009, 3, 1),
        "JC",
    ),
    (
        "GB/T 19001-2016",
        "Quality management systems — Requirements",
        "质量管理体系 要求",
        AQSIQ_EN,
        AQSIQ_ZH,
        date(2017, 7, 1),
        "JC",
    ),
    *(
        (
            f"GB/T 24421.{part}-2009",
            f"Guidelines for standardization of service organizations — Part {part}: {en}",
            f"服务业组织标准化工作指南 第{part}部分：{zh}",
            AQSIQ_EN,
            AQSIQ_ZH,
            date(2009, 12, 1),
            "JC",
        )
        for part, en, zh in (
            (1, "Basic requirements", "基本要求"),
            (2, "Standard system", "标准体系"),
            (3, "Drafting of standards", "标准编写"),
            (4, "Implementation and evaluation of standards", "标准实施及评价"),
        )
    ),
    *(
        (
            f"GB/T 32169.{part}-2015",
            f"Operation specification for government service centers — Part {part}: {en}",
            f"政务服务中心运行规范 第{part}部分：{zh}",
            AQSIQ_EN,
            AQSIQ_ZH,
            None,
            "ZL",
        )
        for part, en, zh in (
            (1, "Basic requirements", "基本要求"),
            (2, "Entry requirements", "进驻要求"),
            (3, "Window service provision requirements", "窗口服务提供要求"),
            (4, "Window service evaluation requirements", "窗口服务评价要求"),
        )
    ),
    (
        "GB/T 36112-2018",
        "Specification for complaint handling in government service centers",
        "政务服务中心服务投诉处置规范",
        AQSIQ_EN,
        AQSIQ_ZH,
        None,
        "ZL",
    ),
    (
        "GB/T 39734-2020",
        "Specification for on-site management of government service centers",
        "政务服务中心服务现场管理规范",
        SAMR_EN,
        SAMR_ZH,
        None,
        "ZL",
    ),
    (
        "GB/T 39735-2020",
        "Guidelines for the evaluation of government services",
        "政务服务评价工作指南",
        SAMR_EN,
        SAMR_ZH,
        None,
        "GL",
    ),
)
#: The older edition and the one that replaced it.
REPLACED = ("GB/T 19001-2008", "GB/T 19001-2016")
#: Where each starter document sits in the base / quality / management / work scheme.
PLACES = {
    "EXT-01": "JC",
    "QM-01": "JC",
    "QP-01": "JC",
    "QP-02": "JC",
    "QP-06": "ZL",
    "QP-07": "ZL",
    "WI-06-01": "ZL",
    "WI-07-01": "ZL",
    "WI-07-02": "ZL",
    "WI-07-03": "ZL",
    "RF-06-00-01": "ZL",
    "RF-06-01-01": "ZL",
    "RF-07-01-01": "ZL",
    "RF-07-02-01": "ZL",
    "RF-07-03-01": "ZL",
    "QP-09": "GZ",
    "RF-09-00-01": "GZ",
}
#: ISO 9001:2015's controlled copy, and the starter documents that cite it by number.
COPY = ("ISO 9001:2015", "EXT-01")
CITING = {"ISO 9001:2015": ("QM-01", "QP-01", "QP-03", "QP-05")}


def load_standards(lang: str) -> None:
    """Place the starter documents in the preset scheme and register the standards."""
    from qms.demo import to_traditional

    def zh(text: str) -> str:
        return to_traditional(text) if lang == "zh_Hant" else text

    actor = db.session.scalar(select(User).where(User.username == ACTOR))
    cats = {c.code: c for c in services.apply_preset(actor, "types")}
    codes = set(db.session.scalars(select(Document.code)))
    # Documents not named above are the management system's own procedures and forms.
    services.place(
        actor,
        "types",
        {code: cats[PLACES.get(code, "GL")].id for code in sorted(codes)},
    )
    for number, en, cn, body_en, body_zh, effective, category in STANDARDS:
        english = lang == "en"
        services.add_standard(
            actor,
            number,
            en if english else zh(cn),
            issuing_body=body_en if english else zh(body_zh),
            effective_on=effective,
            category=cats[category].id,
            document=COPY[1] if number == COPY[0] and COPY[1] in codes else None,
        )
    old, new = REPLACED
    services.set_status(actor, services.standard_by_number(old), "replaced", replaced_by=new)
    for number, citing in CITING.items():
        present = [c for c in citing if c in codes]
        if present:
            services.cite(actor, services.standard_by_number(number), present)
