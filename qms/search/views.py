"""The search page, reached from the search box in every page's header."""

import click
from flask import Blueprint, render_template, request
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user

from qms.errors import ServiceError
from qms.forms import options
from qms.search import providers, services
from qms.search.forms import SearchForm
from qms.search.models import SEARCH_TYPES

bp = Blueprint("search", __name__, url_prefix="/search")
providers.install()


@bp.get("/")
def index():
    """Search documents, records, nonconformities and actions; show the matching passages."""
    form = SearchForm(request.args)
    form.type.choices = options([(t, services.type_label(t)) for t in SEARCH_TYPES])
    results = None
    if form.q.data and form.validate():
        try:
            results = services.search(
                form.q.data,
                types=form.type.data,
                all_revisions=form.all_revisions.data,
                page=request.args.get("page", 1, type=int) or 1,
                viewer=current_user,
            )
        except ServiceError as exc:
            form.q.errors = [*form.q.errors, exc.message]
    return render_template(
        "search/index.html",
        form=form,
        results=results,
        type_label=services.type_label,
        title=_("Search"),
    )


@click.command()
@click.option("--type", "types", multiple=True, type=click.Choice(SEARCH_TYPES))
@with_appcontext
def reindex(types):
    """Rebuild the search index from documents, records, nonconformities and actions."""
    counts = services.reindex(types or None)
    for type, count in counts.items():
        click.echo(f"{type}: {count} indexed")
