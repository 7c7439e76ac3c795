"""The checklist data in ``audits/`` and the questions a plan takes from procedures.

``audits/iso9001-2015.yaml`` holds audit questions clause by clause (4.1 to 10.3) in
English and Simplified Chinese. Procedures in scope add one question per numbered step
(or, for a section without numbered steps, its first requirement) of their effective
text; a heading on its own is never a question.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from qms import ROOT, render

CHECKLIST_FILE = ROOT / "audits" / "iso9001-2015.yaml"
# Sections that describe a procedure rather than prescribe work: no question for them.
SKIPPED_HEADINGS = re.compile(
    r"purpose|scope|terms|definitions|responsibilit|records|references|related|revision|"
    r"目的|范围|術語|术语|定义|職責|职责|记录|記錄|相关文件|相關文件|引用|修订|修訂",
    re.IGNORECASE,
)
STEP_RE = re.compile(r"^\s{0,3}(\d{1,2})[.)]\s+(.+)$")
HEADING_RE = re.compile(r"^(#{2,4})\s+(.+?)\s*#*\s*$")
SECTION_NUMBER_RE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+")
BULLET_RE = re.compile(r"^\s{0,3}[-*+]\s+(.+)$")
# The first sentence of a paragraph: up to a full stop (Latin or Chinese) or the line end.
SENTENCE_RE = re.compile(r"^(.+?[.。!！?？])(?:\s|$)")


@dataclass(frozen=True)
class ChecklistQuestion:
    id: str
    clause: str  # the precise clause, e.g. "8.5.1", else the clause it is listed under
    main_clause: str
    text: dict[str, str]
    hint: dict[str, str]

    def text_in(self, lang: str) -> str:
        return self.text.get(_lang(lang)) or self.text["en"]

    def hint_in(self, lang: str) -> str | None:
        return self.hint.get(_lang(lang)) or self.hint.get("en")


@dataclass(frozen=True)
class ChecklistClause:
    clause: str
    title: dict[str, str]
    questions: tuple[ChecklistQuestion, ...]

    def title_in(self, lang: str) -> str:
        return self.title.get(_lang(lang)) or self.title["en"]


def _lang(lang: str | None) -> str:
    # Traditional Chinese readers are served the Simplified text until it is translated.
    return "zh_Hans" if (lang or "").startswith("zh") else "en"


@functools.cache
def load(path: Path = CHECKLIST_FILE) -> tuple[ChecklistClause, ...]:
    """Return the checklist clauses in order, read once per process."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    clauses = []
    for entry in data["clauses"]:
        main = str(entry["clause"])
        questions = tuple(
            ChecklistQuestion(
                id=str(q["id"]),
                clause=str(q.get("clause") or main),
                main_clause=main,
                text={"en": q["en"], "zh_Hans": q["zh_Hans"]},
                hint={
                    k: q[f"evidence_hint_{k}"]
                    for k in ("en", "zh_Hans")
                    if q.get(f"evidence_hint_{k}")
                },
            )
            for q in entry["questions"]
        )
        clauses.append(
            ChecklistClause(
                main, {"en": entry["title_en"], "zh_Hans": entry["title_zh_Hans"]}, questions
            )
        )
    return tuple(clauses)


def main_clauses() -> list[str]:
    """Return the clauses 4.1 … 10.3 the checklist (and the coverage matrix) is laid out by."""
    return [c.clause for c in load()]


def clause_titles(lang: str) -> dict[str, str]:
    return {c.clause: c.title_in(lang) for c in load()}


def related(a: str, b: str) -> bool:
    """Return whether two clauses overlap: equal, or one is a sub-clause of the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def questions_for(clauses: list[str]) -> list[ChecklistQuestion]:
    """Return the checklist questions that concern any of ``clauses``, in checklist order."""
    return [q for c in load() for q in c.questions if any(related(q.clause, s) for s in clauses)]


@dataclass(frozen=True)
class ProcedureStep:
    ref: str  # "5.3 step 2" or the section number
    text: str


def _plain(text: str) -> str:
    """Return a line of Markdown as the plain text an auditor reads."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\*\*|__|`", "", text).strip()


def procedure_steps(body: str, limit: int = 40) -> list[ProcedureStep]:
    """Return the steps of a procedure's Markdown body an auditor should check.

    Numbered list items under a section heading become one step each. A section that
    prescribes work without numbering it becomes one step worded by its first sentence
    of prose, never by its heading: "Identification and coding" asks nothing.
    Descriptive sections (purpose, scope, terms, responsibilities, records) are left out.
    """
    steps: list[ProcedureStep] = []
    section, section_title, skipped, items_in_section = "", "", True, 0
    in_code, first_line = False, ""

    def close_section():
        # A heading with only sub-sections under it prescribes nothing by itself.
        if section_title and not skipped and items_in_section == 0 and first_line:
            steps.append(ProcedureStep(section or section_title, first_line))

    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        heading = HEADING_RE.match(line)
        if heading:
            close_section()
            title = heading.group(2).strip()
            number = SECTION_NUMBER_RE.match(title)
            section = number.group(1) if number else ""
            section_title = SECTION_NUMBER_RE.sub("", title)
            skipped = bool(SKIPPED_HEADINGS.search(section_title))
            items_in_section, first_line = 0, ""
            continue
        step = STEP_RE.match(line)
        if step and section_title and not skipped:
            items_in_section += 1
            ref = f"{section or section_title} ({step.group(1)})"
            steps.append(ProcedureStep(ref, _plain(step.group(2))))
            continue
        stripped = line.strip()
        if first_line or not stripped or stripped.startswith(("|", "#", ">", "!", "<")):
            continue  # tables, quotes, images and raw HTML word no requirement of their own
        if BULLET_RE.match(line):
            continue  # a bullet read alone loses its lead-in ("Do not: - ask for…")
        text = _plain(stripped)
        sentence = SENTENCE_RE.match(text)
        first_line = (sentence.group(1) if sentence else text)[:400]
    close_section()
    return steps[:limit]


def steps_of(markdown: str) -> list[ProcedureStep]:
    """Return :func:`procedure_steps` of a whole Markdown file with front matter."""
    try:
        _meta, body = render.split_front_matter(markdown)
    except render.FrontMatterError:
        body = markdown
    return procedure_steps(body)
