"""The review web app against a hostile but fair tester (issue #14): sign-in redirects stay on
the site, wrong passwords and tokens are throttled and logged, every response carries security
headers and the pages need no inline code, sign-out really ends a session, and title ids with
any character open every title route (without reaching files the catalog does not list)."""
import html
import logging
import re
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner

pytest.importorskip("flask")

from tagger.catalog.db import Catalog  # noqa: E402
from tagger.cli import cli  # noqa: E402
from tagger.review import auth, sessions, throttle  # noqa: E402
from tagger.review.web import create_app  # noqa: E402

from test_review import make_result, write  # noqa: E402
from test_review_web import VIDEO_BYTES, _csrf, signed_in  # noqa: E402

ODD_IDS = ["studio/ep 1", "100%", "what?", "#1", "café ü", "..", "a/../b", "../../etc/passwd", "x%2Fy", "t1/history"]


class Clock:
    """Seconds since 1970 that move only when a test says so."""

    def __init__(self):
        self.now_s = 1_700_000_000.0

    def __call__(self):
        return self.now_s


@pytest.fixture
def site(tmp_path):
    video = tmp_path / "media" / "t1.mp4"
    video.parent.mkdir()
    video.write_bytes(VIDEO_BYTES)
    db = tmp_path / "sec.db"
    with Catalog(db) as catalog:
        write(catalog, make_result("t1", title="Night Shift", video=video),
              *[make_result(title_id, title=f"Odd {n}", video=video) for n, title_id in enumerate(ODD_IDS)])
        tokens = {name: auth.add_editor(catalog, name, f"{name}-password") for name in ("alice", "bob")}
    clock = Clock()
    return {"app": create_app(str(db), clock=clock), "db": db, "tokens": tokens, "clock": clock}


def sign_in(client, name, password, next_target="/"):
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password, "next": next_target,
                                       "csrf_token": _csrf(page.text)})


def from_address(site, address):
    client = site["app"].test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# -- 4: sign-in redirects only to plain local paths -------------------------------------------------

def test_sign_in_never_redirects_off_the_site(site):
    hostile = ["/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", " /evil.com", "/ /evil.com", "/\\evil.com",
               "/\\/evil.com", "//evil.com", "///evil.com", "/%2F/evil.com", "/%5C/evil.com", "/%09/evil.com",
               "https://evil.com", "http:/evil.com", "javascript:alert(1)", "evil.com", "/\x00/evil.com"]
    wrong = {}
    for target in hostile:
        response = sign_in(site["app"].test_client(), "alice", "alice-password", target)
        if response.status_code != 302 or response.headers["Location"] != "/":
            wrong[target] = response.headers.get("Location")
    assert wrong == {}
    # The issue's own request: the target in the sign-in page's query string, decoded by the server.
    client = site["app"].test_client()
    page = client.get("/login?next=/%09/evil.com")
    assert 'name="next" value="/"' in page.text
    response = client.post("/login?next=/%09/evil.com", data={"name": "alice", "password": "alice-password",
                                                              "csrf_token": _csrf(page.text)})
    assert response.headers["Location"] == "/"
    for good in ("/titles/t1", "/queue?facet=mood", "/?q=night&status=ok&pending=1", "/titles/100%2525"):
        assert sign_in(site["app"].test_client(), "alice", "alice-password", good).headers["Location"] == good


# -- 5: throttling of wrong passwords and tokens ----------------------------------------------------

def test_wrong_passwords_are_throttled_per_address_and_name_and_logged(site, caplog):
    caplog.set_level(logging.WARNING, logger="tagger.review.throttle")
    clock, tries = site["clock"], from_address(site, "10.0.0.1")
    for _ in range(throttle.FREE_FAILURES):
        assert sign_in(tries, "alice", "guess-password").status_code == 401
    refused = sign_in(tries, "alice", "alice-password")   # the right one, but too late
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "too many failed sign-ins" in refused.text
    clock.now_s += 1
    assert sign_in(tries, "alice", "guess-password").status_code == 401
    assert sign_in(tries, "alice", "alice-password").headers["Retry-After"] == "2"   # the delay grows
    # A fresh address does not help against a name under attack ...
    assert sign_in(from_address(site, "10.0.0.2"), "alice", "alice-password").status_code == 429
    # ... and fresh names do not help an address under suspicion.
    clock.now_s += 2
    spray = from_address(site, "10.0.0.3")
    for n in range(throttle.FREE_FAILURES):
        assert sign_in(spray, f"nobody{n}", "guess-password").status_code == 401
    assert sign_in(spray, "bob", "bob-password").status_code == 429
    # Once the delay has passed the right password works, and it clears the name's count.
    assert sign_in(tries, "alice", "alice-password").status_code == 302
    other = from_address(site, "10.0.0.4")
    assert [sign_in(other, "alice", "typo-password").status_code for _ in range(2)] == [401, 401]

    lines = [r.getMessage() for r in caplog.records if r.name == "tagger.review.throttle"]
    assert any("'alice'" in line and "10.0.0.1" in line and "failed" in line for line in lines)
    assert any("'alice'" in line and "10.0.0.2" in line and "refused" in line for line in lines)
    assert any("'nobody4'" in line and "10.0.0.3" in line for line in lines)
    assert not [line for line in lines
                if any(secret in line for secret in ("guess-", "alice-password", "bob-password", "typo-"))]


