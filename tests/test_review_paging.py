"""Paging in the review app: keyset cursors and limits on every list, and the stored queue,
which must give exactly the order and parts of computing the whole queue afresh."""
import datetime as dt
import random

import pytest

pytest.importorskip("flask")

from tagger.catalog.db import Catalog  # noqa: E402
from tagger.catalog.records import TitleResult  # noqa: E402
from tagger.review import auth  # noqa: E402
from tagger.review.decisions import decide  # noqa: E402
from tagger.review.paging import DEFAULT_LIMIT, MAX_LIMIT  # noqa: E402
from tagger.review.queue import DEFAULT_THRESHOLD, priority, reach, recency, review_queue, uncertainty  # noqa: E402
from tagger.review.web import create_app  # noqa: E402
from tagger.tagging.taxonomy import load_taxonomy  # noqa: E402

from test_review import PIPELINE, make_result  # noqa: E402

TODAY = dt.date(2024, 6, 1)
CONFIDENCES = (0.42, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0)   # few values, so priorities tie


def generated_results(count: int, seed: int) -> list[TitleResult]:
    """Titles with 2-9 tags of the default taxonomy, 0-4 scenes and every kind of date; many
    share a date and a size, so their tags tie on priority and the tie-breaks decide."""
    rng = random.Random(seed)
    taxonomy = load_taxonomy("default").tags
    results = []
    for i in range(count):
        metadata = rng.choice([{"year": 2020}, {"year": 1995}, {"release_date": "2024-05-20"},
                               {"release_date": f"20{rng.randint(10, 30)}-0{rng.randint(1, 9)}-15"}, {}])
        tags = tuple((t.id, t.facet, t.label, rng.choice(CONFIDENCES)) for t in rng.sample(taxonomy, rng.randint(2, 9)))
        results.append(make_result(f"g{rng.randint(0, 999):03d}-{i}", tags=tags, scenes=rng.randint(0, 4),
                                   metadata=metadata))
    return results


def write_runs(catalog, results):
    """Half the titles by a run with threshold 0.5, half by one with 0.4."""
    lower = {**PIPELINE, "settings": {"tags": {"threshold": 0.4}}}
    runs = [catalog.start_run(tagger_version="0", pipeline=p, versions={}) for p in (PIPELINE, lower)]
    for i, result in enumerate(results):
        catalog.write_title(result, run_id=runs[i % 2])
    return runs


def full_queue(catalog, today, *, facet=None, title_id=None) -> list[tuple]:
    """The queue computed afresh from every title, as review_queue did before it was stored."""
    facts = catalog.title_review_facts()
    items = []
    for tagged, t in catalog.pending_tags(facet=facet, title_id=title_id):
        f = facts[tagged]
        threshold = float(((f["pipeline"] or {}).get("settings", {}).get("tags") or {}).get("threshold",
                                                                                          DEFAULT_THRESHOLD))
        recency_score = recency(f["metadata"], f["created_at"], today=today)
        reach_score = reach(f["scenes"], f["tags"])
        items.append((round(priority(t.confidence, threshold, recency_score, reach_score), 4), t.confidence,
                      tagged, t.tag, round(uncertainty(t.confidence, threshold), 4), round(recency_score, 4),
                      round(reach_score, 4), t.version))
    items.sort(key=lambda i: (-i[0], i[1], i[2], i[3]))
    return items


def shown(items) -> list[tuple]:
    return [(i["priority"], i["confidence"], i["title_id"], i["tag"], i["uncertainty"], i["recency"], i["reach"],
             i["version"]) for i in items]


