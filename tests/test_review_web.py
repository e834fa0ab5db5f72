"""The review web app and JSON API through Flask's test client: sign-in, CSRF, tokens,
escaping, media by catalog asset only (Range requests), conflicts, filters."""
import json
import re

import pytest
from click.testing import CliRunner

pytest.importorskip("flask")

from tagger.catalog.db import Catalog  # noqa: E402
from tagger.catalog.records import TitleResult  # noqa: E402
from tagger.cli import cli  # noqa: E402
from tagger.review import auth  # noqa: E402
from tagger.review.web import create_app  # noqa: E402

from test_review import make_result, write  # noqa: E402

EVIL = "<script>alert(1)</script>"
VIDEO_BYTES = bytes(range(256)) * 40   # 10240 bytes with a known pattern


@pytest.fixture
def site(tmp_path):
    video = tmp_path / "media" / "t1.mp4"
    video.parent.mkdir()
    video.write_bytes(VIDEO_BYTES)
    db = tmp_path / "web.db"
    with Catalog(db) as catalog:
        write(catalog, make_result("t1", title="Night Shift", video=video),
              make_result("evil", title=EVIL, metadata={"synopsis": EVIL + " & more", "year": 2020},
                          tags=(("comedy", "genre", "Comedy", 0.7),)))
        catalog.write_failure(TitleResult(id="broken", title="Broken", source="test", metadata={}, status="failed",
                                          error="/media/broken.mp4: moov atom not found"),
                              run_id=catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={}))
        tokens = {name: auth.add_editor(catalog, name, f"{name}-password") for name in ("alice", "bob")}
    app = create_app(str(db))
    return {"app": app, "db": db, "tokens": tokens}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def signed_in(site, name="alice"):
    client = site["app"].test_client()
    page = client.get("/login")
    response = client.post("/login", data={"name": name, "password": f"{name}-password", "next": "/",
                                           "csrf_token": _csrf(page.text)})
    assert response.status_code == 302
    client.csrf = _csrf(client.get("/").text)
    return client


def bearer(site, name="alice"):
    return {"Authorization": f"Bearer {site['tokens'][name]}"}


# -- sign-in and CSRF -----------------------------------------------------------------------------

def test_pages_need_a_signed_in_editor(site):
    client = site["app"].test_client()
    response = client.get("/titles/t1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login?next=/titles/t1")
    page = client.get("/login")
    wrong = client.post("/login", data={"name": "alice", "password": "nope-nope", "csrf_token": _csrf(page.text)})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    assert client.get("/").status_code == 302
    client = signed_in(site)
    home = client.get("/")
    assert home.status_code == 200 and "Night Shift" in home.text and 'id="editor-name">alice<' in home.text
    client.post("/logout", data={"csrf_token": client.csrf})
    assert client.get("/").status_code == 302


def test_sign_in_redirects_only_to_local_paths(site):
    client = site["app"].test_client()
    page = client.get("/login")
    response = client.post("/login", data={"name": "alice", "password": "alice-password",
                                           "next": "//evil.example/x", "csrf_token": _csrf(page.text)})
    assert response.headers["Location"] == "/"


