"""Server-rendered web pages: participants' log and forms, researchers' programme pages.

``bp`` is registered by :func:`api.app.register_blueprints`; registering it also sets up,
once per Flask app, what the pages need (:func:`init_app`): Flask-Babel (Swedish by
default, English), CSRF protection (Flask-WTF), rate limits on sign-in (Flask-Limiter),
security headers with a strict Content-Security-Policy, session cookie settings and HTML
error pages.

Modules: ``setup`` (the per-app set-up), ``common`` (guards, helpers, reading a
participant's records), ``forms`` (marshmallow schemas of every form), ``signin``
(``/``, ``/login``, ``/in/<link>``, ``/logout``, ``/lang/<code>``), ``participant``
(``/p/...``) and ``researcher`` (``/r/...``), ``enrolment`` (enrolling several
participants from a CSV list).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")


@bp.record_once
def _setup(state) -> None:  # noqa: ANN001 - flask's BlueprintSetupState
    from api.web.setup import init_app

    init_app(state.app)


from api.web import (  # noqa: E402,F401  (routes)
    enrolment,
    evaluator,
    mail,
    overview,
    participant,
    report,
    researcher,
    signin,
)


def _register_error_pages() -> None:
    from werkzeug.exceptions import HTTPException

    from api.web.setup import (
        handle_web_domain_error,
        handle_web_http_error,
        handle_web_unexpected,
    )
    from domain.errors import DomainError

    bp.register_error_handler(HTTPException, handle_web_http_error)
    bp.register_error_handler(DomainError, handle_web_domain_error)
    bp.register_error_handler(Exception, handle_web_unexpected)


_register_error_pages()
