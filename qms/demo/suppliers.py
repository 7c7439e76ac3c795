"""The demo's external providers (ISO 9001 §8.4).

A courier approved on good evaluations, an IT service provider on condition whose
re-evaluation comes due within weeks, and a toner supplier whose poor evaluation and NC
propose its suspension (left for the quality office to decide); a purchase acceptance
form with a provider field, filled once. Made through the domains' services.
"""

from __future__ import annotations

import yaml

from qms.demo.activity import Demo
from qms.documents import services as documents
from qms.improvement import services as improvement
from qms.records import services as records
from qms.suppliers import services as suppliers

FORM = "RF-08-04-01"

EN = {
    "form_title": "Purchase acceptance record",
    "form_body": "# Purchase acceptance record\n\nFilled by the person who receives a "
    "product or service bought from an external provider. Only providers in the register "
    "that are not suspended can be chosen.\n",
    "item": "Item received",
    "provider": "Provider",
    "quantity": "Quantity",
    "result": "Acceptance",
    "accepted": "accepted",
    "rejected": "rejected",
    "note": "Checks made",
    "courier": "Hangzhou Swift Courier Co.",
    "courier_supplies": "Delivery of licences and certificates to applicants by post",
    "courier_controls": "Signed delivery slips checked weekly; lost items reported within a day",
    "it": "City Network IT Services",
    "it_supplies": "Helpdesk, network and the queue-ticket system at the service hall",
    "it_controls": "Monthly service-level report; response within 4 hours for window outages",
    "toner": "Bright Toner Supplies",
    "toner_supplies": "Toner cartridges and paper for the certificate printers",
    "toner_controls": "Each delivery checked against the order; print test on a blank sheet",
    "quality": "Quality of the product or service",
    "on_time": "On time",
    "response": "Response to problems",
    "added": "Selected after the tender of last year.",
    "conditional": "New contract; approved on condition until the first quarter is reviewed.",
    "good": "Reliable; no licence lost this year.",
    "fair": "Two outages answered late.",
    "poor": "Several cartridges leaked; replacements slow.",
    "nc_title": "Toner cartridges leaked in the certificate printer",
    "nc_text": "Three cartridges of the last delivery leaked; twelve certificates had to be "
    "printed again.",
    "received": "Toner cartridges, 20 pieces",
    "received_note": "Quantity and seals checked; print test passed.",
}
ZH_HANS = {
    "form_title": "采购验收记录",
    "form_body": "# 采购验收记录\n\n由接收外部供方产品或服务的人员填写。"
    "只能选择名录中未被暂停的供方。\n",
    "item": "接收物品",
    "provider": "供方",
    "quantity": "数量",
    "result": "验收结论",
    "accepted": "合格",
    "rejected": "不合格",
    "note": "所做检查",
    "courier": "杭州迅达快递有限公司",
    "courier_supplies": "向申请人邮寄送达证照和证书",
    "courier_controls": "每周核对签收单；遗失件须一日内报告",
    "it": "市网络信息技术服务公司",
    "it_supplies": "服务大厅的运维支持、网络和排队叫号系统",
    "it_controls": "每月服务水平报告；窗口故障须四小时内响应",
    "toner": "明亮耗材供应公司",
    "toner_supplies": "证照打印机的硒鼓和纸张",
    "toner_controls": "每批按订单核对；空白纸试打印",
    "quality": "产品或服务质量",
    "on_time": "准时",
    "response": "问题响应",
    "added": "经去年招标选定。",
    "conditional": "新合同；第一季度评审前为有条件合格。",
    "good": "可靠；今年无证照遗失。",
    "fair": "两次故障响应迟缓。",
    "poor": "多个硒鼓漏粉；更换缓慢。",
    "nc_title": "证照打印机硒鼓漏粉",
    "nc_text": "最近一批中有三个硒鼓漏粉；十二份证书须重新打印。",
    "received": "硒鼓 20 个",
    "received_note": "已核对数量和封条；试打印合格。",
}


