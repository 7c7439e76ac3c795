"""The demo's register of risks and opportunities (ISO 9001 §6.1).

A high risk of the move to online applications, treated by a preventive action that was
checked effective and re-scored after treatment; a high risk on certificates with its
action still open and its review coming due on the owner's home page; a medium one; and an
opportunity with an improvement action. Made through the domains' services.
"""

from __future__ import annotations

from qms.demo.activity import Demo
from qms.improvement import services as improvement
from qms.risks import services as risks

EN = {
    "portal": "Applications lost when the windows move to the online portal",
    "portal_cause": "Paper applications are re-keyed into the portal by hand during the move.",
    "portal_effect": "Applicants must apply again; time limits are missed.",
    "portal_treatment": "Every re-keyed application is checked against the paper file.",
    "portal_action": "Reconcile re-keyed applications against the paper files every day",
    "portal_done": "Daily reconciliation in place since the first week; no application lost.",
    "portal_check": "Four weeks of reconciliation sheets checked: none missing.",
    "cert": "Certificates printed with data not yet updated",
    "cert_cause": "Changes of registered data reach the printing station late.",
    "cert_effect": "Wrong certificates are issued and must be recalled.",
    "cert_action": "Print only after the change has been confirmed in the register",
    "turnover": "New window clerks accept applications before they are trained",
    "turnover_cause": "Staff turnover at the windows.",
    "turnover_effect": "Incomplete applications are accepted.",
    "booking": "Online appointment booking to spread the morning peak",
    "booking_cause": "Most visitors come between 9 and 11.",
    "booking_effect": "Shorter waiting times and fewer complaints.",
    "booking_action": "Pilot appointment booking at two windows",
    "process": "Acceptance",
}
ZH_HANS = {
    "portal": "窗口业务转入网上办事平台时申请件丢失",
    "portal_cause": "迁移期间纸质申请须人工重新录入平台。",
    "portal_effect": "申请人须重新申请，办理时限超期。",
    "portal_treatment": "每一件重新录入的申请均与纸质材料核对。",
    "portal_action": "每日将重新录入的申请与纸质材料逐件核对",
    "portal_done": "自第一周起每日核对，无一件申请丢失。",
    "portal_check": "抽查四周核对表：无遗漏。",
    "cert": "证照打印时数据尚未更新",
    "cert_cause": "登记事项变更信息送达打印岗位滞后。",
    "cert_effect": "发出错误证照，须召回。",
    "cert_action": "登记系统确认变更后方可打印",
    "turnover": "新窗口人员未经培训即受理申请",
    "turnover_cause": "窗口人员流动。",
    "turnover_effect": "受理了材料不齐的申请。",
    "booking": "网上预约分流上午高峰",
    "booking_cause": "大多数群众在九点至十一点来办事。",
    "booking_effect": "缩短等候时间，减少投诉。",
    "booking_action": "在两个窗口试行网上预约",
    "process": "受理",
}


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def load(demo: Demo) -> None:
    """Fill the register: two high risks with actions, a medium one and an opportunity."""
    t = _texts(demo.lang)
    mrep, staff = demo.people["mrep"], demo.people["staff"]
    hall, certs = demo.dept("Service Hall"), demo.dept("Certificate Issuance Department")
    portal = risks.add_risk(
        mrep,
        "risk",
        t["portal"],
        4,
        5,
        staff.username,
        demo.days(90),
        cause=t["portal_cause"],
        effect=t["portal_effect"],
        department=hall,
        process=t["process"],
        treatment=t["portal_treatment"],
    )
    action = risks.raise_action(
        mrep, portal, t["portal_action"], staff.username, demo.days(7), description=t["portal"]
    )
    improvement.action_transition(staff, action, "in_progress")
    improvement.action_transition(staff, action, "done", note=t["portal_done"])
    improvement.action_transition(mrep, action, "verified_effective", result=t["portal_check"])
    risks.update_risk(staff, portal, residual_likelihood=2, residual_impact=4)
    risks.change_status(staff, portal, "treated")
    cert = risks.add_risk(
        mrep,
        "risk",
        t["cert"],
        3,
        5,
        staff.username,
        demo.days(10),
        cause=t["cert_cause"],
        effect=t["cert_effect"],
        department=certs,
    )
    risks.raise_action(mrep, cert, t["cert_action"], staff.username, demo.days(30))
    risks.add_risk(
        mrep,
        "risk",
        t["turnover"],
        3,
        3,
        mrep.username,
        demo.days(120),
        cause=t["turnover_cause"],
        effect=t["turnover_effect"],
        department=hall,
        process=t["process"],
    )
    booking = risks.add_risk(
        mrep,
        "opportunity",
        t["booking"],
        4,
        3,
        mrep.username,
        demo.days(60),
        cause=t["booking_cause"],
        effect=t["booking_effect"],
        department=hall,
    )
    risks.raise_action(mrep, booking, t["booking_action"], mrep.username, demo.days(45))
