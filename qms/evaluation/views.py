"""Pages of supervision and evaluation: schemes, runs, results with stars, evidence, history."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms import trail
from qms.errors import ServiceError, ValidationFailed
from qms.evaluation import charts, labels, permissions, services, sources
from qms.evaluation.forms import CorrectionForm, RunForm, SchemeForm
from qms.evaluation.models import DIRECTIONS, PERIODS, RULES, SUBJECT_KINDS
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.uow import unit_of_work

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")
register_nav(NavItem("evaluation.index", _l("Evaluation"), ("evaluation.",), order=66))


def panels(user) -> list[dict]:
    """Home-page panel: the draft evaluations waiting for the quality office to confirm."""
    if not permissions.can_run(user):
        return []
    drafts = list(db.session.scalars(services.list_evaluations(state="draft").limit(20)))
    return [{"template": "evaluation/_work.html", "drafts": drafts}] if drafts else []


register_work(58, panels)


@bp.app_context_processor
def template_helpers():
    """Give templates this domain's labels and rules."""
    return {
        "evaluation_kind_label": labels.kind_label,
        "evaluation_period_label": labels.period_label,
        "evaluation_rule_label": labels.rule_label,
        "evaluation_direction_label": labels.direction_label,
        "evaluation_state_label": labels.state_label,
        "evaluation_state_badge": labels.state_badge,
        "evaluation_stars": labels.stars_text,
        "evaluation_source_label": sources.label,
        "evaluation_evidence_url": sources.evidence_url,
        "evaluation_rules": permissions,
    }


# -- schemes -------------------------------------------------------------------------------


def _scheme_form(form: SchemeForm | None = None, kind: str | None = None) -> SchemeForm:
    form = form or SchemeForm()
    form.subject_kind.choices = options((k, labels.kind_label(k)) for k in SUBJECT_KINDS)
    form.period.choices = options((p, labels.period_label(p)) for p in PERIODS)
    chosen = kind or form.subject_kind.data
    usable = sources.for_kind(chosen) if chosen in SUBJECT_KINDS else list(sources.SOURCES.values())
    for entry in form.criteria:
        row = entry.form
        row.source.choices = [("", "—")] + options((s.key, str(s.label)) for s in usable)
        row.rule.choices = options((r, labels.rule_label(r)) for r in RULES)
        row.direction.choices = options((d, labels.direction_label(d)) for d in DIRECTIONS)
    return form


def _bands(text: str | None) -> list[list[float]]:
    """Read ``bound: points`` pairs separated by commas; a malformed pair is refused."""
    bands = []
    for pair in (text or "").replace("；", ",").replace(";", ",").split(","):
        if not pair.strip():
            continue
        bound, sep, points = pair.replace("：", ":").partition(":")
        try:
            bands.append([float(bound), float(points)])
        except ValueError:
            raise ValidationFailed(
                _("Write the bands as bound: points pairs, e.g. 0: 100, 1: 80, 3: 50."),
                field="criteria",
            ) from None
        if not sep:
            raise ValidationFailed(
                _("Write the bands as bound: points pairs, e.g. 0: 100, 1: 80, 3: 50."),
                field="criteria",
            )
    return bands


def _criteria(form: SchemeForm) -> list[dict]:
    items = []
    for entry in form.criteria:
        row = entry.form
        if not row.source.data:
            continue
        items.append(
            {
                "source": row.source.data,
                "label": row.title.data,
                "weight": row.weight.data,
                "rule": row.rule.data,
                "direction": row.direction.data,
                "target": row.target.data,
                "zero": row.zero.data,
                "bands": _bands(row.bands.data) if row.rule.data == "bands" else [],
                "params": {
                    "form": row.form_code.data,
                    "field": row.field.data,
                    "value": row.value.data,
                },
            }
        )
    return items


def _thresholds(form: SchemeForm) -> list:
    return [form.five.data, form.four.data, form.three.data, form.two.data]


