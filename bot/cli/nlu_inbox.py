"""`carebot nlu inbox`: the messages the bot understood worst, grouped, labelled and written
into the project's NLU data (data/nlu_inbox.yml) from the terminal."""

from __future__ import annotations

import json

import click

from bot.config import Config


def _engine(config: Config):
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    return make_engine(config.database_url)


def _groups(config: Config, threshold: float, similarity: float):
    from analytics.insights.nlu_inbox import inbox
    from bot.dashboard.nlu_inbox import encoder_embed

    return inbox(_engine(config), encoder_embed(config), threshold=threshold,
                 similarity=similarity)


_THRESHOLD = click.option("--threshold", type=click.FloatRange(0, 1), default=0.5,
                          show_default=True, help="Messages below this intent confidence.")
_SIMILARITY = click.option("--similarity", type=click.FloatRange(0, 1), default=0.55,
                           show_default=True, help="How alike messages of a group are "
                           "(cosine of their sentence embeddings).")


@click.group("inbox", invoke_without_command=True)
@_THRESHOLD
@_SIMILARITY
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@click.pass_context
def inbox_group(ctx: click.Context, threshold: float, similarity: float, as_json: bool) -> None:
    """List fallbacks, low-confidence messages and messages right before a hand-off, grouped
    by meaning (label one with `carebot nlu inbox label KEY INTENT`)."""
    if ctx.invoked_subcommand is not None:
        return
    groups = _groups(ctx.obj, threshold, similarity)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in groups], indent=2))
        return
    if not groups:
        click.echo("The inbox is empty: no unlabelled message the bot understood badly.")
        return
    total = sum(g.count for g in groups)
    click.echo(f"{total} messages in {len(groups)} groups (biggest first):")
    for g in groups:
        predicted = ", ".join(sorted({m.intent or "?" for m in g.messages}))
        click.echo(f"\n[{g.key}] {g.count} × (predicted: {predicted})")
        for m in g.messages[:5]:
            click.echo(f"    {m.text!r}  ({m.why}, {m.confidence if m.confidence is not None else '-'})")
        if g.count > 5:
            click.echo(f"    … and {g.count - 5} more")


@inbox_group.command("label")
@click.argument("key")
@click.argument("intent", required=False)
@click.option("--out-of-scope", is_flag=True, help="Mark the group out of scope instead.")
@_THRESHOLD
@_SIMILARITY
@click.option("--by", default="terminal", show_default=True, help="Who labelled it.")
@click.pass_obj
def label_command(config: Config, key: str, intent: str | None, out_of_scope: bool,
                  threshold: float, similarity: float, by: str) -> None:
    """Label every message of group KEY with INTENT (or --out-of-scope)."""
    from analytics.insights.nlu_inbox import InboxError, label_messages
    from bot.dashboard.nlu_inbox import project_intents

    if bool(intent) == out_of_scope:
        raise click.UsageError("Give an INTENT or --out-of-scope (one of them).")
    groups = {g.key: g for g in _groups(config, threshold, similarity)}
    if key not in groups:
        raise click.ClickException(f"No group {key!r} in the inbox (it may have been labelled); "
                                   "run `carebot nlu inbox` for the current keys.")
    try:
        n = label_messages(_engine(config), [m.message_id for m in groups[key].messages],
                           None if out_of_scope else intent, by=by,
                           known_intents=project_intents(config.project_dir))
    except InboxError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Labelled {n} messages {'out of scope' if out_of_scope else 'as ' + intent}. "
               "Run `carebot nlu inbox export` to see and write the training data.")


@inbox_group.command("export")
@click.option("--write", is_flag=True, help="Write the file (without it: only show the diff).")
@click.pass_obj
def export_command(config: Config, write: bool) -> None:
    """Show (and with --write, write) the labelled messages as data/nlu_inbox.yml."""
    from analytics.insights.nlu_inbox import InboxError, plan_export, write_export
    from bot.dashboard.nlu_inbox import project_intents

    engine = _engine(config)
    try:
        plan = plan_export(engine, config.project_dir, project_intents(config.project_dir))
    except InboxError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(plan.diff or "No new examples to write.", nl=bool(plan.diff) is False)
    for reason, n in plan.skipped.items():
        click.echo(f"not written: {n} labelled messages ({reason})", err=True)
    if not write:
        if plan.changes:
            click.echo("\nNothing written; run again with --write to write it.")
        return
    write_export(engine, plan)
    added = sum(len(v) for v in plan.added.values())
    click.echo(f"\nWrote {added} examples to {plan.path}. Run `carebot train` to learn them.")
