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
        QMS_ATTACHMENTS_DIR=os.environ.get("QMS_ATTACHMENTS_DIR") or str(instance / "attachments"),
        # The job queue (qms.jobs): a SQLite file beside the database by default, or a
        # Redis URL when several hosts share the work.
        QMS_JOBS_URL=os.environ.get("QMS_JOBS_URL") or f"sqlite:///{instance / 'jobs.sqlite'}",
        # /healthz (qms.health) fails when no worker has left its heartbeat (every minute)
        # for this long: a worker stopped, or every one of its threads busy that long.
        QMS_WORKER_STALE_SECONDS=int(os.environ.get("QMS_WORKER_STALE_SECONDS", 180)),
        # How many proxies (nginx: 1) stand in front and set X-Forwarded-For and -Proto:
        # the client's address (sign-in throttling, the log) and the scheme are theirs.
        QMS_PROXIES=int(os.environ.get("QMS_PROXIES", 0)),
        # The level of the log on standard error, one line per request among it (qms.logs).
        QMS_LOG_LEVEL=(os.environ.get("QMS_LOG_LEVEL") or "INFO").upper(),
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
        **_ldap_config(),
    )
    if test_config:
        app.config.update(test_config)
    if app.config["QMS_LDAP_URL"]:
        from qms.auth.ldap import check_config

        check_config(app.config)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["QMS_TIMEZONE"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several workers share one file: wait for the write lock instead of failing at once.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        # A server that hangs rather than refuses must not hold a request (or /healthz)
        # until the proxy gives up: connecting fails after this many seconds.
        timeout = int(os.environ.get("QMS_DB_CONNECT_TIMEOUT", 10))
        app.config.setdefault(
            "SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"connect_timeout": timeout}}
        )
    app.config["SECRET_KEY"] = (
        app.config.get("SECRET_KEY")
        or os.environ.get("QMS_SECRET_KEY")
        or _instance_secret(instance)
    )


def _ldap_config() -> dict:
    """Directory sign-in (qms.auth.ldap): off while QMS_LDAP_URL is empty."""
    env = os.environ.get
    return {
        # ldap://host:389 or ldaps://host:636.
        "QMS_LDAP_URL": env("QMS_LDAP_URL", "").strip(),
        # Bind straight as the user: a DN template such as uid={username},ou=people,dc=…
        "QMS_LDAP_BIND_DN": env("QMS_LDAP_BIND_DN", ""),
        # Or find the user first (Active Directory): a search base, a filter and a
        # service account that may search (anonymous when empty).
        "QMS_LDAP_BASE_DN": env("QMS_LDAP_BASE_DN", ""),
        "QMS_LDAP_USER_FILTER": env("QMS_LDAP_USER_FILTER") or "(uid={username})",
        "QMS_LDAP_BIND_USER": env("QMS_LDAP_BIND_USER", ""),
        "QMS_LDAP_BIND_PASSWORD": env("QMS_LDAP_BIND_PASSWORD", ""),
        # The attribute holding the account name the local user is called by.
        "QMS_LDAP_USERNAME_ATTR": env("QMS_LDAP_USERNAME_ATTR") or "uid",
        # Groups: searched under GROUP_BASE with GROUP_FILTER ({dn}, {username}), and the
        # user's own memberOf; GROUP_ROLES maps a group's DN or cn to QMS roles.
        "QMS_LDAP_GROUP_BASE": env("QMS_LDAP_GROUP_BASE", ""),
        "QMS_LDAP_GROUP_FILTER": env("QMS_LDAP_GROUP_FILTER") or "(member={dn})",
        "QMS_LDAP_GROUP_ROLES": env("QMS_LDAP_GROUP_ROLES", ""),
        # Roles every directory user holds besides those of their groups (none: a user in
        # no mapped group cannot sign in).
        "QMS_LDAP_DEFAULT_ROLES": env("QMS_LDAP_DEFAULT_ROLES", ""),
        "QMS_LDAP_DEPARTMENT_ATTR": env("QMS_LDAP_DEPARTMENT_ATTR", ""),
        "QMS_LDAP_DEFAULT_DEPARTMENT": env("QMS_LDAP_DEFAULT_DEPARTMENT") or "Unassigned",
        # CA bundle for ldaps:// (the system's when empty); certificates are always checked.
        "QMS_LDAP_CA_FILE": env("QMS_LDAP_CA_FILE", ""),
        "QMS_LDAP_TIMEOUT": float(env("QMS_LDAP_TIMEOUT") or 5),
    }


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