def _form_of(scheme) -> SchemeForm:
    five, four, three, two = scheme.thresholds
    form = SchemeForm(
        name=scheme.name,
        subject_kind=scheme.subject_kind,
        period=scheme.period,
        five=five,
        four=four,
        three=three,
        two=two,
    )
    while len(form.criteria) < len(scheme.criteria):
        form.criteria.append_entry()
    for entry, criterion in zip(form.criteria, scheme.criteria, strict=False):
        row = entry.form
        row.source.data = criterion.source
        row.title.data = criterion.label
        row.weight.data = criterion.weight
        row.rule.data = criterion.rule
        row.direction.data = criterion.direction
        row.target.data = criterion.target
        row.zero.data = criterion.zero
        row.bands.data = ", ".join(f"{b:g}: {p:g}" for b, p in criterion.bands or [])
        params = criterion.params or {}
        row.form_code.data = params.get("form", "")
        row.field.data = params.get("field", "")
        row.value.data = params.get("value", "")
    return _scheme_form(form, scheme.subject_kind)


def _new_scheme(form: SchemeForm | None = None, code: int = 200):
    return render_template(
        "evaluation/scheme_form.html", form=_scheme_form(form), scheme=None
    ), code


@bp.get("/schemes/new")
def new_scheme():
    """Show the form defining a new evaluation scheme."""
    if not permissions.can_manage_schemes(current_user):
        abort(403)
    kind = request.args.get("kind")
    form = SchemeForm(subject_kind=kind if kind in SUBJECT_KINDS else "department")
    return render_template("evaluation/scheme_form.html", form=_scheme_form(form), scheme=None)


