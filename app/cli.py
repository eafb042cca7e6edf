"""The `carebooks` command: a Flask CLI group over the instance named by CAREBOOKS_INSTANCE."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app import create_app
from ledger import BooksInvalid, FundSettings, LedgerError, init_books
from ledger.books import MAIN


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False,
             add_version_option=False)
def main() -> None:
    """Carebooks: the books of a mutual aid fund."""


@main.command("init")
@click.option("--name", required=True, help="The fund's name, as the books and reports show it.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
@with_appcontext
def init_command(name: str, currency: str) -> None:
    """Create a new fund's books in the instance folder."""
    books_dir = Path(current_app.config["BOOKS_DIR"])
    try:
        init_books(books_dir, FundSettings(name, currency), dt.date.today().replace(day=1))
    except LedgerError as exc:
        _fail(exc.message)
    click.echo(f"created the books of {name} in {books_dir}")


@main.command("demo")
@click.option("--if-missing", is_flag=True, help="Do nothing when the instance has books.")
@with_appcontext
def demo_command(if_missing: bool) -> None:
    """Create a demo fund with a few months of donations, requests and payments."""
    from app.demo import create_demo_books

    books_dir = Path(current_app.config["BOOKS_DIR"])
    if (books_dir / MAIN).exists():
        if if_missing:
            click.echo(f"using the fund in {books_dir.parent}")
            return
        _fail(f"{books_dir} already holds books; choose another CAREBOOKS_INSTANCE")
    create_demo_books(books_dir)
    click.echo(f"created a demo fund in {books_dir.parent}")


@main.command("serve")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve_command(port: int, host: str) -> None:
    """Serve the app (development server; see docs/operations.md for production)."""
    app = create_app()
    click.echo(f"Carebooks: http://{host}:{port}/")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, use_reloader=False, threaded=True)


@main.command("check")
@with_appcontext
def check_command() -> None:
    """Load the books, report Beancount's errors, and verify the seal chain."""
    from app.fund import books

    try:
        verification = books().verify()
        state = books().state
    except BooksInvalid as exc:
        _fail(exc.message)
    except LedgerError as exc:
        _fail(exc.message)
    click.echo(f"books: {state.entry_count} entries, cash {state.cash()} {state.currency}, "
               f"committed {state.committed()}, available {state.available()}")
    click.echo(str(verification))
    if not verification.ok:
        sys.exit(1)
