"""`newsvigil subscribe ...` and `newsvigil alerts`: subscribers, their alerts, failed deliveries."""

from __future__ import annotations

import json

import typer

from newsvigil.cli.console import err, out, user_errors
from newsvigil.cli.errors import UserError
from newsvigil.settings import get_settings

subscribe_app = typer.Typer(help="Manage alert subscriptions (webhook, email, Apprise, Atom).", no_args_is_help=True)


@subscribe_app.command("add")
@user_errors
def add(
    name: str = typer.Option(..., "--name", help="A name for the subscription."),
    channel: str = typer.Option(..., "--channel", help="webhook, email, apprise or atom."),
    target: str = typer.Option("", "--target", help="Webhook URL, email address or Apprise URL (none for atom)."),
    topics: str = typer.Option("", "--topics", help="Comma-separated topics (default: any)."),
    languages: str = typer.Option("", "--languages", help="Comma-separated language codes (default: any)."),
    keywords: str = typer.Option(
        "", "--keywords", help="Comma-separated words; one must occur (default: none needed)."
    ),
    min_figure: float | None = typer.Option(
        None, "--min-figure", help="Only reports with a troop figure at least this big."
    ),
    kinds: str = typer.Option(
        "new_story,new_report,new_figure",
        "--kinds",
        help="Alert kinds: new_story, new_report, new_figure, figure_changed (a series' figure changed).",
    ),
    mode: str = typer.Option("instant", "--mode", help="instant, or digest (grouped every --digest-minutes)."),
    digest_minutes: int = typer.Option(60, "--digest-minutes", min=1, help="Digest period in minutes."),
    urgent_figure: float | None = typer.Option(
        None, "--urgent-figure", help="In digest mode, a new figure at least this big is sent at once."
    ),
) -> None:
    """Add a subscription; prints its id and, for webhooks, the signing secret."""
    from newsvigil.errors import InvalidInput
    from newsvigil.processors.subscriptions import create_subscription
    from newsvigil.runtime.components import open_database

    requested = {
        "name": name,
        "channel": channel,
        "target": target,
        "topics": topics,
        "languages": languages,
        "keywords": keywords,
        "min_figure": min_figure,
        "kinds": kinds,
        "mode": mode,
        "digest_minutes": digest_minutes,
        "urgent_figure": urgent_figure,
    }
    with open_database() as sessions, sessions.begin() as session:
        try:
            sub = create_subscription(session, **requested)
        except InvalidInput as exc:
            field, _, reason = exc.message.partition(": ")
            raise UserError(f"--{field.replace('_', '-')}: {reason}", "see `newsvigil subscribe add --help`") from None
        out.print(f"subscription {sub.id} added ({channel})")
        if channel == "webhook":
            out.print(f"signing secret (Standard Webhooks): {sub.secret}")
        if channel == "atom":
            out.print(f"feed: /atom/{sub.secret} on `newsvigil serve`, or `newsvigil alerts --feed {sub.id}`")


@subscribe_app.command("list")
@user_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List subscriptions."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.alerts import subscription_json, subscriptions

    with open_database() as sessions, sessions() as session:
        for sub in subscriptions(session):
            if as_json:
                out.print(json.dumps(subscription_json(sub), ensure_ascii=False), markup=False)
            else:
                state = "active" if sub.active else f"DISABLED: {sub.disabled_reason}"
                out.print(
                    f"{sub.id:4} {sub.name} [{sub.channel} {sub.target}] topics={sub.topics or 'any'} "
                    f"kinds={sub.kinds} mode={sub.mode} {state}",
                    markup=False,
                )


@subscribe_app.command("remove")
@user_errors
def remove(subscription_id: int = typer.Argument(..., help="Subscription id.")) -> None:
    """Remove a subscription and its alerts."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.alerts import delete_subscription

    with open_database() as sessions, sessions.begin() as session:
        delete_subscription(session, subscription_id)
    out.print(f"subscription {subscription_id} removed")


@subscribe_app.command("enable")
@user_errors
def enable(subscription_id: int = typer.Argument(..., help="Subscription id.")) -> None:
    """Re-enable a subscription that was disabled (e.g. after HTTP 410)."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.alerts import set_active

    with open_database() as sessions, sessions.begin() as session:
        set_active(session, subscription_id, True)
    out.print(f"subscription {subscription_id} enabled")


@subscribe_app.command("test")
@user_errors
def test(subscription_id: int = typer.Argument(..., help="Subscription id.")) -> None:
    """Send a test alert to a subscription now and report the outcome."""
    from newsvigil.processors.delivery import send_test_alert
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.alerts import find_subscription

    with open_database() as sessions:
        with sessions() as session:
            sub = find_subscription(session, subscription_id)
        outcome = send_test_alert(sessions, get_settings(), sub)
    if not outcome.ok:
        raise UserError(
            f"test alert to subscription {subscription_id} failed: {outcome.error}", "check the target and try again"
        )
    out.print(f"test alert delivered to subscription {subscription_id}")


@user_errors
def alerts(
    failed: bool = typer.Option(False, "--failed", help="Only alerts whose delivery failed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
    retry: bool = typer.Option(False, "--retry", help="Queue every failed alert for delivery again."),
    feed: int | None = typer.Option(None, "--feed", help="Print the Atom feed of this subscription's alerts."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many alerts."),
) -> None:
    """Alerts and their delivery state (newest first); retry failed ones; print a subscription's Atom feed."""
    from newsvigil.processors.atom import alerts_feed
    from newsvigil.records import parse_time
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.alerts import find_subscription, recent_alerts, retry_failed_alerts, sent_alerts

    with open_database() as sessions:
        if retry:
            with sessions.begin() as session:
                count = retry_failed_alerts(session)
            out.print(f"{count} failed alerts queued again")
            return
        with sessions() as session:
            if feed is not None:
                sub = find_subscription(session, feed)
                typer.echo(alerts_feed(sub.id, sub.name, sent_alerts(session, sub.id, limit)).decode(), nl=False)
                return
            for a in recent_alerts(session, limit, failed_only=failed):
                payload = json.loads(a.payload)
                row = {
                    "id": a.id,
                    "subscription": a.subscription_id,
                    "kind": a.kind,
                    "status": a.status,
                    "attempts": a.attempts,
                    "last_error": a.last_error,
                    "story": payload["story"]["title"],
                    "article": payload["article"]["title"],
                    "created_at": parse_time(a.created_at).isoformat(),
                }
                if as_json:
                    out.print(json.dumps(row, ensure_ascii=False), markup=False)
                else:
                    out.print(
                        f"{a.id:5} sub {a.subscription_id} {a.kind:10} {a.status:7} tries={a.attempts} "
                        f"{row['article']}" + (f"  ({a.last_error})" if a.last_error else ""),
                        markup=False,
                    )
    if failed and not as_json:
        err.print("retry with `newsvigil alerts --retry`")