def walk(client, url, headers=None) -> list[list[dict]]:
    """Every page of a list, following `next` until the last page."""
    pages, cursor = [], None
    while True:
        joiner = "&" if "?" in url else "?"
        response = client.get(url + (f"{joiner}cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json["items"])
        cursor = response.json["next"]
        if cursor is None:
            return pages
        assert len(pages) < 500, "paging does not end"


@pytest.fixture
def site(tmp_path):
    db = tmp_path / "paging.db"
    with Catalog(db) as catalog:
        write_runs(catalog, generated_results(60, seed=11))
        catalog.write_failure(TitleResult(id="zz-failed", title="Failed", source="test", metadata={},
                                          status="failed", error="moov atom not found"),
                              run_id=catalog.start_run(tagger_version="0", pipeline=PIPELINE, versions={}))
        token = auth.add_editor(catalog, "alice", "alice-password")
    app = create_app(str(db))
    return {"app": app, "client": app.test_client(), "db": db, "headers": {"Authorization": f"Bearer {token}"}}


# -- the stored queue against the full computation --------------------------------------------------

def test_paged_queue_equals_the_full_computation(tmp_path):
    with Catalog(tmp_path / "q.db") as catalog:
        write_runs(catalog, generated_results(150, seed=5))
        for today in (TODAY, TODAY + dt.timedelta(days=1), dt.date(2031, 1, 1)):   # each a new day: a refresh
            expected = full_queue(catalog, today)
            assert len(expected) > 500 and len({i[0] for i in expected}) < len(expected) / 2   # ties aplenty
            paged, after = [], None
            while page := review_queue(catalog, limit=37, after=after, today=today):
                paged += page
                after = [page[-1][k] for k in ("priority", "confidence", "title_id", "tag")]
            assert shown(paged) == expected
        facet = catalog.tag(expected[0][2], expected[0][3], None).facet
        assert shown(review_queue(catalog, limit=None, facet=facet, today=today)) == full_queue(
            catalog, today, facet=facet)
        title_id = expected[-1][2]
        assert shown(review_queue(catalog, limit=None, title_id=title_id, today=today)) == full_queue(
            catalog, today, title_id=title_id)


def test_decisions_and_reingest_keep_the_stored_parts_right(tmp_path):
    with Catalog(tmp_path / "d.db") as catalog:
        results = generated_results(40, seed=8)
        runs = write_runs(catalog, results)
        auth.add_editor(catalog, "ed", "ed-password")
        review_queue(catalog, limit=1, today=TODAY)   # the stored parts are now for TODAY

        def stored():
            return shown(catalog.queue_page(limit=None))

        assert stored() == full_queue(catalog, TODAY)
        first, second = results[0], results[1]
        # A reject lowers the title's reach (its other pending tags move), an accept takes a tag out,
        # an add raises the reach.
        decide(catalog, first.id, first.tags[0].tag, "reject", editor="ed")
        decide(catalog, first.id, first.tags[1].tag, "accept", editor="ed")
        decide(catalog, second.id, "hospital" if "hospital" not in {t.tag for t in second.tags} else "western",
               "add", editor="ed")
        assert stored() == full_queue(catalog, TODAY)
        assert first.tags[1].tag not in {i[3] for i in stored() if i[2] == first.id}
        # Re-ingest with other confidences, one tag fewer, more scenes and another date and threshold.
        again = make_result(first.id, tags=tuple((t.tag, t.facet, t.label, 0.66) for t in first.tags[:-1]), scenes=6,
                            metadata={"year": 2024})
        catalog.write_title(again, run_id=runs[1])
        assert stored() == full_queue(catalog, TODAY)
        # A failed re-ingest keeps the tags but changes the title's metadata and run.
        catalog.write_failure(TitleResult(id=second.id, title="Second", source="test", metadata={"year": 1960},
                                          status="failed", error="gone"), run_id=runs[0])
        assert stored() == full_queue(catalog, TODAY)
        assert {i[2] for i in stored()} >= {first.id, second.id}


# -- the JSON API ---------------------------------------------------------------------------------

def test_titles_page_by_page_with_and_without_filters(site):
    client, headers = site["client"], site["headers"]
    everything = client.get(f"/api/titles?limit={MAX_LIMIT}", headers=headers).json
    assert everything["next"] is None and len(everything["items"]) == 61
    ids = [t["id"] for t in everything["items"]]
    assert ids == sorted(ids)
    first = client.get("/api/titles?limit=7", headers=headers).json
    assert [t["id"] for t in first["items"]] == ids[:7] and first["next"]
    pages = walk(client, "/api/titles?limit=7", headers)
    assert [len(p) for p in pages] == [7] * 8 + [5]
    assert [t["id"] for p in pages for t in p] == ids
    assert len(client.get("/api/titles", headers=headers).json["items"]) == DEFAULT_LIMIT
    tag = client.get("/api/queue?limit=1", headers=headers).json["items"][0]["tag"]
    for query in ("pending=1", "facet=mood", "q=g1", "status=failed", f"tag={tag}"):
        whole = [t["id"] for t in client.get(f"/api/titles?{query}&limit={MAX_LIMIT}", headers=headers).json["items"]]
        assert [t["id"] for p in walk(client, f"/api/titles?{query}&limit=3", headers) for t in p] == whole, query
        assert whole, query


def test_pages_stay_put_when_titles_are_written_meanwhile(site):
    client, headers = site["client"], site["headers"]
    before = [t["id"] for t in client.get(f"/api/titles?limit={MAX_LIMIT}", headers=headers).json["items"]]
    first = client.get("/api/titles?limit=10", headers=headers).json
    with Catalog(site["db"]) as catalog:   # one title before the cursor, one after
        run = catalog.start_run(tagger_version="0", pipeline=PIPELINE, versions={})
        catalog.write_title(make_result("a-new"), run_id=run)
        catalog.write_title(make_result(before[12] + "-new"), run_id=run)
    second = client.get(f"/api/titles?limit=10&cursor={first['next']}", headers=headers).json
    assert [t["id"] for t in second["items"]] == before[10:13] + [before[12] + "-new"] + before[13:19]


def test_search_follows_what_the_titles_say_now(site):
    client, headers = site["client"], site["headers"]

    def found(q):
        return [t["id"] for t in client.get(f"/api/titles?q={q}", headers=headers).json["items"]]

    with Catalog(site["db"]) as catalog:
        title_id = catalog.title_ids()[4]
        run = catalog.start_run(tagger_version="0", pipeline=PIPELINE, versions={})
        catalog.write_title(make_result(title_id, title="Harbour Lights", metadata={"synopsis": "A Lighthouse."}),
                            run_id=run)
        assert found("harbour") == [title_id] and found("LIGHTHOUSE") == [title_id]
        catalog.write_failure(TitleResult(id=title_id, title="Quay", source="test", metadata={"synopsis": "Fog."},
                                          status="failed", error="gone"), run_id=run)
    assert found("harbour") == [] and found("lighthouse") == [] and found("quay") == found("fog.") == [title_id]
    assert title_id in found(title_id.upper())


def test_queue_and_history_pages(site):
    client, headers = site["client"], site["headers"]
    whole = client.get(f"/api/queue?limit={MAX_LIMIT}", headers=headers).json
    assert whole["next"] is None and len(whole["items"]) > 100
    assert [i for p in walk(client, "/api/queue?limit=9", headers) for i in p] == whole["items"]
    facet = whole["items"][5]["facet"]
    assert [i for p in walk(client, f"/api/queue?limit=4&facet={facet}", headers) for i in p] == [
        i for i in whole["items"] if i["facet"] == facet]
    title_id = whole["items"][0]["title_id"]
    for item in [i for i in whole["items"] if i["title_id"] == title_id][:3]:
        decide_url = f"/api/titles/{title_id}/decisions"
        assert client.post(decide_url, json={"tag": item["tag"], "action": "reject", "version": 1},
                           headers=headers).status_code == 200
        assert client.post(decide_url, json={"tag": item["tag"], "action": "accept", "version": 2},
                           headers=headers).status_code == 200
    log = client.get(f"/api/titles/{title_id}/history?limit={MAX_LIMIT}", headers=headers).json["items"]
    assert len(log) == 6 and [h["id"] for h in log] == sorted(h["id"] for h in log)
    pages = walk(client, f"/api/titles/{title_id}/history?limit=4", headers)
    assert [len(p) for p in pages] == [4, 2] and [h for p in pages for h in p] == log
    one_tag = walk(client, f"/api/titles/{title_id}/history?limit=1&tag={log[0]['tag']}", headers)
    assert [h["after_status"] for p in one_tag for h in p] == ["rejected", "accepted"]


@pytest.mark.parametrize("url", ["/api/titles", "/api/queue", "/api/titles/zz-failed/history"])
def test_limits_and_cursors_are_checked(site, url):
    client, headers = site["client"], site["headers"]
    for limit in ("0", str(MAX_LIMIT + 1), "x", "-1", "2.5"):
        response = client.get(f"{url}?limit={limit}", headers=headers)
        assert response.status_code == 400 and response.json["error"].startswith("limit: "), (limit, response.text)
        assert repr(limit) in response.json["error"] and str(MAX_LIMIT) in response.json["error"]
    cursor = client.get("/api/titles?limit=1", headers=headers).json["next"]
    queue_cursor = client.get("/api/queue?limit=1", headers=headers).json["next"]
    tampered = [cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), "x" + cursor, "not-a-cursor",
                cursor.split(".")[0] + "." + queue_cursor.split(".")[-1]]
    if url != "/api/titles":
        tampered.append(cursor)            # a titles cursor on another list
    else:
        tampered.append(queue_cursor)
    for bad in tampered:
        response = client.get(f"{url}?cursor={bad}", headers=headers)
        assert response.status_code == 400 and response.json["error"].startswith("cursor: "), (bad, response.text)


# -- the pages ------------------------------------------------------------------------------------

def _signed_in(site):
    from test_review_web import signed_in

    return signed_in({"app": site["app"]})


def _links(html):
    import re

    found = {m.group(1): m.group(2).replace("&amp;", "&")
             for m in re.finditer(r'<a id="(next-page|first-page)"[^>]* href="([^"]+)"', html)}
    return found.get("next-page"), found.get("first-page")


def test_catalog_and_queue_pages_link_to_the_next_page(site):
    client = _signed_in(site)
    with Catalog(site["db"]) as catalog:
        ids = catalog.title_ids()
    seen, url = [], "/?limit=25&status=ok"
    while url:
        html = client.get(url).text
        seen += [line.split('data-title-id="')[1].split('"')[0] for line in html.splitlines()
                 if 'class="title-row' in line]
        url, first = _links(html)
        assert (first is None) == (len(seen) == 25), url
        assert url is None or ("limit=25" in url and "status=ok" in url)
    assert seen == [i for i in ids if i != "zz-failed"]
    html = client.get("/queue?limit=10").text
    assert html.count('class="tag status-auto"') == 10
    next_url, _ = _links(html)
    second = client.get(next_url).text
    assert second.count('class="tag status-auto"') == 10 and _links(second)[1] == "/queue?limit=10"
    assert client.get("/queue?limit=999999").status_code == 400
    bad = client.get("/?cursor=nonsense")
    assert bad.status_code == 400 and "cursor" in bad.text
