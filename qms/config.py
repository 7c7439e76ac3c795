"""Configuration read from the environment, with embedded defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def load_config(app, test_config: dict | None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``test_config``."""
    instance = Path(os.environ.get("QMS_INSTANCE") or app.instance_path)
    if test_config and "QMS_INSTANCE" in test_config:
        instance = Path(test_config["QMS_INSTANCE"])
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        QMS_INSTANCE=str(instance),
        SQLALCHEMY_DATABASE_URI=os.environ.get("QMS_DATABASE_URL")
        or f"sqlite:///{instance / 'qms.sqlite'}",
        QMS_DOCUMENTS_REPO=os.environ.get("QMS_DOCUMENTS_REPO") or str(instance / "documents.git"),
        QMS_CACHE_DIR=str(instance / "cache"),
        QMS_MAX_CONTENT_BYTES=int(os.environ.get("QMS_MAX_CONTENT_BYTES", 1_000_000)),
        QMS_MAX_ATTACHMENT_BYTES=int(os.environ.get("QMS_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)),
        # Requests may be larger than one document so that an oversized draft is refused by
        # the form with a message, keeping the text, rather than by a bare 413.
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        LANGUAGES=["en", "zh_Hans", "zh_Hant"],
        BABEL_DEFAULT_LOCALE="en",
        # The organisation's zone: every "today" and every time shown (qms.clock).
        QMS_TIMEZONE=os.environ.get("QMS_TIMEZONE") or "UTC",
        # Where uploaded files live (qms.attachments), content-addressed.
        QMS_ATTACHMENTS_DIR=str(instance / "attachments"),
        # The job queue (qms.jobs): a SQLite file beside the database by default, or a
        # Redis URL when several hosts share the work.
        QMS_JOBS_URL=os.environ.get("QMS_JOBS_URL") or f"sqlite:///{instance / 'jobs.sqlite'}",
        API_TITLE="QMS tracker API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Served over HTTPS: cookies are marked Secure and browsers are told to keep HTTPS.
        QMS_HTTPS=os.environ.get("QMS_HTTPS", "").lower() in ("1", "true", "yes"),
        QMS_HSTS_SECONDS=int(os.environ.get("QMS_HSTS_SECONDS", 365 * 24 * 3600)),
        # The remember-me cookie: two weeks rather than Flask-Login's year, never sent
        # cross-site, and not readable by scripts.
        REMEMBER_COOKIE_DURATION=timedelta(days=14),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Sign-in throttling (qms.security): wrong passwords per account and per address.
        # Several workers or hosts must share the counts: set a Redis URL (limits' syntax).
        QMS_SIGN_IN_LIMIT_ACCOUNT=os.environ.get("QMS_SIGN_IN_LIMIT_ACCOUNT")
        or "20 per 15 minutes",
        QMS_SIGN_IN_LIMIT_ADDRESS=os.environ.get("QMS_SIGN_IN_LIMIT_ADDRESS")
        or "100 per 15 minutes",
        QMS_RATELIMIT_STORAGE=os.environ.get("QMS_RATELIMIT_STORAGE") or "memory://",
        # Consecutive wrong passwords after which an account locks until an admin unlocks it.
        QMS_LOCKOUT_AFTER=int(os.environ.get("QMS_LOCKOUT_AFTER", 100)),
        # zxcvbn's score (0-4) a new password must reach.
        QMS_PASSWORD_MIN_SCORE=int(os.environ.get("QMS_PASSWORD_MIN_SCORE", 2)),
        # A session unused this long ends (qms.auth.access).
        QMS_IDLE_TIMEOUT=timedelta(minutes=int(os.environ.get("QMS_IDLE_MINUTES", 60))),
        WTF_CSRF_TIME_LIMIT=None,
        # Werkzeug's current default (scrypt); tests choose a cheap one to stay fast.
        QMS_PASSWORD_METHOD="scrypt",
    )
    if test_config:
        app.config.update(test_config)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["QMS_TIMEZONE"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several workers share one file: wait for the write lock instead of failing at once.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    app.config["SECRET_KEY"] = (
        app.config.get("SECRET_KEY")
        or os.environ.get("QMS_SECRET_KEY")
        or _instance_secret(instance)
    )


def _instance_secret(instance: Path) -> str:
    """Return the instance's secret key, generating it on first start."""
    path = instance / "secret_key"
    if not path.exists():
        key = secrets.token_hex(32)
        # O_EXCL: two workers starting together must agree on one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(key)
    return path.read_text().strip()
