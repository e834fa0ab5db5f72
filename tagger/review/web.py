"""The review web app (Flask): pages for signed-in editors and a JSON API under /api.

Pages use a signed session cookie (key kept in the catalog) that carries a server-side
session id (tagger.review.sessions) and a CSRF token checked on every state-changing request
(form field ``csrf_token`` or header ``X-CSRF-Token``). The API takes ``Authorization: Bearer
TOKEN``; the pages' own scripts call it with their session and the CSRF header. Wrong
passwords and tokens are throttled (tagger.review.throttle). Every response carries the
security headers below. Title ids travel in URLs as tagger.review.urls encodes them. Media
are looked up in the catalog by title id and index, never by a path from the request. Each
request opens its own Catalog connection (SQLite in WAL mode). Lists come a page at a time
(paging.py): ``?limit=`` and ``?cursor=``; the API answers ``{"items", "next"}``.
"""
from __future__ import annotations

import hmac
import mimetypes
import secrets
import time
from pathlib import Path

from flask import (Flask, abort, g, jsonify, make_response, redirect, render_template, request, send_file, session,
                   url_for)

from tagger.catalog.db import Catalog
from tagger.catalog.records import TITLE_STATUSES
from tagger.errors import TaggerError
from tagger.review import auth, present, sessions, urls
from tagger.review.decisions import (ACTIONS, ConflictError, NotFoundError, ReviewError, bulk_decide, decide,
                                     history, title_taxonomy)
