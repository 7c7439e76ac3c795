"""What the demo's people write: records, nonconformities, audits, objectives, feedback.

These are data, not interface text, so they live here rather than in the message
catalogues: English, and Simplified Chinese from which Traditional is made by character
conversion (as the starter documents are). Both dictionaries have the same keys;
``{placeholders}`` are filled in with :meth:`str.format`.
"""

from __future__ import annotations

from functools import cache

EN: dict[str, object] = {
    # -- the change request left in progress -------------------------------------------
    "cr_title": "Update {code} after the internal audit",
    "cr_reason": "The internal audit found the steps out of date with current practice.",
    "cr_decision": "Agreed.",
    "cr_note_heading": "Revision note",
    "cr_note": "Updated after the internal audit.",
    "cr_summary": "Add revision note after the internal audit",
    # -- signatures on the starter documents -------------------------------------------
    "review_comment": "Reviewed: consistent with current practice and the other documents.",
    "approve_comment": "Approved for release.",
    # -- records -----------------------------------------------------------------------
    "person_li": "Li Wei",
    "person_zhang": "Zhang Min",
    "firm_hengtai": "Hengtai Trading Co., Ltd.",
    "matter_individual": "Individual business licence, new registration",
    "matter_address": "Change of registered address",
    "matter_food": "Food business licence",
    "item_floor_plan": "Floor plan of the premises",
    "need_floor_plan": "A plan showing the food storage and preparation areas, signed by "
    "the applicant.",
    "item_health": "Health certificates of the staff",
    "need_health": "A valid health certificate for each person who will handle food; the "
    "two given expired last month.",
    "survey_comment": "I was told about the expired health certificates only on my second "
    "visit. Please tell us everything at once.",
    "amend_reason": "Contact phone mistyped; corrected from the application form.",
    # -- nonconformities ---------------------------------------------------------------
    "nc_form_title": "Superseded application form accepted at window 3",
    "nc_form_description": "Case {record} was accepted on the 2019 edition of the "
    "application form, which was superseded at the start of the year. The old forms were "
    "still in the rack at window 3.",
    "nc_form_containment": "The superseded forms were removed from window 3 and the "
    "applicant's details copied onto the current form the same day.",
    "nc_form_whys": [
        "The applicant filled in an old form taken from the rack at window 3.",
        "Old stock stayed in the rack after the new edition was released.",
        "No one is charged with withdrawing superseded printed forms from the windows.",
    ],
    "nc_form_root_cause": "QP-01 does not say who withdraws superseded printed forms from "
    "the service windows, nor when.",
    "nc_form_action": "Withdraw superseded printed forms from every window on each release",
    "nc_form_action_description": "On the day a form is released, the hall duty manager "
    "collects the old edition from all windows and keeps a withdrawal list.",
    "nc_form_criteria": "No superseded form found at any window in three unannounced spot checks.",
    "nc_form_done": "Superseded forms withdrawn from all 12 windows; the withdrawal list "
    "is kept by the hall duty manager.",
    "nc_form_checked": "Three unannounced spot checks at windows 1 to 12: no superseded "
    "form found.",
    "nc_form_closed": "Effective: no recurrence in the spot checks and the withdrawal list "
    "is in use.",
    "nc_audit_containment": "The duty manager called the applicant, apologised and "
    "accepted the missing letter by e-mail.",
    "nc_audit_whys": [
        "The officer listed only the items she had checked before the queue grew.",
        "She stopped checking once she had found the first problems.",
        "There is no checklist of the documents each matter needs to go through before "
        "the slip is issued.",
    ],
    "nc_audit_root_cause": "Officers check food business applications from memory: "
    "WI-07-02 asks for a complete check but gives no checklist per matter.",
    "nc_audit_correction": "Call the applicant and accept the missing letter by e-mail",
    "nc_audit_correction_done": "Applicant called; the letter was received by e-mail and "
    "added to the file.",
    "nc_audit_action": "Add a checklist of required documents per matter to WI-07-02 and "
    "brief the window officers",
    "nc_audit_action_description": "One checklist per matter, taken from the service "
    "guides; officers tick it before issuing a one-time notification slip.",
    "nc_audit_criteria": "No repeat visit caused by an item missing from a slip in the "
    "next three months.",
    # -- audits ------------------------------------------------------------------------
    "programme_objectives": "Audit every department and every clause of ISO 9001 once "
    "this year, the Service Hall twice.",
    "programme_scope": "All departments of the service centre and every process of the "
    "quality manual QM-01.",
    "programme_criteria": "ISO 9001:2015, the quality manual QM-01 and the procedures and "
    "work specifications in force.",
    "unit_hall_notes": "Most contact with applicants; complaints about repeat visits.",
    "unit_certificates_notes": "Errors on certificates reach the public directly.",
    "unit_approval_notes": "Not audited by the auditors of this department.",
    "audit_done_title": "Service Hall: one-time notification of missing materials",
    "audit_hall_spring_title": "Service Hall: consultation and acceptance (first half-year)",
    "audit_certificates_title": "Certificate issuance: production, checking and hand-over",
    "audit_routine_objectives": "Confirm that the work follows the documents in scope and "
    "that their records are complete.",
    "audit_routine_evidence": "Sampled five case files of the period; each followed this.",
    "audit_routine_summary": "The audited activities followed the documented procedures and "
    "the records sampled were complete. No nonconformity was found.",
    "audit_routine_strengths": "Staff knew the procedures in force and where to read them.",
    "audit_done_objectives": "Check that applicants are told everything missing in one go.",
    "audit_conforming": "Checked five slips issued last month at windows 2 and 5.",
    "audit_guides": "Service guides for every matter are on display at the windows and "
    "published online.",
    "audit_nc": "Slip {record} for {applicant} listed two items; on the second visit the "
    "food safety officer's appointment letter was asked for as well, so the applicant came "
    "three times.",
    "audit_observation": "Templates for the floor plan can be downloaded online, but the "
    "slip does not say where.",
    "audit_observation_action": "Print the download address of the templates on the "
    "one-time notification slip",
    "audit_summary": "The hall applies WI-07-02 consistently. One minor nonconformity "
    "(an incomplete slip) and one observation.",
    "audit_strengths": "Officers read every slip through with the applicant and have it "
    "signed for.",
    "audit_distribution": "Service Hall, Quality Office",
    "audit_planned_title": "Certificate Issuance Department: checking of certificates",
    "audit_planned_objectives": "Check that every certificate is checked against the case "
    "before it is issued.",
    # -- reviews -----------------------------------------------------------------------
    "objective_on_time": "Applications completed within the promised time",
    "objective_on_time_method": "Cases completed on time / cases completed, from the case "
    "system, each month.",
    "objective_on_time_low": "Two officers off sick; the backlog was cleared the next month.",
    "objective_one_visit": "Applicants served in one visit",
    "objective_one_visit_method": "Cases completed without a repeat visit / cases "
    "completed, from the case system.",
    "objective_satisfaction": "Customer satisfaction",
    "objective_satisfaction_method": "Share of satisfied respondents in the quarterly "
    "surveys, weighted by responses.",
    "objective_errors": "Certificate errors found at checking",
    "objective_errors_method": "Certificate checking records (RF-07-03-01) whose result is "
    "not pass, per thousand checked in the quarter; computed by the system from the records.",
    "check_error": "Address differs from the decision; corrected before sealing.",
    "survey_registration": "Business registration",
    "survey_food": "Food business licences",
    "complaint_wait_person": "Mr Wang",
    "complaint_wait": "Waited 70 minutes at the Service Hall although he had booked a time online.",
    "complaint_wait_response": "Apologised by phone. The booking queue was not shown on "
    "the call display that morning; fixed the same day.",
    "complaint_address_person": "Ms Chen",
    "complaint_address": "The address on my business licence was printed wrong and I had "
    "to come back to have the licence reissued.",
    "review_title": "Management review {year}",
    "review_context": "New provincial one-window rules take effect next quarter.",
    "review_resources": "Two new window officers start next month; the queuing system is "
    "due for replacement.",
}