def test_state_changes_need_the_csrf_token(site):
    client = site["app"].test_client()
    assert client.post("/login", data={"name": "alice", "password": "alice-password"}).status_code == 403
    client = signed_in(site)
    body = {"tag": "thriller", "action": "accept", "version": 1}
    refused = client.post("/api/titles/t1/decisions", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json["error"]
    assert client.post("/api/titles/t1/decisions", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/logout").status_code == 403
    ok = client.post("/api/titles/t1/decisions", json=body, headers={"X-CSRF-Token": client.csrf})
    assert ok.status_code == 200 and ok.json["status"] == "accepted" and ok.json["editor"] == "alice"


# -- API ------------------------------------------------------------------------------------------

def test_api_refuses_requests_without_a_valid_token(site):
    client = site["app"].test_client()
    for method, url in (("get", "/api/titles"), ("get", "/api/titles/t1"), ("get", "/api/queue"),
                        ("post", "/api/titles/t1/decisions"), ("post", "/api/bulk")):
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/titles", headers={"Authorization": "Bearer tgr_not-a-token"})
    assert bad.status_code == 401 and bad.json["error"] == "invalid API token"


def test_api_title_has_the_shape_of_show_json(site):
    client = site["app"].test_client()
    api = client.get("/api/titles/t1", headers=bearer(site))
    shown = CliRunner().invoke(cli, ["show", "t1", "--json", "--catalog", str(site["db"])])
    assert api.status_code == 200 and api.json == json.loads(shown.output)
    assert {t["tag"]: t["version"] for t in api.json["tags"]} == {"thriller": 1, "tense": 1, "heist": 1}
    assert client.get("/api/titles/nope", headers=bearer(site)).status_code == 404


def test_api_lists_titles_with_filters(site):
    client = site["app"].test_client()
    answer = client.get("/api/titles", headers=bearer(site)).json
    listed = answer["items"]
    assert answer["next"] is None and [t["id"] for t in listed] == ["broken", "evil", "t1"]
    assert {t["id"]: t["pending"] for t in listed} == {"broken": 0, "evil": 1, "t1": 3}

    def ids(query):
        return [t["id"] for t in client.get("/api/titles?" + query, headers=bearer(site)).json["items"]]

    assert ids("status=failed") == ["broken"]
    assert ids("tag=comedy") == ["evil"]
    assert ids("facet=subgenre") == ["t1"]
    assert ids("q=NIGHT") == ["t1"] and ids("q=%25") == []   # search text is literal, not a LIKE pattern
    assert ids("q=more") == ["evil"]                          # the synopsis is searched too
    assert ids("pending=1") == ["evil", "t1"]


def test_api_decisions_conflicts_and_history(site):
    client = site["app"].test_client()
    url = "/api/titles/t1/decisions"
    alice = client.post(url, json={"tag": "heist", "action": "accept", "version": 1}, headers=bearer(site))
    assert alice.status_code == 200 and alice.json["version"] == 2
    bob = client.post(url, json={"tag": "heist", "action": "reject", "version": 1}, headers=bearer(site, "bob"))
    assert bob.status_code == 409 and "you saw version 1" in bob.json["error"]
    assert bob.json["current"]["status"] == "accepted" and bob.json["current"]["editor"] == "alice"
    added = client.post(url, json={"tag": "hospital", "action": "add", "version": 0, "comment": "ward scenes"},
                        headers=bearer(site, "bob"))
    assert added.status_code == 200 and added.json["status"] == "added"
    assert client.post(url, json={"tag": "nope-tag", "action": "add"}, headers=bearer(site)).status_code == 404
    assert client.post(url, json={"tag": "heist", "action": "maybe"}, headers=bearer(site)).status_code == 400
    assert client.post(url, json={"tag": "heist", "action": "accept", "version": "1"},
                       headers=bearer(site)).json["error"] == "version: wrong type str"
    assert client.post(url, data="not json", headers=bearer(site)).status_code == 400
    log = client.get("/api/titles/t1/history", headers=bearer(site)).json["items"]
    assert [(h["tag"], h["editor"], h["after_status"], h["comment"]) for h in log] == [
        ("heist", "alice", "accepted", None), ("hospital", "bob", "added", "ward scenes")]


def test_api_queue_and_bulk(site):
    client = site["app"].test_client()
    queue = client.get("/api/queue?limit=2", headers=bearer(site)).json["items"]
    assert [(i["title_id"], i["tag"]) for i in queue] == [("t1", "heist"), ("t1", "tense")]
    assert client.get("/api/queue?limit=x", headers=bearer(site)).status_code == 400
    done = client.post("/api/bulk", json={"action": "accept", "title": "t1", "min_confidence": 0.55},
                       headers=bearer(site)).json
    assert sorted(t["tag"] for t in done) == ["tense", "thriller"]
    assert [i["tag"] for i in client.get("/api/queue", headers=bearer(site)).json["items"]] == ["heist", "comedy"]


def test_taxonomy_search_leaves_out_tags_the_title_has(site):
    client = site["app"].test_client()
    hits = client.get("/api/titles/t1/taxonomy?q=thr", headers=bearer(site)).json
    ids = [h["tag"] for h in hits]
    # name matches first (the title's own "thriller" left out), then description matches
    assert ids[:2] == ["political-thriller", "psychological-thriller"] and "thriller" not in ids
    hospital = client.get("/api/titles/t1/taxonomy?q=hospital", headers=bearer(site)).json
    assert hospital[0] == {"tag": "hospital", "label": "Hospital", "facet": "setting",
                           "description": hospital[0]["description"]}


# -- pages ----------------------------------------------------------------------------------------

def test_catalog_text_is_escaped_in_every_page(site):
    client = signed_in(site)
    for url in ("/", "/titles/evil", "/queue"):
        html = client.get(url).text
        assert EVIL not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_catalog_page_filters_and_failed_ingests(site):
    client = signed_in(site)
    failed = client.get("/?status=failed").text
    assert "moov atom not found" in failed and "Night Shift" not in failed
    assert "Night Shift" in client.get("/?tag=heist").text and "Night Shift" not in client.get("/?tag=comedy").text


def test_title_page_shows_scenes_tags_evidence_and_features(site):
    html = signed_in(site).get("/titles/t1").text
    assert html.count('class="scene"') == 2 and "/titles/t1/keyframes/1/180.jpg" in html
    assert 'src="/titles/t1/video/0"' in html
    assert html.count('data-tag="') == 3 and 'data-version="1"' in html
    # Subtitle evidence of scene 1 jumps to the scene's start (no subtitle file to find the cue in).
    assert 'data-time="5.0"' in html and "Don&#39;t open the door." in html
    assert 'fill="#112233"' in html and "sombre, subdued" in html   # the palette swatch (SVG: no inline style)


def test_media_come_only_from_catalog_assets(site):
    client = signed_in(site)
    jpeg = client.get("/titles/t1/keyframes/0/60.jpg")
    assert jpeg.status_code == 200 and jpeg.mimetype == "image/jpeg" and jpeg.data == b"\xff\xd8jpeg"
    assert client.get("/titles/t1/keyframes/0/61.jpg").status_code == 404
    whole = client.get("/titles/t1/video/0")
    assert whole.status_code == 200 and whole.data == VIDEO_BYTES and whole.mimetype == "video/mp4"
    part = client.get("/titles/t1/video/0", headers={"Range": "bytes=1000-1099"})
    assert part.status_code == 206 and part.data == VIDEO_BYTES[1000:1100]
    assert part.headers["Content-Range"] == f"bytes 1000-1099/{len(VIDEO_BYTES)}"
    assert client.get("/titles/t1/video/1").status_code == 404
    assert client.get("/titles/evil/video/0").status_code == 404
    assert client.get("/titles/..%2F..%2Fetc%2Fpasswd/video/0").status_code == 404
    assert site["app"].test_client().get("/titles/t1/video/0").status_code == 302   # signed-in editors only


def test_page_decisions_and_history_show_after_reload(site):
    client = signed_in(site)
    headers = {"X-CSRF-Token": client.csrf}
    client.post("/api/titles/t1/decisions", json={"tag": "tense", "action": "reject", "version": 1,
                                                  "comment": "<b>not</b> tense"}, headers=headers)
    html = client.get("/titles/t1").text
    assert re.search(r'class="tag status-rejected" data-title-id="t1" data-tag="tense" data-version="2"', html)
    assert "alice: tense auto → rejected “&lt;b&gt;not&lt;/b&gt; tense”" in html
