"""Full text: items matching a topic that asks for it get their page's main text, under the feed limits."""

import json

from pytest_httpserver import HTTPServer

from tests.support import REPO_ROOT, newsvigil

PAGE = """<html><head><title>Truppenabzug</title></head><body>
<nav><a href="/">Startseite</a> | <a href="/politik">Politik</a> | <a href="/sport">Sport</a></nav>
<article><h1>Nato: Washington plant Truppenabzug</h1>
<p>Die Vereinigten Staaten wollen ihre Präsenz in den Strukturen der Nato verringern. Nach Angaben des
Verteidigungsministeriums in Berlin ziehen die USA bis zum Sommer rund 1.500 Soldaten aus Bayern ab.</p>
<p>Die Bundesregierung reagierte zurückhaltend und verwies auf laufende Gespräche im Bündnis. Ein
Sprecher sagte, man sei auf die Entscheidung vorbereitet und stimme sich eng mit den Partnern ab.</p>
</article><footer>Impressum · Datenschutz · Kontakt</footer></body></html>"""


def item(n: int, title: str, link: str) -> str:
    return (
        f"<item><guid>t{n}</guid><title>{title}</title><link>{link}</link>"
        f"<description>Mehr im Artikel.</description></item>"
    )


def test_full_text_fetched_for_topics_that_ask(tmp_path):
    rules = (REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8")
    rules = rules.replace("  nato:\n    label: NATO\n", "  nato:\n    label: NATO\n    full_text: true\n", 1)
    (tmp_path / "topics.yaml").write_text(rules, encoding="utf-8")
    with HTTPServer(host="127.0.0.1") as server:
        feed = (
            "<rss version='2.0'><channel><title>Nachrichten</title><language>de</language>"
            + item(1, "Nato: Washington plant Truppenabzug", server.url_for("/artikel/1.html"))
            + item(2, "Wetter: Sonne am Wochenende", server.url_for("/artikel/2.html"))
            + item(3, "Nato-Gipfel vertagt", server.url_for("/artikel/weg.html"))
            + "</channel></rss>"
        )
        server.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
        server.expect_request("/artikel/1.html").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
        server.expect_request("/artikel/weg.html").respond_with_data("weg", status=404)
        (tmp_path / "feeds.txt").write_text(server.url_for("/feed.xml") + "\n")
        env = {
            "NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
            "NEWSVIGIL_FEEDS": str(tmp_path / "feeds.txt"),
            "NEWSVIGIL_TOPICS": str(tmp_path / "topics.yaml"),
            "NEWSVIGIL_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        run = newsvigil("run", "--once", env=env)
        asked = [request.path for request, _ in server.log]
    assert run.returncode == 0, run.stderr
    assert "/artikel/2.html" not in asked  # off-topic items are not fetched
    events = {e["title"]: e for e in map(json.loads, newsvigil("events", "--json", env=env).stdout.splitlines())}
    assert [m["value"] for m in events["Nato: Washington plant Truppenabzug"]["figures"]] == [1500]  # from the page
    assert "rund 1.500 Soldaten" in events["Nato: Washington plant Truppenabzug"]["figures"][0]["quote"]
    assert events["Nato-Gipfel vertagt"]["figures"] == []  # the page was gone: the item is kept as it was
    stored = {
        json.loads(line)["article"]["title"]: json.loads(line)["article"]
        for line in newsvigil("export", "--jsonl", "-", env=env).stdout.splitlines()
    }
    body = stored["Nato: Washington plant Truppenabzug"]["body"]
    assert "rund 1.500 Soldaten" in body and "Impressum" not in body and "Startseite" not in body


async def test_one_unreadable_page_leaves_only_its_article_as_it_was():
    """An error while reading one page once took the whole feed's items with it."""
    from newsvigil.ingest.fetch import make_client
    from newsvigil.ingest.fulltext import add_full_text
    from newsvigil.ingest.guard import AddressPolicy, parse_networks
    from newsvigil.records import Article

    def wanted(article: Article) -> bool:
        if article.id == "bad":
            raise ValueError("cannot decide")  # any error on one article
        return True

    with HTTPServer(host="127.0.0.1") as server:
        server.expect_request("/good.html").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
        articles = [
            Article(id=i, feed_url="f", source="s", title=i, summary="", link=server.url_for("/good.html"))
            for i in ("bad", "good")
        ]
        async with make_client("newsvigil-test", 5, AddressPolicy(allowed=parse_networks("127.0.0.1/32"))) as client:
            bad, good = await add_full_text(client, articles, wanted, max_bytes=1 << 20, deadline=5)
    assert bad == articles[0]
    assert "rund 1.500 Soldaten" in good.body
