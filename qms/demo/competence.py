"""The demo's competence, context and nonconforming outputs (ISO 9001 §4, §7.2, §8.7).

Positions with the documents and qualification they need and the training done, so the
matrix shows work done, due and a qualification about to expire; the context registers
with a legal requirement that changed (raising change requests on the documents that
implement it); and a nonconformity about certificates issued wrong, its disposition open.
Made through the domains' services like the rest of the demo.
"""

from __future__ import annotations

from qms.context import services as context
from qms.demo.activity import Demo
from qms.improvement import services as improvement
from qms.training import services as training

EN = {
    "clerk": "Window clerk",
    "officer": "Approval officer",
    "checker": "Certificate checker qualification",
    "trainer_hall": "Mei Rep (quality office)",
    "trainer_ext": "Provincial market supervision training centre",
    "issue_online": "All licensing matters must be applied for online by the end of next year",
    "issue_online_text": "The provincial one-window reform moves applications to the portal; "
    "the windows become help desks for those who cannot apply online.",
    "issue_turnover": "Staff turnover at the windows",
    "issue_turnover_text": "Four of twelve window clerks left in the last year; new clerks "
    "need training before they accept applications alone.",
    "party_citizens": "Citizens and businesses applying",
    "party_citizens_needs": "One visit at most, all missing materials told at once, "
    "decisions within the promised time, certificates right first time.",
    "party_bureau": "Municipal administrative approval bureau (supervising body)",
    "party_bureau_needs": "Monthly figures on time limits and satisfaction; rectification "
    "of every poor rating within five working days.",
    "law_licensing": "Administrative Licensing Law of the People's Republic of China",
    "law_licensing_article": "Art. 42",
    "law_licensing_text": "A decision on an application is made within 20 days of its "
    "acceptance; an extension of 10 days needs the approval of the head of the organ.",
    "law_business": "Regulations on Optimising the Business Environment",
    "law_business_article": "Art. 35",
    "law_business_text": "Where materials are missing, the applicant is told once and in "
    "full what to supply.",
    "law_business_amended": "Where materials are missing, the applicant is told once, in "
    "full and in writing, what to supply; the notice is also sent electronically.",
    "law_business_reason": "Amended: the notice must now also be sent electronically.",
    "nc_title": "Business licences printed with the previous registered address",
    "nc_text": "Two licences issued after a change of address still showed the old address; "
    "the applicants noticed when collecting them.",
    "nc_output": "Business licences issued on the day of the address change",
}
ZH_HANS = {
    "clerk": "窗口受理员",
    "officer": "审批员",
    "checker": "证照核验员资格",
    "trainer_hall": "梅代表（质量办公室）",
    "trainer_ext": "省市场监管培训中心",
    "issue_online": "明年底前所有许可事项须全程网上申请",
    "issue_online_text": "全省“一窗通办”改革将申请移到网上办事平台；窗口转为帮办服务，"
    "为不能网上申请的群众办理。",
    "issue_turnover": "窗口人员流动",
    "issue_turnover_text": "过去一年十二名窗口人员中有四人离岗；新人须经培训后方可独立受理。",
    "party_citizens": "办事群众和企业",
    "party_citizens_needs": "最多跑一次，缺件一次告知，承诺时限内办结，证照一次出准。",
    "party_bureau": "市行政审批局（上级监管部门）",
    "party_bureau_needs": "每月报送时限和满意度数据；每一条差评在五个工作日内整改。",
    "law_licensing": "中华人民共和国行政许可法",
    "law_licensing_article": "第四十二条",
    "law_licensing_text": "除当场作出决定的外，应当自受理之日起二十日内作出行政许可决定；"
    "二十日内不能作出决定的，经本机关负责人批准，可以延长十日。",
    "law_business": "优化营商环境条例",
    "law_business_article": "第三十五条",
    "law_business_text": "申请材料不齐全的，应当一次性告知申请人需要补正的全部内容。",
    "law_business_amended": "申请材料不齐全的，应当一次性书面告知申请人需要补正的全部内容，"
    "并同时以电子方式送达。",
    "law_business_reason": "修订：告知书须同时以电子方式送达。",
    "nc_title": "营业执照打印了变更前的住所",
    "nc_text": "住所变更后发出的两份营业执照仍显示旧住所，申请人领取时发现。",
    "nc_output": "住所变更当日发出的营业执照",
}


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def load(demo: Demo, numbers: dict[str, str]) -> None:
    """Positions and training, the context registers, and an output NC on a record."""
    t = _texts(demo.lang)
    people = demo.people
    mrep, staff, auditor = people["mrep"], people["staff"], people["auditor"]
    _training(demo, t, mrep, staff, auditor)
    _context(demo, t, mrep)
    nc = improvement.raise_nc(
        staff,
        t["nc_title"],
        t["nc_text"],
        "staff_report",
        department=demo.dept("Service Hall"),
        clause="8.7",
        responsible=people["author"].username,
        due_date=demo.days(21),
        documents=["WI-07-03"],
        records=[numbers["address"]],
    )
    improvement.set_output(staff, nc, t["nc_output"], 2)


def _training(demo: Demo, t: dict, mrep, staff, auditor) -> None:
    checker = training.create_competence(mrep, t["checker"], validity_months=24)
    clerk = training.create_position(
        mrep,
        staff.department,
        t["clerk"],
        ["QP-07", "WI-07-01", "WI-07-02"],
    )
    officer = training.create_position(
        mrep, auditor.department, t["officer"], ["WI-07-03"], [checker.name]
    )
    training.assign_position(mrep, clerk, staff, demo.days(-300))
    training.assign_position(mrep, officer, auditor, demo.days(-700))
    # Two of the clerk's three documents done; the officer's qualification expires soon.
    for code in ("QP-07", "WI-07-01"):
        training.record_training(
            mrep, staff, demo.days(-40), t["trainer_hall"], "classroom", "passed", code
        )
    training.record_training(
        mrep, auditor, demo.days(-60), t["trainer_hall"], "on_the_job", "passed", "WI-07-03"
    )
    training.record_training(
        mrep,
        auditor,
        demo.days(-700),
        t["trainer_ext"],
        "external_course",
        "passed",
        competence_name=checker.name,
        valid_until=demo.days(20),
    )


def _context(demo: Demo, t: dict, mrep) -> None:
    review = demo.days(180)
    owner = mrep.username
    context.add_issue(
        mrep, "external", t["issue_online"], owner, review, description=t["issue_online_text"]
    )
    context.add_issue(
        mrep, "internal", t["issue_turnover"], owner, review, t["issue_turnover_text"]
    )
    context.add_party(mrep, t["party_citizens"], t["party_citizens_needs"], owner, review)
    context.add_party(mrep, t["party_bureau"], t["party_bureau_needs"], owner, review)
    context.add_legal_requirement(
        mrep,
        t["law_licensing"],
        t["law_licensing_text"],
        owner,
        review,
        article=t["law_licensing_article"],
        implementing=["QP-07", "WI-07-01"],
    )
    business = context.add_legal_requirement(
        mrep,
        t["law_business"],
        t["law_business_text"],
        owner,
        review,
        article=t["law_business_article"],
        implementing=["WI-07-02"],
    )
    context.change_legal_requirement(
        mrep, business, t["law_business_reason"], requirement=t["law_business_amended"]
    )