from tagger.review.paging import Cursors, PageError, page_limit
from tagger.review.queue import queue_key, review_queue
from tagger.review.search import search_taxonomy
from tagger.review.throttle import Throttle

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# No inline script or style anywhere (templates use static files and SVG attributes), so the
# policy needs no 'unsafe-inline'; no framing, no sniffing, no referrer leaving the site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(catalog_path: str, *, clock=time.time, interactions: str | None = None,
               model: str | None = None, secure_cookies: bool = False) -> Flask:
    """The app for one catalog; `clock` (seconds since 1970) times sessions and throttling;
    interactions and model (as for `tagger recommend home`) feed the /home/USER preview;
    `secure_cookies` (served behind HTTPS) keeps the session cookie off plain HTTP and asks
    browsers to use HTTPS only (HSTS)."""
    app = Flask(__name__)
    with Catalog(catalog_path) as catalog:
        app.secret_key = auth.session_secret(catalog)
    app.config.update(CATALOG=str(catalog_path), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=secure_cookies)
    app.json.sort_keys = False   # keep the field order of `tagger show --json`
    app.url_map.converters["title"] = urls.TitleIdConverter
    throttle = Throttle(clock=clock)
    cursors = Cursors(app.secret_key)

    def catalog() -> Catalog:
        if "catalog" not in g:
            g.catalog = Catalog(app.config["CATALOG"])
        return g.catalog

    @app.teardown_appcontext
    def close_catalog(_error):
        opened = g.pop("catalog", None)
        if opened is not None:
            opened.close()

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return session["csrf"]

    app.jinja_env.globals.update(csrf_token=csrf_token, clock=present.clock)

    def bearer_token() -> str | None:
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def client() -> str:
        return request.remote_addr or "unknown"

    @app.before_request
    def authenticate():
        """Who is asking: g.editor from the bearer token (API) or the session (pages)."""
        g.editor = None
        token = bearer_token()
        if request.path.startswith("/api/") and token is not None:
            wait_s = throttle.retry_after_s(client())
            if wait_s:
                throttle.refused("API token", client(), None, wait_s)
                return _retry_after(_api_error(429, f"too many wrong tokens from {client()}; retry in {wait_s} s"),
                                    wait_s)
            g.editor = auth.editor_by_token(catalog(), token)
            if g.editor is None:
                throttle.failed("API token", client())
                return _api_error(401, "invalid API token")
            return None   # a bearer token is not sent by browsers on their own: no CSRF check needed
        if session.get("sid"):
            g.editor = sessions.editor_of(catalog(), session["sid"], now_s=clock())
            if g.editor is None:
                session.pop("sid")   # signed out, expired or ended by a new password: the cookie is stale
        if request.path.startswith("/api/") and g.editor is None:
            return _api_error(401, "sign in or send Authorization: Bearer TOKEN (see `tagger editors add`)")
        if request.method in UNSAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not session.get("csrf") or not hmac.compare_digest(sent, session["csrf"]):
                if request.path.startswith("/api/"):
                    return _api_error(403, "missing or wrong CSRF token (header X-CSRF-Token)")
                abort(403, "missing or wrong CSRF token; reload the page and try again")
        if g.editor is None and request.endpoint not in ("login", "static"):
            return redirect(url_for("login", next=urls.request_target(request.path, request.query_string)))
        return None

    @app.after_request
    def security_headers(response):
        response.headers.update(SECURITY_HEADERS)
        if secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if "Cache-Control" not in response.headers:   # media routes set their own
            # static files are public code (revalidated); pages and the API carry editors' data
            response.headers["Cache-Control"] = "no-cache" if request.endpoint == "static" else "no-store"
        return response

    # -- pages ----------------------------------------------------------------------------
    @app.route("/login", methods=["GET", "POST"])
    def login():
        target = urls.local_target(request.values.get("next", "")) or url_for("catalog_page")   # no open redirect
        if request.method == "GET":
            return render_template("login.html", error=None, next=target)
        name = request.form.get("name", "")
        wait_s = throttle.retry_after_s(client(), name)
        if wait_s:   # the password is not even checked
            throttle.refused("sign-in", client(), name, wait_s)
            page = render_template("login.html", next=target,
                                   error=f"too many failed sign-ins; try again in {wait_s} s")
            return _retry_after(make_response(page, 429), wait_s)
        if auth.editor_by_password(catalog(), name, request.form.get("password", "")):
            throttle.succeeded(name)
            session.clear()
            session["sid"] = sessions.start(catalog(), name, now_s=clock())
            return redirect(target)
        throttle.failed("sign-in", client(), name)
        return render_template("login.html", error="wrong name or password", next=target), 401

    @app.post("/logout")
    def logout():
        if session.get("sid"):
            sessions.end(catalog(), session["sid"])
        session.clear()
        return redirect(url_for("login"))

    def paged(list_name: str, key_of, read) -> dict:
        """A page of a list from ?limit= and ?cursor=: read(after, n) gives up to n items after
        the key `after` (None: from the start)."""
        try:
            limit = page_limit(request.args.get("limit"))
            return cursors.page(list_name, read(cursors.after(list_name, request.args.get("cursor")), limit + 1),
                                limit, key_of)
        except PageError as error:
            abort(400, str(error))

    def page_links(page: dict) -> dict:
        """The page's links to the next page and, past the first, back to the first."""
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        return {"next": url_for(request.endpoint, **args, cursor=page["next"]) if page["next"] else None,
                "first": url_for(request.endpoint, **args) if request.args.get("cursor") else None}

    def titles() -> dict:
        filters = _title_filters()
        return paged("titles", lambda t: t["id"],
                     lambda after, limit: catalog().find_titles(**filters, after=after, limit=limit))

    def queue_items() -> dict:
        args = request.args
        return paged("queue", queue_key, lambda after, limit: review_queue(
            catalog(), limit=limit, after=after, title_id=args.get("title") or None, facet=args.get("facet") or None))

    @app.get("/")
    def catalog_page():
        page = titles()
        return render_template("catalog.html", titles=page["items"], links=page_links(page), filters=_title_filters(),
                               facets=catalog().tag_facets(), statuses=TITLE_STATUSES)

    @app.get("/titles/<title:title_id>")
    def title_page(title_id):
        data = _title_or_404(title_id)
        tags = [present.tag_view(t, data["scenes"]) for t in data["tags"]]
        scene_tags: dict[int, list[str]] = {}
        for t in data["scene_tags"]:
            if t["status"] != "rejected":
                scene_tags.setdefault(t["scene"], []).append(t["label"])
        videos = [a for a in data["assets"] if a["kind"] == "video"]
        visual = data["features"].get("visual", {})
        return render_template(
            "title.html", t=data, groups=present.group_by_facet(tags), scene_tags=scene_tags,
            has_video=bool(videos), palette=present.palette(visual), pacing=present.pacing(visual, data["scenes"]),
            mood=present.audio_mood(data["features"].get("audio", {})),
            dialogue=data["features"].get("dialogue", {}),
            history=history(catalog(), title_id, newest_first=True, limit=20),
            facets=sorted({t["facet"] for t in data["tags"]}))

    @app.get("/queue")
    def queue_page():
        page = queue_items()
        return render_template("queue.html", items=page["items"], links=page_links(page),
                               facets=catalog().tag_facets(), facet=request.args.get("facet", ""))

    @app.get("/home/<user>")
    def home_page(user):
        """What USER's home page would show (read-only): rows, titles and the artwork chosen."""
        if "home" not in app.config:            # fitted once, on the first preview
            from tagger.home.load import load_home
            app.config["home"] = load_home(app.config["CATALOG"], interactions, model)
        mood = [m.strip() for m in request.args.get("mood", "").split(",") if m.strip()]
        try:
            page = app.config["home"].page(user, region=request.args.get("region") or None, mood=mood)
        except TaggerError as error:
            abort(400, str(error))
        return render_template("home.html", page=page.to_dict(), mood=", ".join(mood))

    @app.get("/titles/<title:title_id>/keyframes/<int:scene>/<int:frame>.jpg")
    def keyframe(title_id, scene, frame):
        jpeg = catalog().keyframe_jpeg(title_id, scene, frame)
        if jpeg is None:
            abort(404, f"no keyframe {frame} of scene {scene} for title {title_id!r}")
        response = app.response_class(jpeg, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    @app.get("/titles/<title:title_id>/video/<int:index>")
    def video(title_id, index):
        """The title's index-th video asset (by path); Range requests give 206 so the player can seek."""
        paths = catalog().video_paths(title_id)
        if not 0 <= index < len(paths):
            abort(404, f"title {title_id!r} has no video {index}")
        path = Path(paths[index])
        if not path.is_file():
            abort(404, f"video file {path} of title {title_id!r} is gone; re-ingest the title")
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = send_file(path, mimetype=mimetype, conditional=True, max_age=0)
        response.headers["Cache-Control"] = "private, no-cache"   # the browser may keep it, and must ask first
        return response

    # -- API ------------------------------------------------------------------------------
    @app.get("/api/titles")
    def api_titles():
        return jsonify(titles())

    @app.get("/api/titles/<title:title_id>")
    def api_title(title_id):
        return jsonify(_title_or_404(title_id))

    @app.get("/api/titles/<title:title_id>/history")
    def api_history(title_id):
        return _api_call(lambda: paged("history", lambda h: h["id"], lambda after, limit: history(
            catalog(), title_id, request.args.get("tag") or None, after_id=after, limit=limit)))

    @app.post("/api/titles/<title:title_id>/decisions")
    def api_decide(title_id):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _api_error(400, "send a JSON object: {\"tag\": ..., \"action\": accept|reject|add, "
                                   "\"version\": N, \"comment\": ...}")
        problem = _check_fields(body, {"tag": str, "action": str}, {"version": int, "scene": int, "comment": str})
        if problem:
            return _api_error(400, problem)
        if body["action"] not in ACTIONS:
            return _api_error(400, f"action: expected one of {', '.join(ACTIONS)}, got {body['action']!r}")
        return _api_call(lambda: decide(catalog(), title_id, body["tag"], body["action"], editor=g.editor,
                                        comment=body.get("comment") or None, scene=body.get("scene"),
                                        expected_version=body.get("version")))

    @app.post("/api/bulk")
    def api_bulk():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _api_error(400, "send a JSON object: {\"action\": accept|reject, \"title\": ..., \"facet\": ...,"
                                   " \"min_confidence\": ..., \"max_confidence\": ...}")
        problem = _check_fields(body, {"action": str}, {"title": str, "facet": str, "comment": str,
                                                        "min_confidence": (int, float),
                                                        "max_confidence": (int, float)})
        if problem:
            return _api_error(400, problem)
        return _api_call(lambda: bulk_decide(
            catalog(), body["action"], editor=g.editor, title_id=body.get("title") or None,
            facet=body.get("facet") or None, min_confidence=body.get("min_confidence"),
            max_confidence=body.get("max_confidence"), comment=body.get("comment") or None))

    @app.get("/api/queue")
    def api_queue():
        return jsonify(queue_items())

    @app.get("/api/titles/<title:title_id>/taxonomy")
    def api_taxonomy_search(title_id):
        """Taxonomy tags matching ?q= that the title does not carry yet (for "add tag")."""
        data = _title_or_404(title_id)
        present_ids = {t["tag"] for t in data["tags"]}
        return jsonify(search_taxonomy(title_taxonomy(catalog(), title_id), request.args.get("q", ""),
                                       exclude=present_ids))

    @app.errorhandler(404)
    @app.errorhandler(403)
    @app.errorhandler(400)
    def http_error(error):
        if request.path.startswith("/api/"):
            return _api_error(error.code, error.description)
        return render_template("error.html", code=error.code, message=error.description), error.code

    def _title_or_404(title_id: str) -> dict:
        data = catalog().title(title_id)
        if data is None:
            abort(404, f"no title {title_id!r} in the catalog")
        return data

    return app


def _title_filters() -> dict:
    args = request.args
    return {"q": args.get("q", ""), "tag": args.get("tag", ""), "facet": args.get("facet", ""),
            "status": args.get("status", "") if args.get("status") in TITLE_STATUSES else "",
            "pending": args.get("pending") in ("1", "on", "true")}


def _check_fields(body: dict, required: dict, optional: dict) -> str | None:
    for name, kind in required.items():
        if name not in body:
            return f"{name}: required"
    for name, kind in {**required, **optional}.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            return f"{name}: wrong type {type(value).__name__}"
    unknown = set(body) - set(required) - set(optional)
    return f"unknown field(s): {', '.join(sorted(unknown))}" if unknown else None


def _api_error(code: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tagger"'
    return response


def _retry_after(response, wait_s: int):
    response.headers["Retry-After"] = str(wait_s)
    return response


def _api_call(work):
    """Run a review operation; its errors become 404 / 409 / 400 JSON answers."""
    try:
        return jsonify(work())
    except NotFoundError as error:
        return _api_error(404, str(error))
    except ConflictError as error:
        return _api_error(409, str(error), current=error.current)
    except ReviewError as error:
        return _api_error(400, str(error))
