"""The HTTP API against the real app and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient

from newsvigil.settings import Settings
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.tokens import create_token, revoke_token
from newsvigil.web.app import create_app


def client_for(database_url: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(database_url=database_url, **settings)))


def new_token(database_url: str) -> tuple[int, str]:
    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as session:
            row, token = create_token(session, "test")
            return row.id, token
    finally:
        engine.dispose()


def test_stories_paged_with_cursors_and_filtered(replayed):
    with client_for(replayed) as api:
        everything = api.get("/api/stories").json()
        assert len(everything["items"]) == 6 and everything["next"] is None
        seen, cursor = [], None
        while True:
            page = api.get("/api/stories", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            seen += [s["id"] for s in page["items"]]
            cursor = page["next"]
            if not cursor:
                break
        assert seen == [s["id"] for s in everything["items"]]  # same order, nothing twice, nothing missed
        last_seen = [s["last_seen"] for s in everything["items"]]
        assert last_seen == sorted(last_seen, reverse=True)

        greenland = api.get("/api/stories", params={"topic": "greenland"}).json()["items"]
        assert greenland and all("greenland" in s["topics"] for s in greenland)
        german = api.get("/api/stories", params={"language": "de"}).json()["items"]
        assert [s["title"] for s in german] == ["USA ziehen rund 1.500 Soldaten aus Bayern ab"]
        outlet = german[0]["outlets"][0]
        assert [s["title"] for s in api.get("/api/stories", params={"outlet": outlet}).json()["items"]] == [
            german[0]["title"]
        ]
        late = api.get("/api/stories", params={"since": "2026-11-19"}).json()["items"]
        assert late and all(s["last_seen"] >= "2026-11-19" for s in late)

        assert api.get("/api/stories", params={"cursor": "garbage"}).status_code == 400
        bad = api.get("/api/stories", params={"since": "last tuesday"})
        assert bad.status_code == 422 and "since" in bad.json()["detail"]


def test_story_article_event_and_feed_details(replayed):
    with client_for(replayed) as api:
        [story] = api.get("/api/stories", params={"language": "de"}).json()["items"]
        detail = api.get(f"/api/stories/{story['id']}").json()
        [report] = detail["articles"]
        assert report["added"]["new_story"] is True
        assert [f["quote"] for f in report["figures"]] == ["rund 1.500 Soldaten"]
        article = api.get(f"/api/articles/{report['id']}").json()
        figure = article["figures"][0]
        assert article["text"][figure["start"] : figure["end"]] == figure["quote"] and article["story"] == story["id"]
        assert api.get("/api/stories/999999").status_code == 404
        assert api.get("/api/articles/nope").status_code == 404

        events = api.get("/api/events", params={"topic": "nato"}).json()["items"]
        assert events and all("nato" in e["topics"] for e in events)
        everything = api.get("/api/articles", params={"limit": 200}).json()["items"]
        assert len(everything) == 8 and len(api.get("/api/events").json()["items"]) == 6
        assert isinstance(api.get("/api/feeds").json(), list)
        paths = api.get("/openapi.json").json()["paths"]
        assert {
            "/api/stories",
            "/api/events",
            "/api/articles",
            "/api/feeds",
            "/api/subscriptions",
            "/api/alerts",
        } <= set(paths)


def test_subscriptions_need_a_token_and_round_trip(replayed):
    token_id, token = new_token(replayed)
    auth = {"Authorization": f"Bearer {token}"}
    with client_for(replayed) as api:
        assert api.get("/api/subscriptions").status_code == 401
        assert api.get("/api/alerts").status_code == 401
        assert api.get("/api/subscriptions", headers={"Authorization": "Bearer nv_wrong"}).status_code == 401
        bad = api.post("/api/subscriptions", json={"name": "x", "channel": "pigeon"}, headers=auth)
        assert bad.status_code == 422 and "channel" in bad.json()["detail"]
        created = api.post(
            "/api/subscriptions", json={"name": "arctic desk", "channel": "atom", "topics": "greenland"}, headers=auth
        )
        assert created.status_code == 201, created.text
        sub = created.json()
        assert sub["atom_url"].endswith(f"/atom/{sub['secret']}")
        assert [s["name"] for s in api.get("/api/subscriptions", headers=auth).json()] == ["arctic desk"]
        assert "secret" not in api.get("/api/subscriptions", headers=auth).json()[0]
        paused = api.patch(f"/api/subscriptions/{sub['id']}", json={"active": False}, headers=auth).json()
        assert paused["active"] is False
        assert api.post(f"/api/subscriptions/{sub['id']}/test", headers=auth).json() == {
            "delivered": True,
            "error": None,
        }

        feed = feedparser.parse(api.get(f"/atom/{sub['secret']}").content)
        assert feed.feed.title == "newsvigil — arctic desk" and not feed.bozo
        assert api.get("/atom/whsec_not-a-secret").status_code == 404
        assert api.delete(f"/api/subscriptions/{sub['id']}", headers=auth).status_code == 204
        assert api.get("/api/subscriptions", headers=auth).json() == []

        engine = make_engine(replayed)
        with session_factory(engine).begin() as session:
            revoke_token(session, token_id)
        engine.dispose()
        assert api.get("/api/subscriptions", headers=auth).status_code == 401  # revoked at once


def test_private_dashboard_needs_a_token_everywhere(replayed):
    _, token = new_token(replayed)
    with client_for(replayed, public_dashboard=False) as api:
        assert api.get("/api/stories").status_code == 401
        assert api.get("/api/stories", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page = api.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
        signed_in = api.post("/login", data={"token": token, "next": "/feeds"}, follow_redirects=False)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/feeds"
        assert (
            "httponly" in signed_in.headers["set-cookie"].lower()
            and "samesite=strict" in signed_in.headers["set-cookie"].lower()
        )
        assert api.get("/").status_code == 200  # the cookie now signs the browser in
        assert api.get("/healthz").json()["status"] == "ok"


def test_feed_content_is_escaped_and_no_script_can_run(replayed):
    with client_for(replayed) as api:
        [hostile] = [s for s in api.get("/api/stories").json()["items"] if "NATO pulls" in s["title"]]
        for path in ("/", f"/stories/{hostile['id']}", "/articles/hostile-1"):
            page = api.get(path)
            assert page.status_code == 200
            assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
            html = page.text
            assert "<script" not in html and "<img src=x" not in html and "<svg onload" not in html
            assert "javascript:" not in html
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in api.get("/articles/hostile-1").text


def test_health_and_metrics(replayed):
    with client_for(replayed) as api:
        api.get("/api/stories")
        metrics = api.get("/metrics").text
        assert 'newsvigil_http_requests_total{route="/api/stories",status="200"}' in metrics
        assert 'newsvigil_rows{table="articles"} 8.0' in metrics


@pytest.mark.parametrize("path", ["/", "/feeds", "/stories/1", "/login"])
def test_pages_render(replayed, path):
    with client_for(replayed) as api:
        assert api.get(path).status_code == 200


@pytest.mark.parametrize(
    "target, expected",
    [("/feeds", "/feeds"), ("//evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/")],
)
def test_sign_in_only_redirects_within_the_site(replayed, target, expected):
    _, token = new_token(replayed)
    with client_for(replayed) as api:
        response = api.post("/login", data={"token": token, "next": target}, follow_redirects=False)
        assert response.headers["location"] == expected


def test_feedback_on_a_figure_needs_a_token_and_shows_on_the_page(replayed):
    _, token = new_token(replayed)
    auth = {"Authorization": f"Bearer {token}"}
    with client_for(replayed) as api:
        figure = api.get("/api/articles/hostile-1").json()["figures"][0]["value"]
        assert api.post("/api/articles/hostile-1/feedback", json={"not_troops": figure}).status_code == 401
        missing = api.post("/api/articles/nope/feedback", json={"not_troops": 1}, headers=auth)
        assert missing.status_code == 404
        wrong = api.post("/api/articles/hostile-1/feedback", json={"not_troops": 7}, headers=auth)
        assert wrong.status_code == 422 and "no troop figure 7" in wrong.json()["detail"]
        page = api.get("/articles/hostile-1").text
        assert "not troops</button>" not in page  # signed out: no button
        api.cookies.set("nv_token", token)
        assert 'name="not_troops"' in api.get("/articles/hostile-1").text
        sent = api.post("/articles/hostile-1/feedback", data={"not_troops": str(figure)}, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == "/articles/hostile-1#figures"
        assert api.get("/api/articles/hostile-1").json()["not_troops"] == [figure]
        assert "marked not troops" in api.get("/articles/hostile-1").text
        again = api.post("/api/articles/hostile-1/feedback", json={"not_troops": figure}, headers=auth)
        assert again.status_code == 201 and again.json()["new"] is False


def test_a_delivery_test_shows_network_details_to_admin_tokens_only(replayed, httpserver):
    """`/test` once answered "Connection refused", "HTTP 302" or "ReadTimeout": a port scanner."""
    _, token = new_token(replayed)
    engine = make_engine(replayed)
    try:
        with session_factory(engine).begin() as session:
            _, admin = create_token(session, "operator", admin=True)
    finally:
        engine.dispose()
    httpserver.expect_request("/hook").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    with client_for(replayed, allowed_networks="127.0.0.1/32") as api:
        sub = api.post(
            "/api/subscriptions",
            json={"name": "hook", "channel": "webhook", "target": httpserver.url_for("/hook")},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        plain = api.post(f"/api/subscriptions/{sub['id']}/test", headers={"Authorization": f"Bearer {token}"}).json()
        detailed = api.post(f"/api/subscriptions/{sub['id']}/test", headers={"Authorization": f"Bearer {admin}"}).json()
    assert plain["delivered"] is False and "302" not in plain["error"] and "admin token" in plain["error"]
    assert detailed["delivered"] is False and "HTTP 302" in detailed["error"]


def _cursor(value) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, name",
    [
        (f"/api/stories?cursor={_cursor(['2026-11-19T00:00:00+00:00', {'a': 1}])}", "cursor"),
        (f"/api/stories?cursor={_cursor(['2026-11-19T00:00:00+00:00', [1, 2]])}", "cursor"),
        (f"/api/stories?cursor={_cursor([None, 5])}", "cursor"),
        (f"/api/stories?cursor={_cursor(['2026-11-19T00:00:00+00:00', 10**30])}", "cursor"),
        (f"/api/articles?cursor={_cursor(['2026-11-19T00:00:00+00:00', 10**30])}", "cursor"),
        ("/api/stories?cursor=" + "A" * 5000, "cursor"),
        ("/api/stories/" + "9" * 30, "story_id"),
        ("/api/stories?since=0001-01-01T00:00:00%2B14:00", "since"),
        ("/api/stories?until=9999-12-31T23:59:59-14:00", "until"),
        ("/api/stories?topic=" + "x" * 10_000, "topic"),
    ],
)
def test_malformed_values_are_client_errors_naming_the_parameter(replayed, path, name):
    """Each of these once answered HTTP 500."""
    with client_for(replayed) as api:
        response = api.get(path)
    assert 400 <= response.status_code < 500, (path[:80], response.status_code, response.text[:200])
    assert name in response.text


def test_deeply_nested_json_is_a_client_error(replayed):
    _, token = new_token(replayed)
    with client_for(replayed) as api:
        response = api.post(
            "/api/subscriptions",
            content="[" * 100_000,
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        )
    assert 400 <= response.status_code < 500, response.status_code


def test_metrics_need_a_token_when_the_dashboard_is_private(replayed):
    _, token = new_token(replayed)
    with client_for(replayed, public_dashboard=False) as api:
        assert api.get("/metrics").status_code == 401
        assert "newsvigil_rows" in api.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text


def test_changes_made_with_the_sign_in_cookie_must_come_from_the_site(replayed):
    _, token = new_token(replayed)
    with client_for(replayed) as api:
        sub = api.post(
            "/api/subscriptions", json={"name": "a", "channel": "atom"}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        api.cookies.set("nv_token", token)
        evil = {"Origin": "https://evil.example"}
        assert api.post(f"/api/subscriptions/{sub['id']}/test", headers=evil).status_code == 403
        assert api.post("/logout", headers=evil, follow_redirects=False).status_code == 403
        assert api.post(f"/api/subscriptions/{sub['id']}/test").json()["delivered"] is True  # same site


def test_a_new_subscriptions_secret_is_never_in_a_url(replayed):
    _, token = new_token(replayed)
    with client_for(replayed) as api:
        api.cookies.set("nv_token", token)
        created = api.post("/subscriptions", data={"name": "desk", "channel": "atom"}, follow_redirects=False)
        assert created.status_code == 200 and "location" not in created.headers
        assert 'id="secret"' in created.text and created.headers["cache-control"] == "no-store"
