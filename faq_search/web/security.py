"""Security at the edge of every request: response headers, per-client rate limits, admin tokens."""

from __future__ import annotations

import hmac
import math
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Config
from .errors import ApiError
from .ratelimit import RateLimiter

__all__ = ["init_app", "check_bearer", "check_same_origin", "client_address", "HEADERS", "FORM_PAGE_REFERRER_POLICY"]

# Scripts and styles only from our own files: an injected <script> or onclick= does not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Search URLs hold what users typed (sometimes personal data): never send them to other sites.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The pages holding a form that posts (pages.FORM_PAGES) say "same-origin" instead: a browser older than
# Sec-Fetch-Site then sends our own forms with our Origin, which under no-referrer was "null", refused like a
# sandboxed frame's. Other sites still get no Referer, and our logs keep none (deploy/nginx.conf).
FORM_PAGE_REFERRER_POLICY = "same-origin"

# (method or None for any, path, limit name): a request takes a token from the limit of every rule it
# matches. A path ending in "/" is a prefix, any other is matched whole: only posting a vote spends the
# feedback limit, not /api/feedback/stats nor an OPTIONS of /api/feedback.
# The search page's forms (a vote, a question, sent without JavaScript) spend the same limits as the API's.
LIMITED = ((None, "/api/", "api"), (None, "/admin/", "api"), ("POST", "/api/feedback", "feedback"),
           ("POST", "/api/question", "question"), ("POST", "/feedback", "feedback"), ("POST", "/question", "question"))


def limits_of(method: str, path: str) -> set[str]:
    """The names of the limits a ``method`` request to ``path`` spends (before the page's own searches)."""
    return {name for m, p, name in LIMITED
            if (m is None or m == method) and (path.startswith(p) if p.endswith("/") else path == p)}


def init_app(app: Flask, settings: Config) -> None:
    if settings.FAQ_PROXY_HOPS:
        # Trust exactly this many X-Forwarded-For hops; clients cannot spoof past our own proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.FAQ_PROXY_HOPS)
    limiters = {}
    if settings.FAQ_RATE_API > 0:
        limiters["api"] = RateLimiter(settings.FAQ_RATE_API)
    if settings.FAQ_RATE_FEEDBACK > 0:
        limiters["feedback"] = RateLimiter(settings.FAQ_RATE_FEEDBACK)
    if settings.FAQ_RATE_QUESTION > 0:  # each one is stored: a script must not fill the editors' inbox
        limiters["question"] = RateLimiter(settings.FAQ_RATE_QUESTION)
    app.extensions["faq_rate_limiters"] = limiters

    @app.before_request
    def _rate_limit():
        limiters = current_app.extensions["faq_rate_limiters"]
        client = client_address()
        names = {name for name in limits_of(request.method, request.path) if name in limiters}
        # The page answers /?q= on the server, as /api/search does.
        if request.path == "/" and "api" in limiters and _asks_a_search():
            names.add("api")
        # Take from every bucket that applies, so a refused feedback post still counts as API use.
        wait = max((limiters[name].take((client, name)) for name in sorted(names)), default=0.0)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests; slow down",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})

    @app.after_request
    def _headers(response):
        # Headers.setdefault finds a header missing by raising and catching an exception (≈ 5 µs each,
        # a fifth of /healthz's time for the five): the names present are read once instead.
        present = {name.lower() for name, _value in response.headers}
        for name, value in HEADERS.items():
            if name.lower() not in present:
                response.headers.add(name, value)
        return response


def _asks_a_search() -> bool:
    """Whether the query string holds a "q", as the page reads it (request.args: "%71" is "q" too). Parsed
    here as request.args parses it but with U+FFFD for bytes that are not UTF-8, on which request.args
    would raise: they are refused (400) only after the limit is taken."""
    query = request.query_string.decode("utf-8", "replace")
    return any(name == "q" for name, _value in parse_qsl(query, keep_blank_values=True))


def client_address() -> str:
    """Who sent the request, as the rate limits and votes tell clients apart: the socket's address, or
    X-Forwarded-For's as far as FAQ_PROXY_HOPS trusts it."""
    return request.remote_addr or "unknown"


def check_same_origin() -> None:
    """Raise 403 ``cross_origin`` unless the browser says the request comes from a page of ours.

    The JSON endpoints are safe from other sites' pages because a cross-site page cannot post
    application/json without a CORS preflight we never answer; an HTML form can post anywhere, so a form
    endpoint asks the browser: Sec-Fetch-Site (every current browser) must be same-origin, else the
    Origin's host must be ours. A request with neither header comes from no browser, or one older than
    both (2019), which no other page can be counted on to drive. Origin "null" is refused: a sandboxed
    frame of any site sends it. Our own forms get a real Origin from browsers too old for Sec-Fetch-Site
    because their pages' Referrer-Policy is FORM_PAGE_REFERRER_POLICY (no-referrer would make it "null").
    A token in the form would not do instead: without a session to bind it to, another site's server
    could fetch a page of ours and copy it.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        allowed = site in ("same-origin", "none")  # none: typed or bookmarked, no page behind it
    else:
        origin = request.headers.get("Origin")
        try:
            allowed = origin is None or urlsplit(origin).netloc == request.host
        except ValueError:  # "http://[": no host of ours
            allowed = False
    if not allowed:
        raise ApiError(403, "cross_origin", "this form is accepted from this site's own pages only")


def check_bearer(expected: str) -> None:
    """Raise 401 unless the request carries ``Authorization: Bearer <expected>``.

    The comparison takes the same time wherever the first wrong byte is (hmac.compare_digest).
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    given = token.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required",
                       headers={"WWW-Authenticate": 'Bearer realm="faq-search admin"'})
