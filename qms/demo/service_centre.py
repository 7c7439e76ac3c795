"""The demo's service catalogue: fourteen service items of a county service centre and its
six windows, each item with its legal basis and time limits.

Most items are governed by the starter procedures and work specifications; coverage is
high but below its 90 % target, so the work queue has something in it: two items have no
standard (无标) and one falls short (缺标), governed only by the certificate-issuance
specification, which is overdue for its six-monthly review. Made through the catalogue's
services, by the management representative.
"""

from __future__ import annotations

from sqlalchemy import select

from qms.auth.models import User
from qms.extensions import db
from qms.standards import catalogue

BUSINESS = "Business Approval Department"
CERTIFICATES = "Certificate Issuance Department"
HALL = "Service Hall"

# (code, department) of each window; its name is in the texts.
WINDOWS = (
    ("CK-01", HALL),
    ("CK-02", HALL),
    ("CK-03", HALL),
    ("CK-04", HALL),
    ("CK-05", HALL),
    ("CK-06", HALL),
)
# (code, statutory days, promised days, department, windows, governing documents).
ITEMS = (
    ("SX-01", 3, 1, BUSINESS, ("CK-01", "CK-05", "CK-06"), ("QP-07", "WI-07-01")),
    ("SX-02", 3, 1, BUSINESS, ("CK-01", "CK-06"), ("WI-07-01",)),
    ("SX-03", 5, 2, BUSINESS, ("CK-01",), ("QP-07", "WI-07-01")),
    ("SX-04", 10, 5, BUSINESS, ("CK-02",), ("QP-07", "WI-07-02")),
    ("SX-05", 7, 3, BUSINESS, ("CK-02", "CK-06"), ("QP-07", "WI-07-02")),
    ("SX-06", 30, 5, BUSINESS, ("CK-02", "CK-05"), ("QP-07",)),
    ("SX-07", None, 1, BUSINESS, ("CK-01",), ()),  # no standard (无标)
    ("SX-08", 15, 1, HALL, ("CK-03",), ("WI-07-01",)),
    ("SX-09", 15, 1, HALL, ("CK-03",), ("WI-07-01",)),
    ("SX-10", 3, 1, HALL, ("CK-03",), ()),  # no standard (无标)
    ("SX-11", None, 10, HALL, ("CK-03", "CK-06"), ("WI-07-01", "WI-06-01")),
    ("SX-12", 20, 5, CERTIFICATES, ("CK-04",), ("WI-07-03",)),  # falls short (缺标)
    ("SX-13", 15, 7, CERTIFICATES, ("CK-04", "CK-05"), ("QP-07", "WI-07-03")),
    ("SX-14", 15, 10, CERTIFICATES, ("CK-04", "CK-06"), ("WI-07-01", "WI-07-03")),
)

