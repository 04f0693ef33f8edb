"""``python -m confluence.standin --port N``: run the stand-in until interrupted."""

from __future__ import annotations

import argparse
import logging

from confluence.standin.server import StandinServer
from confluence.standin.state import DEFAULT_EMAIL, DEFAULT_TOKEN


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m confluence.standin", description="An in-memory Confluence Cloud stand-in."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--email", default=DEFAULT_EMAIL, help="the account accepted with basic auth")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="its API token")
    parser.add_argument("--bearer-token", action="append", default=[], help="a bearer token to accept (repeatable)")
    parser.add_argument("--pages", type=int, default=0, help="pages to seed in all, homepages included")
    parser.add_argument("--spaces", type=int, default=2, help="spaces to seed (DEMO, DOCS, then ENG, OPS ...)")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every API request")
    parser.add_argument("--public-url", help="the URL clients reach it at, when not http://HOST:PORT")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    server = StandinServer(
        host=args.host,
        port=args.port,
        email=args.email,
        api_token=args.token,
        bearer_tokens=args.bearer_token,
        pages=args.pages,
        spaces=args.spaces,
        users=args.users,
        latency_ms=args.latency_ms,
        public_url=args.public_url,
    )
    # The token is deliberately not printed: demo logs get pasted into issues.
    print(f"Confluence stand-in at {server.url}/wiki (basic auth as {args.email}); Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
