"""Languages: the user's preference, then the browser's, in English and Chinese."""

from flask import g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from qms.extensions import babel

LANGUAGES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
# Browsers send regions, not scripts: map them onto the two Chinese scripts.
TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def locale_from_header() -> str:
    for value, _quality in request.accept_languages:
        tag = value.lower().replace("_", "-")
        if tag.startswith(TRADITIONAL):
            return "zh_Hant"
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return "en"


def select_locale() -> str:
    """Pick the user's saved language, then the session's choice, then the browser's."""
    # An API call is answered in the language of the token's owner, like their pages.
    api_user = g.get("api_user")
    if api_user is not None and api_user.locale in LANGUAGES:
        return api_user.locale
    if not has_request_context():
        return "en"  # a job or command translates inside force_locale()
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    return locale_from_header()


def when(value, seconds: bool = False) -> str:
    """Show a stored timestamp in the organisation's zone with the zone's name."""
    from qms import clock

    if value is None:
        return ""
    if isinstance(value, str):
        from datetime import datetime

        value = datetime.fromisoformat(value)
    moment = clock.local(value)
    return f"{moment:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {clock.zone_name(moment)}"


def init_app(app) -> None:
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=lambda: app.config["QMS_TIMEZONE"]
    )
    app.add_template_filter(when)

    @app.context_processor
    def inject_locale():
        locale = str(get_locale() or "en")
        return {
            "current_locale": locale,
            "current_locale_tag": locale.replace("_", "-"),
            "languages": LANGUAGES,
        }