EN = {
    "CK-01": "Comprehensive acceptance window 1",
    "CK-02": "Comprehensive acceptance window 2",
    "CK-03": "Comprehensive acceptance window 3",
    "CK-04": "Comprehensive acceptance window 4",
    "CK-05": "Certificate collection window",
    "CK-06": "Assisted application window",
    "SX-01": (
        "Company establishment registration",
        "Regulations on the Registration of Market Entities, art. 19",
    ),
    "SX-02": (
        "Individual business registration",
        "Regulations on Promoting the Development of Individual Businesses, art. 8; "
        "Regulations on the Registration of Market Entities, art. 19",
    ),
    "SX-03": (
        "Change of business registration",
        "Regulations on the Registration of Market Entities, arts. 24–29",
    ),
    "SX-04": (
        "Food business licence",
        "Food Safety Law, art. 35; Measures for Food Business Licensing and Filing, art. 20",
    ),
    "SX-05": (
        "Construction permit for building works",
        "Construction Law, art. 8; Measures for the Administration of Construction "
        "Permits for Building Works, art. 5",
    ),
    "SX-06": (
        "Real estate registration",
        "Interim Regulations on Real Estate Registration, art. 20",
    ),
    "SX-07": (
        "Invoice application (tax)",
        "Measures for the Administration of Invoices, art. 15",
    ),
    "SX-08": ("Social insurance enrolment", "Social Insurance Law, arts. 57–58"),
    "SX-09": (
        "Urban and rural residents' pension enrolment",
        "Social Insurance Law, art. 20",
    ),
    "SX-10": (
        "Housing provident fund withdrawal",
        "Regulations on the Administration of Housing Provident Funds, art. 25",
    ),
    "SX-11": (
        "Reimbursement of medical insurance expenses",
        "Social Insurance Law, art. 29; Regulations on the Supervision of Medical "
        "Security Funds, art. 7",
    ),
    "SX-12": ("Household registration transfer", "Regulations on Household Registration, art. 10"),
    "SX-13": ("Passport and exit-entry documents", "Passport Law, art. 6"),
    "SX-14": (
        "Disability certificate",
        "Law on the Protection of Persons with Disabilities, art. 8; Measures for the "
        "Administration of the Disability Certificate, art. 9",
    ),
}
ZH_HANS = {
    "CK-01": "综合受理窗口1",
    "CK-02": "综合受理窗口2",
    "CK-03": "综合受理窗口3",
    "CK-04": "综合受理窗口4",
    "CK-05": "出件窗口",
    "CK-06": "帮办代办窗口",
    "SX-01": ("企业设立登记", "《中华人民共和国市场主体登记管理条例》第十九条"),
    "SX-02": (
        "个体工商户登记",
        "《促进个体工商户发展条例》第八条；《中华人民共和国市场主体登记管理条例》第十九条",
    ),
    "SX-03": ("企业变更登记", "《中华人民共和国市场主体登记管理条例》第二十四条至第二十九条"),
    "SX-04": (
        "食品经营许可",
        "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》第二十条",
    ),
    "SX-05": (
        "建筑工程施工许可",
        "《中华人民共和国建筑法》第八条；《建筑工程施工许可管理办法》第五条",
    ),
    "SX-06": ("不动产登记", "《不动产登记暂行条例》第二十条"),
    "SX-07": ("发票申领", "《中华人民共和国发票管理办法》第十五条"),
    "SX-08": ("社保参保登记", "《中华人民共和国社会保险法》第五十七条、第五十八条"),
    "SX-09": ("城乡居民养老保险参保登记", "《中华人民共和国社会保险法》第二十条"),
    "SX-10": ("住房公积金提取", "《住房公积金管理条例》第二十五条"),
    "SX-11": (
        "医疗保险费用报销",
        "《中华人民共和国社会保险法》第二十九条；《医疗保障基金使用监督管理条例》第七条",
    ),
    "SX-12": ("户籍迁移", "《中华人民共和国户口登记条例》第十条"),
    "SX-13": ("出入境证件办理", "《中华人民共和国护照法》第六条"),
    "SX-14": (
        "残疾人证办理",
        "《中华人民共和国残疾人保障法》第八条；《中华人民共和国残疾人证管理办法》第九条",
    ),
}


def texts(lang: str) -> dict:
    """Return the names and legal bases in ``lang`` (Traditional by conversion)."""
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        def convert(value):
            if isinstance(value, tuple):
                return tuple(to_traditional(v) for v in value)
            return to_traditional(value)

        return {k: convert(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def load_catalogue(lang: str) -> None:
    """Add the windows and service items, linked to the starter documents that govern them.

    Runs after the starter documents are in force and before the year's stories, which
    name items and windows.
    """
    from qms.demo import department_name

    t = texts(lang)
    mrep = db.session.scalar(select(User).where(User.username == "mrep"))
    for code, dept in WINDOWS:
        catalogue.add_window(mrep, code, t[code], department_name(dept, lang))
    for code, statutory, promised, dept, windows, documents in ITEMS:
        name, basis = t[code]
        catalogue.add_item(
            mrep,
            code,
            name,
            legal_basis=basis,
            statutory_days=statutory,
            promised_days=promised,
            department=department_name(dept, lang),
            windows=list(windows),
            documents=list(documents),
        )