ZH_HANS: dict[str, object] = {
    "cr_title": "内部审核后修订 {code}",
    "cr_reason": "内部审核发现程序步骤与现行做法不一致。",
    "cr_decision": "同意。",
    "cr_note_heading": "修订说明",
    "cr_note": "根据内部审核结果修订。",
    "cr_summary": "根据内部审核增加修订说明",
    "review_comment": "已审核：与现行做法及相关文件一致。",
    "approve_comment": "同意发布。",
    "person_li": "李伟",
    "person_zhang": "张敏",
    "firm_hengtai": "恒泰商贸有限公司",
    "matter_individual": "个体工商户设立登记",
    "matter_address": "变更登记（住所）",
    "matter_food": "食品经营许可证核发",
    "item_floor_plan": "经营场所平面图",
    "need_floor_plan": "标明食品贮存区和加工区的平面图，申请人签字。",
    "item_health": "从业人员健康证明",
    "need_health": "每名接触食品的从业人员均需有效健康证明；所交两份已于上月过期。",
    "survey_comment": "第二次来才被告知健康证明过期，希望能一次说清楚。",
    "amend_reason": "联系电话录入错误，按申请表更正。",
    "nc_form_title": "3 号窗口受理了已作废的申请表",
    "nc_form_description": "办件 {record} 使用 2019 版申请表受理，该版已于年初作废。"
    "3 号窗口的资料架上仍放有旧表。",
    "nc_form_containment": "当天撤下 3 号窗口的作废表格，并将申请人信息转填到现行版本。",
    "nc_form_whys": [
        "申请人从 3 号窗口资料架上取了旧表填写。",
        "新版发布后旧表未从资料架撤下。",
        "没有明确由谁负责从窗口撤回作废的纸质表格。",
    ],
    "nc_form_root_cause": "QP-01 未规定由谁、在何时从服务窗口撤回作废的纸质表格。",
    "nc_form_action": "每次发布新版时从所有窗口撤回作废的纸质表格",
    "nc_form_action_description": "表格发布当天，由大厅值班长从各窗口收回旧版并填写撤回清单。",
    "nc_form_criteria": "三次不预先通知的抽查中，各窗口均未发现作废表格。",
    "nc_form_done": "已从全部 12 个窗口撤回作废表格，撤回清单由大厅值班长保存。",
    "nc_form_checked": "对 1 至 12 号窗口进行三次不预先通知的抽查，均未发现作废表格。",
    "nc_form_closed": "有效：抽查未再发现，撤回清单已在使用。",
    "nc_audit_containment": "值班长致电申请人致歉，并通过电子邮件接收了所缺的任命书。",
    "nc_audit_whys": [
        "经办人只列出了排队人多之前已审核的材料。",
        "发现第一批问题后就停止了审核。",
        "出具告知单前没有按事项逐项核对的材料清单。",
    ],
    "nc_audit_root_cause": "经办人凭记忆审核食品经营申请材料：WI-07-02 要求全面审核，"
    "但未按事项提供核对清单。",
    "nc_audit_correction": "致电申请人，通过电子邮件接收所缺的任命书",
    "nc_audit_correction_done": "已联系申请人，任命书已通过电子邮件收到并归档。",
    "nc_audit_action": "在 WI-07-02 中增加按事项的材料核对清单，并向窗口人员宣贯",
    "nc_audit_action_description": "依据办事指南为每个事项编制核对清单；"
    "出具一次性告知单前逐项勾选。",
    "nc_audit_criteria": "今后三个月内，没有因告知单漏项造成的重复跑动。",
    "programme_objectives": "本年度对每个部门和 ISO 9001 每个条款至少审核一次，"
    "政务服务大厅审核两次。",
    "programme_scope": "服务中心全部部门及质量手册 QM-01 所列全部过程。",
    "programme_criteria": "ISO 9001:2015、质量手册 QM-01 及现行有效的程序文件和作业指导书。",
    "unit_hall_notes": "与申请人接触最多；有重复跑动的投诉。",
    "unit_certificates_notes": "证照差错直接影响群众。",
    "unit_approval_notes": "不得由本部门的审核员审核。",
    "audit_done_title": "政务服务大厅：一次性告知",
    "audit_hall_spring_title": "政务服务大厅：咨询与受理（上半年）",
    "audit_certificates_title": "证照发放：制证、核对与发放",
    "audit_routine_objectives": "确认工作按范围内文件开展，相关记录完整。",
    "audit_routine_evidence": "抽查本期五份办件档案，均按此执行。",
    "audit_routine_summary": "被审核活动均按文件化程序开展，抽查记录完整，未发现不符合。",
    "audit_routine_strengths": "员工熟悉现行程序，并知道在何处查阅。",
    "audit_done_objectives": "检查是否一次性告知申请人需补正的全部材料。",
    "audit_conforming": "抽查 2 号、5 号窗口上月出具的五份告知单。",
    "audit_guides": "各事项办事指南已在窗口公示并在网上公布。",
    "audit_nc": "{applicant}的告知单 {record} 列明两项材料；申请人第二次来时又被要求补交"
    "食品安全管理人员任命书，共跑了三次。",
    "audit_observation": "平面图示范文本可在网上下载，但告知单未注明下载地址。",
    "audit_observation_action": "在一次性告知单上印制示范文本的下载地址",
    "audit_summary": "大厅能够一贯执行 WI-07-02。发现一般不符合一项（告知单漏项）、观察项一项。",
    "audit_strengths": "经办人与申请人逐项核对每份告知单并由申请人签收。",
    "audit_distribution": "政务服务大厅、质量管理办公室",
    "audit_planned_title": "证照发放科：证照校核",
    "audit_planned_objectives": "检查每份证照发放前是否已与办件逐项校核。",
    "objective_on_time": "按承诺时限办结率",
    "objective_on_time_method": "按时办结件数 ÷ 办结件数，每月从办件系统统计。",
    "objective_on_time_low": "两名窗口人员病假；积压件已于次月办结。",
    "objective_one_visit": "一次办结率",
    "objective_one_visit_method": "无需再次跑动的办结件数 ÷ 办结件数，从办件系统统计。",
    "objective_satisfaction": "群众满意度",
    "objective_satisfaction_method": "季度满意度调查中满意受访者所占比例，按样本数加权。",
    "objective_errors": "证照校核差错率",
    "objective_errors_method": "季度内证照校核记录（RF-07-03-01）中结果不是“通过”的件数 ÷ "
    "校核总件数 × 1000，由系统根据记录计算。",
    "check_error": "住所与决定书不一致，盖章前已更正。",
    "survey_registration": "企业登记",
    "survey_food": "食品经营许可",
    "complaint_wait_person": "王先生",
    "complaint_wait": "已在网上预约，但在政务服务大厅仍等候了 70 分钟。",
    "complaint_wait_response": "已电话致歉。当天上午叫号屏未显示预约队列，已于当天修复。",
    "complaint_address_person": "陈女士",
    "complaint_address": "我的营业执照上的住所打印错误，只好再跑一趟换发。",
    "review_title": "{year}年度管理评审",
    "review_context": "省级“一窗通办”新规定将于下季度施行。",
    "review_resources": "下月新增两名窗口人员；排队叫号系统需更换。",
}


@cache
def texts(lang: str) -> dict[str, object]:
    """Return the demo texts in ``lang`` ("en", "zh_Hans" or "zh_Hant")."""
    if lang == "en":
        return EN
    if lang != "zh_Hant":
        return ZH_HANS
    from qms.demo import to_traditional

    def convert(value):
        return (
            [to_traditional(v) for v in value] if isinstance(value, list) else to_traditional(value)
        )

    return {key: convert(value) for key, value in ZH_HANS.items()}