def test_wrong_api_tokens_are_throttled_and_logged_without_the_token(site, caplog):
    caplog.set_level(logging.WARNING, logger="tagger.review.throttle")
    tries = from_address(site, "10.0.0.9")
    for n in range(throttle.FREE_FAILURES):
        bad = tries.get("/api/titles", headers={"Authorization": f"Bearer tgr_guess{n}"})
        assert bad.status_code == 401 and bad.json["error"] == "invalid API token"
    good = {"Authorization": f"Bearer {site['tokens']['alice']}"}
    refused = tries.get("/api/titles", headers=good)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1" and "retry in" in refused.json["error"]
    assert from_address(site, "10.0.0.10").get("/api/titles", headers=good).status_code == 200
    site["clock"].now_s += 1
    assert tries.get("/api/titles", headers=good).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "tagger.review.throttle"]
    assert len(lines) == throttle.FREE_FAILURES + 1 and all("10.0.0.9" in line for line in lines)
    assert not [line for line in lines if "tgr_" in line]


def test_throttle_delay_doubles_up_to_a_cap_and_is_forgotten_after_the_window():
    clock = Clock()
    policy = throttle.Throttle(clock=clock)
    waits = []
    for _ in range(throttle.FREE_FAILURES + 14):
        clock.now_s += policy.retry_after_s("10.1.1.1", "ed")
        policy.failed("sign-in", "10.1.1.1", "ed")
        waits.append(policy.retry_after_s("10.1.1.1", "ed"))
    assert waits[:throttle.FREE_FAILURES - 1] == [0] * (throttle.FREE_FAILURES - 1)
    assert waits[throttle.FREE_FAILURES - 1:throttle.FREE_FAILURES + 3] == [1, 2, 4, 8]
    assert waits[-1] == throttle.MAX_DELAY_S and max(waits) == throttle.MAX_DELAY_S
    assert policy.retry_after_s("10.1.1.2", "someone-else") == 0
    clock.now_s += throttle.WINDOW_S + 1
    policy.failed("sign-in", "10.1.1.1", "ed")
    assert policy.retry_after_s("10.1.1.1", "ed") == 0   # counting starts again


# -- 6: security headers, no inline code ------------------------------------------------------------

def test_every_response_carries_security_headers(site):
    client = signed_in(site)
    alice = {"Authorization": f"Bearer {site['tokens']['alice']}"}
    responses = {
        "login page": site["app"].test_client().get("/login"),
        "redirect to sign-in": site["app"].test_client().get("/titles/t1"),
        "catalog page": client.get("/"), "title page": client.get("/titles/t1"), "queue page": client.get("/queue"),
        "page 404": client.get("/titles/nope"), "API": client.get("/api/titles", headers=alice),
        "API 401": site["app"].test_client().get("/api/queue"),
        "API 404": client.get("/api/titles/nope", headers=alice),
        "keyframe": client.get("/titles/t1/keyframes/0/60.jpg"), "video": client.get("/titles/t1/video/0"),
        "script": client.get("/static/app.js"),
    }
    for what, response in responses.items():
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp, what
        assert response.headers.get("X-Frame-Options") == "DENY", what
        assert response.headers.get("X-Content-Type-Options") == "nosniff", what
        assert response.headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), what
    for what in ("catalog page", "title page", "queue page", "API", "API 401", "login page"):
        assert responses[what].headers["Cache-Control"] == "no-store", what
    for what in ("keyframe", "video"):
        assert "private" in responses[what].headers["Cache-Control"] and responses[what].status_code == 200, what


