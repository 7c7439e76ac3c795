"""QMS tracker: an ISO 9001-style quality management system with documents under git."""

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    from qms.config import load_config
    from qms.text import Request

    # Form fields and query strings arrive without NUL characters (see qms.text).
    app.request_class = Request

    load_config(app, test_config)
    register_proxies(app)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_proxies(app: Flask) -> None:
    """Behind nginx (``QMS_PROXIES=1``), take the client's address and scheme from it."""
    proxies = app.config["QMS_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Not X-Forwarded-Host: nginx passes the Host itself, and a client could send one.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def register_logging(app: Flask) -> None:
    """Log to standard error, one line per request (first, so its timing spans the rest)."""
    from qms import logs

    logs.init_app(app)


def register_extensions(app: Flask) -> None:
    """Bind the extensions in :mod:`qms.extensions` to the app."""
    from qms import i18n, navigation, security, trail_text, uow
    from qms.auth import access
    from qms.extensions import csrf, db, migrate

    db.init_app(app)
    # Batch mode lets later migrations alter tables on SQLite too.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    navigation.init_app(app)
    access.init_app(app)
    security.init_app(app)
    trail_text.init_app(app)
    # The document repository is opened once per app context and closed with it.
    app.teardown_appcontext(uow.close_store)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from qms.database import configure_sqlite

        with app.app_context():
            configure_sqlite(db.engine)


# The browser blueprints, one per domain; each module registers its menu entry and
# home-page panels when imported.
BLUEPRINTS = (
    "qms.main",
    "qms.health",
    "qms.auth.views",
    "qms.auth.admin",
    "qms.documents.views",
    "qms.documents.history_views",
    "qms.documents.route_views",
    "qms.audits.views",
    "qms.improvement.views",
    "qms.records.views",
    "qms.records.builder_views",
    "qms.search.views",
    "qms.adoption.views",
    "qms.reviews.views",
    "qms.transfer.views",
    "qms.training.views",
    "qms.context.views",
    "qms.risks.views",
    "qms.suppliers.views",
    "qms.standards.views",
    "qms.equipment.views",
    "qms.notifications.views",
    "qms.webhooks.views",
    "qms.standards.catalogue_views",
    "qms.ratings.views",
    "qms.evaluation.views",
)


def register_blueprints(app: Flask) -> None:
    """Register the browser blueprints and the API."""
    from importlib import import_module

    from qms.api import register_api

    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    register_api(app)


def register_errorhandlers(app: Flask) -> None:
    """Show errors as pages in the user's language, or as JSON under the API."""
    from qms.errors import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    """Add the ``flask qms`` command group, with each domain's commands named here."""
    from qms.adoption.views import upstream_sync
    from qms.cli import qms
    from qms.search.views import reindex
    from qms.transfer.cli import COMMANDS as TRANSFER_COMMANDS

    for command in (*TRANSFER_COMMANDS, reindex, upstream_sync):
        qms.add_command(command)
    app.cli.add_command(qms)
