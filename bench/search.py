"""Benchmark search at ten times a real bureau: ~7,000 documents of ~8 KB and 20,000 records.

Run: ``.venv/bin/python bench/search.py [--documents 7000] [--records 20000]
[--database-url postgresql://…]`` (default: SQLite in a temporary folder).

Fills the index through the real ``reindex`` path (normalisation and batched inserts) from
generated providers whose text mixes Chinese and English, then times queries people type:
common and rare English words, one and two Chinese characters, several terms, a type
filter, a later page, and re-indexing one document as a release does.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from qms import ROOT, create_app  # noqa: E402
from qms.extensions import db  # noqa: E402
from qms.search import services  # noqa: E402
from qms.search.services import Entry  # noqa: E402

ZH = (
    "窗口工作人员应当核对申请材料是否齐全",
    "质量办公室负责文件的编号、发放和回收",
    "受控文件加盖受控章后方可发放使用",
    "对不合格的服务进行识别和控制，防止误用",
    "办理时限自受理之日起计算",
    "申请人对办理结果有异议的，可以提出复核",
    "档案室按年度整理归档并编制目录",
    "服务对象满意度每季度统计一次",
    "内部审核覆盖质量管理体系的全部过程",
    "管理评审由最高管理者主持",
)
EN = (
    "The officer at the window checks the application against the service guide.",
    "Records are kept for three years and then destroyed under supervision.",
    "Complaints are answered within five working days.",
    "The quality office issues, withdraws and archives controlled copies.",
    "Nonconforming services are identified and controlled to prevent misuse.",
)
RARE_ZH, RARE_EN = "计量器具", "calibration"


def document_text(n: int, rng: random.Random) -> str:
    parts, size = [], 0
    while size < 8000:
        part = rng.choice(ZH) if rng.random() < 0.7 else rng.choice(EN)
        parts.append(part)
        size += len(part.encode("utf-8"))
    if n % 500 == 0:  # about 14 documents mention the rare words
        parts.insert(rng.randrange(len(parts)), f"{RARE_ZH}的{RARE_EN}每年一次")
    return "。".join(parts)


def documents(total: int):
    rng = random.Random(7)
    for n in range(total):
        yield Entry(
            "document",
            f"WI-{n:05d}",
            f"作业规范 {n} Work specification",
            document_text(n, rng),
            version="A",
        )


def records(total: int):
    rng = random.Random(11)
    for n in range(total):
        text = f"事项: {rng.choice(ZH)} Notes: {rng.choice(EN)} 窗口 {n % 250}"
        yield Entry("record", f"RF-01/2026/{n:06d}", "受理登记表 Intake register", text)


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=7000)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/qms.sqlite"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "QMS_INSTANCE": tmp,
                "SQLALCHEMY_DATABASE_URI": url,
                "QMS_DOCUMENTS_REPO": f"{tmp}/documents.git",
            }
        )
        with app.test_request_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            saved = dict(services.PROVIDERS)
            services.PROVIDERS["document"] = lambda: documents(args.documents)
            services.PROVIDERS["record"] = lambda: records(args.records)
            try:
                start = time.perf_counter()
                counts = services.reindex(["document", "record"])
                took = time.perf_counter() - start
                print(f"backend: {db.engine.dialect.name}")
                print(f"indexed {counts} in {took:.1f} s")
                queries = [
                    ("English, common word", "window", {}),
                    ("English, rare word", RARE_EN, {}),
                    ("English, two words", "quality archives", {}),
                    ("Chinese, one character", "章", {}),
                    ("Chinese, two characters (common)", "受理", {}),
                    ("Chinese, two characters (rare)", "器具", {}),
                    ("Chinese, four characters (rare)", RARE_ZH, {}),
                    ("no match", "宇宙飞船", {}),
                    ("records only", "窗口", {"types": ["record"]}),
                    ("page 5 of a common word", "受理", {"page": 5}),
                ]
                print(f"{'query':40} {'hits':>7} {'median s':>9}")
                for label, q, kw in queries:
                    total = services.search(q, **kw).total
                    seconds = timed(lambda q=q, kw=kw: services.search(q, **kw))
                    print(f"{label:40} {total:>7} {seconds:>9.3f}")
                rng = random.Random(1)

                def release_one():
                    services.index(
                        "document", "WI-00001", "作业规范", document_text(1, rng), version="B"
                    )
                    db.session.commit()

                print(f"{'index one released document':40} {'':>7} {timed(release_one):>9.3f}")
            finally:
                services.PROVIDERS.clear()
                services.PROVIDERS.update(saved)
                if args.database_url:
                    db.session.rollback()
                    db.session.execute(db.delete(services.SearchEntry))
                    db.session.commit()


if __name__ == "__main__":
    main()
