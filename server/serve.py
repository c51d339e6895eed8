"""``fermata serve``: start the server from the command line.

    fermata serve [FLOW_DIR] --store URL [--host 127.0.0.1] [--port 8080] [--users users.toml]
    fermata serve --hash-token        # a new token, and the line users.toml keeps

Files the server keeps beside a SQLite store ``DIR/NAME.db``:
``DIR/NAME.webhooks.db`` (the webhooks' delivery log, when hooks are
configured) and ``DIR/server-secret`` (signs session cookies;
``$FERMATA_SERVER_SECRET`` replaces it). Who started, answered or cancelled
a run is recorded by the runtime, in the store.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from fermata.spec.version import fermata_version as _version

from .identity import hash_token, new_token

EXIT_OK, EXIT_USAGE = 0, 2


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def state_paths(store_url: str) -> tuple[Path | None, Path | None]:
    """Where the webhooks' delivery log and the cookie secret live for
    ``store_url`` (None, None: not a SQLite store)."""
    if not store_url.startswith("sqlite:"):
        return None, None
    rest = store_url[len("sqlite:"):]
    db = Path(rest.removeprefix("///"))
    return db.with_name(db.stem + ".webhooks.db"), db.with_name("server-secret")


def read_secret(path: Path | None) -> str:
    """The cookie-signing secret: the environment's, else the file's (made
    once, readable by its owner only), else a new one for this process."""
    from_env = os.environ.get("FERMATA_SERVER_SECRET")
    if from_env:
        return from_env
    if path is None:
        return new_token()
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    return secret


def run_serve(args: argparse.Namespace) -> int:
    if args.hash_token:
        token = new_token()
        print(f"token (give it to the user; it is not stored): {token}")
        print(f'token_sha256 = "{hash_token(token)}"   # put this line in the user\'s [users.NAME] table')
        return EXIT_OK
    try:
        import uvicorn
    except ImportError:
        print("fermata serve: error: the server's packages are missing: pip install 'fermata[server]'",
              file=sys.stderr)
        return EXIT_USAGE
    from fermata.runtime.stores import open_store

    from .app import Settings, create_app
    from .catalog import CatalogError, load_catalog
    from .identity import UsersFileError, load_users
    from .webhooks import WebhookConfigError, load_hooks

    def fail(message: str) -> int:
        print(f"fermata serve: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    if args.users is None and not is_loopback(args.host):
        return fail(f"without --users everyone may do everything: bind to 127.0.0.1, not {args.host}, "
                    "or name a users file")
    if args.proxy_header and args.users is None:
        return fail("--proxy-header needs --users (the header names a user; users.toml gives the roles)")
    try:
        users = load_users(args.users) if args.users else None
    except UsersFileError as exc:
        return fail(str(exc))
    try:
        hooks = [*(load_hooks(args.users) if args.users else []), *(load_hooks(args.webhooks) if args.webhooks else [])]
    except WebhookConfigError as exc:
        return fail(str(exc))
    if len({hook.name for hook in hooks}) != len(hooks):
        return fail("two [webhooks.NAME] tables share a name (in --users and --webhooks)")
    if args.workers < 1:
        return fail("--workers must be at least 1")
    if args.tick < 0:
        return fail("--tick must be 0 (never) or a number of seconds")
    try:
        store = open_store(args.store)
    except Exception as exc:  # noqa: BLE001 - StoreError and friends: a usage problem
        return fail(str(exc))
    try:
        catalog = load_catalog(args.flow_dir, store)
    except CatalogError as exc:
        return fail(str(exc))
    log_path, secret_path = state_paths(args.store)
    webhook_log = args.webhook_log or str(log_path or "fermata-webhooks.db")
    settings = Settings(catalog=catalog, store=store, users=users, proxy_header=args.proxy_header,
                        secret=read_secret(secret_path), secure_cookies=args.secure_cookies, workers=args.workers,
                        version=_version(), hooks=hooks, webhook_log=webhook_log, tick_every=args.tick,
                        store_url=args.store, advance=args.worker)
    if users is None:
        print("fermata serve: no --users: everyone who reaches this address is `local`, with every role",
              file=sys.stderr)
    print(f"fermata serve: {len(catalog.names())} flow(s) ({', '.join(catalog.names())}) from "
          f"{args.flow_dir}, store {args.store}, on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=False, server_header=False)
    return EXIT_OK