@bp.post("/schemes")
def create_scheme():
    """Define an evaluation scheme: criteria, weights, rules and star thresholds."""
    if not permissions.can_manage_schemes(current_user):
        abort(403)
    form = _scheme_form()
    if not form.validate_on_submit():
        return _new_scheme(form, 422)
    try:
        scheme = services.create_scheme(
            current_user,
            form.name.data,
            form.subject_kind.data,
            form.period.data,
            _criteria(form),
            _thresholds(form),
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _new_scheme(form, exc.status)
    flash(_("Scheme %(name)s saved.", name=scheme.name), "success")
    return redirect(url_for("evaluation.scheme", ident=scheme.id))


def _scheme_page(scheme, form: SchemeForm | None = None, code: int = 200):
    evaluations = list(db.session.scalars(services.list_evaluations(scheme_id=scheme.id)))
    return render_template(
        "evaluation/scheme.html",
        scheme=scheme,
        form=form or _form_of(scheme),
        evaluations=evaluations,
        superseded=services.superseded_ids(evaluations),
        events=trail.events_for("evaluation_scheme", str(scheme.id)),
    ), code


@bp.get("/schemes/<int:ident>")
def scheme(ident: int):
    """Show a scheme: its criteria, thresholds and the evaluations run with it."""
    return _scheme_page(services.get_scheme(ident))


@bp.post("/schemes/<int:ident>")
def change_scheme(ident: int):
    """Change a scheme's name, period, criteria or thresholds."""
    scheme = services.get_scheme(ident)
    if not permissions.can_manage_schemes(current_user):
        abort(403)
    form = _scheme_form(kind=scheme.subject_kind)
    if not form.validate_on_submit():
        return _scheme_page(scheme, form, 422)
    try:
        services.change_scheme(
            current_user,
            scheme,
            name=form.name.data,
            period=form.period.data,
            criteria=_criteria(form),
            thresholds=_thresholds(form),
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _scheme_page(services.get_scheme(ident), form, exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("evaluation.scheme", ident=ident))


# -- evaluations ---------------------------------------------------------------------------


def _run_form(form: RunForm | None = None) -> RunForm:
    form = form or RunForm()
    form.scheme.choices = options((str(s.id), s.name) for s in services.list_schemes())
    return form


def _index(form: RunForm | None = None, code: int = 200):
    evaluations = list(db.session.scalars(services.list_evaluations().limit(100)))
    return render_template(
        "evaluation/index.html",
        schemes=services.list_schemes(),
        evaluations=evaluations,
        superseded=services.superseded_ids(evaluations),
        form=_run_form(form),
    ), code


@bp.get("/")
def index():
    """List the schemes and the evaluations run, newest period first."""
    return _index()


@bp.post("/run")
def run():
    """Run a scheme for a period, giving a draft to check and confirm."""
    if not permissions.can_run(current_user):
        abort(403)
    form = _run_form()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        evaluation = services.run(
            current_user, services.get_scheme(form.scheme.data), form.period.data
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _index(form, exc.status)
    flash(_("%(number)s run: check it and confirm.", number=evaluation.number), "success")
    return redirect(url_for("evaluation.detail", number=evaluation.number))


def _detail(evaluation, correction: CorrectionForm | None = None, code: int = 200):
    return render_template(
        "evaluation/detail.html",
        evaluation=evaluation,
        manual={key for key, s in sources.SOURCES.items() if s.manual},
        missing=services.missing_manual(evaluation),
        superseded=services.is_superseded(evaluation),
        corrected_by=[
            e
            for e in db.session.scalars(services.list_evaluations(scheme_id=evaluation.scheme_id))
            if e.corrects_id == evaluation.id
        ],
        correction=correction or CorrectionForm(),
        events=trail.events_for("evaluation", evaluation.number),
    ), code


@bp.get("/<number>")
def detail(number: str):
    """Show an evaluation's results: each subject's stars and total, and the manual scores."""
    return _detail(services.get_evaluation(number))


@bp.post("/<number>/scores")
def scores(number: str):
    """Enter the manual criteria of a draft, each with a note, in one go."""
    evaluation = services.get_evaluation(number)
    if not permissions.can_adjust(current_user, evaluation):
        abort(403)
    changed = 0
    try:
        with unit_of_work():
            for result in evaluation.results:
                for row in result.criteria:
                    name = f"{result.subject_key}_{row.position}"
                    value = (request.form.get(f"value_{name}") or "").strip()
                    note = (request.form.get(f"note_{name}") or "").strip()
                    if not value and not note:
                        continue
                    if (
                        value
                        and row.value is not None
                        and float(value) == row.value
                        and (note == row.note)
                    ):
                        continue
                    services.adjust(
                        current_user,
                        evaluation,
                        result.subject_key,
                        row.position,
                        value or None,
                        note,
                    )
                    changed += 1
    except ValueError:
        flash(_("The score is a number from 0 to 100."), "error")
        return _detail(services.get_evaluation(number), code=422)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _detail(services.get_evaluation(number), code=exc.status)
    flash(_("%(n)d scores saved.", n=changed), "success")
    return redirect(url_for("evaluation.detail", number=number))


@bp.post("/<number>/confirm")
def confirm(number: str):
    """Confirm a draft: from now on it is kept as it is."""
    evaluation = services.get_evaluation(number)
    if not permissions.can_confirm(current_user, evaluation):
        abort(403)
    try:
        services.confirm(current_user, evaluation)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _detail(services.get_evaluation(number), code=exc.status)
    flash(_("%(number)s confirmed.", number=number), "success")
    return redirect(url_for("evaluation.detail", number=number))


@bp.post("/<number>/discard")
def discard(number: str):
    """Throw a draft away."""
    evaluation = services.get_evaluation(number)
    if not permissions.can_discard(current_user, evaluation):
        abort(403)
    try:
        services.discard(current_user, evaluation)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _detail(services.get_evaluation(number), code=exc.status)
    flash(_("%(number)s discarded.", number=number), "success")
    return redirect(url_for("evaluation.index"))


@bp.post("/<number>/correct")
def correct(number: str):
    """Run a correction of a confirmed evaluation, with a reason."""
    evaluation = services.get_evaluation(number)
    if not permissions.can_correct(current_user, evaluation):
        abort(403)
    form = CorrectionForm()
    if not form.validate_on_submit():
        return _detail(evaluation, form, 422)
    try:
        new = services.correct(current_user, evaluation, form.reason.data)
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_evaluation(number), form, exc.status)
    flash(_("%(number)s run as a correction: check it and confirm.", number=new.number), "success")
    return redirect(url_for("evaluation.detail", number=new.number))


@bp.get("/<number>/subjects/<key>")
def subject(number: str, key: str):
    """Show the evidence behind one subject's score, and its history across periods."""
    evaluation = services.get_evaluation(number)
    result = services.get_result(evaluation, key)
    points = services.history(evaluation.scheme, key)
    return render_template(
        "evaluation/subject.html",
        evaluation=evaluation,
        result=result,
        points=points,
        chart=charts.history_chart(points, evaluation.scheme.thresholds),
    )