def _texts(lang: str) -> dict[str, str]:
    if lang == "en":
        return EN
    if lang == "zh_Hant":
        from qms.demo import to_traditional

        return {k: to_traditional(v) for k, v in ZH_HANS.items()}
    return ZH_HANS


def _form_text(t: dict) -> str:
    meta = {
        "code": FORM,
        "title": t["form_title"],
        "type": "record_form",
        "clauses": ["8.4.2"],
        "summary": "First issue",
        "fields": [
            {"key": "item", "label": t["item"], "type": "text", "required": True},
            {"key": "provider", "label": t["provider"], "type": "supplier", "required": True},
            {"key": "quantity", "label": t["quantity"], "type": "integer", "min": 1},
            {
                "key": "result",
                "label": t["result"],
                "type": "radio",
                "required": True,
                "options": [
                    {"value": "accepted", "label": t["accepted"]},
                    {"value": "rejected", "label": t["rejected"]},
                ],
            },
            {"key": "note", "label": t["note"], "type": "textarea"},
        ],
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{t['form_body']}"


def load(demo: Demo) -> None:
    """Three providers at work, and a purchase record naming one of them."""
    from qms.demo import release_one

    t = _texts(demo.lang)
    mrep, author, staff = demo.people["mrep"], demo.people["author"], demo.people["staff"]
    form = documents.create_document(
        author,
        FORM,
        t["form_title"],
        "record_form",
        department=demo.dept("General Affairs Office"),
        clauses=["8.4.2"],
        distribution=[demo.dept("General Affairs Office"), demo.dept("Service Hall")],
    )
    release_one(form, _form_text(t), author, mrep, demo.passwords["mrep"], demo.days(-120))
    criteria = [
        {"name": t["quality"], "weight": 50},
        {"name": t["on_time"], "weight": 30},
        {"name": t["response"], "weight": 20},
    ]

    def scores(quality: int, on_time: int, response: int) -> dict:
        return {t["quality"]: quality, t["on_time"]: on_time, t["response"]: response}

    courier = suppliers.add_supplier(
        mrep,
        t["courier"],
        t["courier_supplies"],
        author.username,
        controls=t["courier_controls"],
        status="approved",
        criteria=criteria,
        documents=["WI-07-03", FORM],
        reason=t["added"],
    )
    suppliers.evaluate(mrep, courier, scores(85, 90, 80), demo.days(-380), t["good"])
    suppliers.evaluate(author, courier, scores(92, 88, 90), demo.days(-30), t["good"])
    it = suppliers.add_supplier(
        mrep,
        t["it"],
        t["it_supplies"],
        author.username,
        controls=t["it_controls"],
        status="conditional",
        evaluation_months=3,
        criteria=criteria,
        reason=t["conditional"],
    )
    # Evaluated three months ago less a fortnight: the next is due on the owner's page.
    suppliers.evaluate(mrep, it, scores(75, 60, 55), demo.days(-76), t["fair"])
    toner = suppliers.add_supplier(
        mrep,
        t["toner"],
        t["toner_supplies"],
        mrep.username,
        controls=t["toner_controls"],
        status="approved",
        criteria=criteria,
        documents=[FORM],
        reason=t["added"],
    )
    suppliers.evaluate(mrep, toner, scores(45, 60, 40), demo.days(-12), t["poor"])
    received = records.submit_record(
        staff,
        FORM,
        {
            "item": t["received"],
            "provider": toner.number,
            "quantity": 20,
            "result": "rejected",
            "note": t["received_note"],
        },
    )
    improvement.raise_nc(
        staff,
        t["nc_title"],
        t["nc_text"],
        "supplier",
        department=demo.dept("Service Hall"),
        clause="8.4.2",
        records=[received.number],
        supplier=toner.number,
    )