def test_pages_have_no_inline_script_style_or_handlers(site):
    client = signed_in(site)
    client.post("/api/titles/t1/decisions", json={"tag": "heist", "action": "accept", "version": 1},
                headers={"X-CSRF-Token": client.csrf})
    for url in ("/login", "/", "/titles/t1", "/queue", "/titles/nope"):
        html = (client if url != "/login" else site["app"].test_client()).get(url).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], url
        assert re.findall(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", html, re.I) == [], url
    page = client.get("/titles/t1").text
    assert '<rect width="90"' in page and 'fill="#112233"' in page   # bars and swatches as SVG attributes


# -- 7: sessions end on the server ------------------------------------------------------------------

def _cookie(client):
    return client.get_cookie("session").value


def _replay(site, cookie):
    client = site["app"].test_client()
    client.set_cookie("session", cookie)
    return client


def test_a_cookie_saved_before_sign_out_opens_nothing_after(site):
    client = signed_in(site)
    saved = _cookie(client)
    assert _replay(site, saved).get("/titles/t1").status_code == 200
    client.post("/logout", data={"csrf_token": client.csrf})
    replayed = _replay(site, saved)
    page = replayed.get("/titles/t1")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = replayed.get("/api/titles/t1")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert replayed.post("/api/titles/t1/decisions", json={"tag": "heist", "action": "accept"},
                         headers={"X-CSRF-Token": client.csrf}).status_code == 401


def test_the_catalog_keeps_only_a_hash_of_the_session_id(site):
    client = signed_in(site)
    cookie = site["app"].session_interface.get_signing_serializer(site["app"]).loads(_cookie(client))
    with Catalog(site["db"]) as catalog:
        assert catalog.session(auth.hash_token(cookie["sid"])).editor == "alice"
        assert catalog.session(cookie["sid"]) is None
    client.post("/logout", data={"csrf_token": client.csrf})
    with Catalog(site["db"]) as catalog:
        assert catalog.session(auth.hash_token(cookie["sid"])) is None


def test_sessions_expire_when_idle_and_at_their_maximum_age(site):
    clock = site["clock"]
    client = signed_in(site)
    clock.now_s += sessions.IDLE_S + 1
    assert client.get("/").status_code == 302
    client = signed_in(site)
    started_s = clock.now_s
    while clock.now_s + sessions.IDLE_S - 60 < started_s + sessions.MAX_AGE_S:
        clock.now_s += sessions.IDLE_S - 60   # always back before the idle limit
        assert client.get("/").status_code == 200
    clock.now_s = started_s + sessions.MAX_AGE_S + 1
    assert client.get("/").status_code == 302


def test_a_new_token_or_password_ends_the_editors_sessions(site):
    alice, bob = signed_in(site), signed_in(site, "bob")
    with Catalog(site["db"]) as catalog:
        auth.new_editor_token(catalog, "alice")
    assert alice.get("/").status_code == 302 and bob.get("/").status_code == 200
    alice = signed_in(site)
    changed = CliRunner().invoke(cli, ["editors", "password", "alice", "--password-stdin", "--catalog",
                                       str(site["db"])], input="brand-new-password\n")
    assert changed.exit_code == 0, changed.output
    assert alice.get("/").status_code == 302 and bob.get("/").status_code == 200
    assert sign_in(site["app"].test_client(), "alice", "alice-password").status_code == 401
    assert sign_in(site["app"].test_client(), "alice", "brand-new-password").status_code == 302
    unknown = CliRunner().invoke(cli, ["editors", "password", "nobody", "--password-stdin", "--catalog",
                                       str(site["db"])], input="long-enough-password\n")
    assert unknown.exit_code == 1 and "no editor 'nobody'" in unknown.output


# -- 9: title ids with any character ----------------------------------------------------------------

def _follow(client, base: str, href: str):
    """GET a link as a browser would: resolved against the page (dot segments folded)."""
    absolute = urljoin("http://localhost" + base, href)
    parts = urlsplit(absolute)
    return client.get(parts.path + ("?" + parts.query if parts.query else ""))


def _attr(page: str, pattern: str) -> str:
    return html.unescape(re.search(pattern, page).group(1))


def test_odd_title_ids_open_every_title_route(site):
    client = signed_in(site)
    headers = {"X-CSRF-Token": client.csrf}
    catalog_page = client.get("/").text
    for n, title_id in enumerate(ODD_IDS):
        href = _attr(catalog_page, rf'<a href="([^"]+)">Odd {n}</a>')
        page = _follow(client, "/", href)
        assert page.status_code == 200 and f">Odd {n}</h1>" in page.text, title_id
        keyframe = _attr(page.text, r'<img loading="lazy" alt="scene 1" src="([^"]+)"')
        assert _follow(client, href, keyframe).data == b"\xff\xd8jpeg", title_id
        video = _follow(client, href, _attr(page.text, r'<video id="player"[^>]* src="([^"]+)"'))
        assert video.status_code == 200 and video.data == VIDEO_BYTES, title_id
        api = _attr(page.text, r'id="add-search"[^>]* data-title-url="([^"]+)"')
        assert _follow(client, href, api).json["id"] == title_id
        decided = client.post(urlsplit(urljoin("http://localhost" + href, api + "/decisions")).path,
                              json={"tag": "heist", "action": "accept", "version": 1}, headers=headers)
        assert decided.status_code == 200 and decided.json["status"] == "accepted", title_id
        history = _follow(client, href, api + "/history")
        assert [(h["title_id"], h["tag"]) for h in history.json["items"]] == [(title_id, "heist")]
        taxonomy = _follow(client, href, api + "/taxonomy?q=hospital")
        assert taxonomy.status_code == 200 and taxonomy.json[0]["tag"] == "hospital", title_id
    # The queue's rows link to their title and carry its API address, encoded the same way.
    queue = client.get("/queue").text
    rows = re.findall(r'<tr class="tag status-auto" data-title-id="([^"]*)"[^>]* data-title-url="([^"]+)"'
                      r' data-href="([^"]+)"', queue)
    seen = set()
    for title_id, api, href in ((html.unescape(a), html.unescape(b), html.unescape(c)) for a, b, c in rows):
        assert _follow(client, "/queue", api).json["id"] == title_id
        assert _follow(client, "/queue", href).status_code == 200
        seen.add(title_id)
    assert seen >= set(ODD_IDS)


def test_odd_title_ids_survive_the_sign_in_detour(site):
    catalog_page = signed_in(site).get("/").text
    for n, title_id in enumerate(ODD_IDS):
        client = site["app"].test_client()
        href = _attr(catalog_page, rf'<a href="([^"]+)">Odd {n}</a>')
        detour = _follow(client, href, href)
        assert detour.status_code == 302, title_id
        login_page = _follow(client, href, detour.headers["Location"]).text
        back = client.post("/login", data={"name": "alice", "password": "alice-password",
                                           "csrf_token": _csrf(login_page),
                                           "next": _attr(login_page, r'name="next" value="([^"]*)"')})
        assert back.status_code == 302, title_id
        assert f">Odd {n}</h1>" in _follow(client, "/login", back.headers["Location"]).text, title_id


def test_paths_from_the_request_never_reach_files(site):
    client = signed_in(site)
    for url in ("/titles/..%2F..%2Fetc%2Fpasswd/video/0", "/titles/../../etc/passwd/video/0",
                "/titles/%2E%2E/%2E%2E/etc/passwd", "/titles/..%252F..%252Fetc%252Fpasswd/video/1",
                "/titles/t1/keyframes/0/..%2F..%2F60.jpg", "/static/..%2F..%2Fcatalog%2Fschema.py"):
        response = client.get(url)
        assert response.status_code == 404 and b"CREATE TABLE" not in response.data, url
    # A title whose id spells a path gets its own catalog asset, nothing else.
    passwd = client.get("/titles/..%252F..%252Fetc%252Fpasswd/video/0")
    assert passwd.status_code == 200 and passwd.data == VIDEO_BYTES


def test_secure_cookies_keep_the_session_off_plain_http(site):
    """Behind HTTPS (--secure-cookies) the session cookie says Secure and responses ask for HSTS;
    by default (a local, plain-HTTP server) neither, or signing in over http would not stick."""
    plain = signed_in(site)
    assert "Strict-Transport-Security" not in plain.get("/").headers
    app = create_app(site["app"].config["CATALOG"], secure_cookies=True)
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    response = client.post("/login", base_url="https://localhost",
                           data={"name": "alice", "password": "alice-password", "next": "/",
                                 "csrf_token": _csrf(page.text)})
    assert response.status_code == 302
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie")
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
