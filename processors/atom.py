"""A subscription's alerts as an Atom feed (served at a secret URL by `newsvigil serve`, step 7)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from newsvigil.processors.alerts import render_html, render_text
from newsvigil.records import SentAlert


def alerts_feed(subscription_id: int, name: str, alerts: Sequence[SentAlert], self_url: str = "") -> bytes:
    """Atom 1.0 document of delivered alerts, newest first; feed text is escaped."""
    updated = max((a.sent_at for a in alerts), default=None)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>urn:newsvigil:subscription:{subscription_id}</id>",
        f"<title>{escape('newsvigil — ' + name)}</title>",
        f"<updated>{(updated.isoformat() if updated else '1970-01-01T00:00:00+00:00')}</updated>",
    ]
    if self_url:
        parts.append(f'<link rel="self" href="{escape(self_url, {chr(34): "&quot;"})}"/>')
    for alert in sorted(alerts, key=lambda a: a.sent_at, reverse=True):
        payload = alert.payload
        subject, _ = render_text([payload])
        link = payload["article"].get("link")
        parts += [
            "<entry>",
            f"<id>urn:newsvigil:alert:{alert.id}</id>",
            f"<title>{escape(subject)}</title>",
            f"<updated>{alert.sent_at.isoformat()}</updated>",
            f'<link href="{escape(link, {chr(34): "&quot;"})}"/>' if link else "",
            f"<author><name>{escape(payload['article']['source'])}</name></author>",
            f'<content type="html">{escape(render_html([payload]))}</content>',
            f'<category term="{escape(payload["kind"])}"/>',
            "</entry>",
        ]
    parts.append("</feed>")
    return "\n".join(p for p in parts if p).encode()
