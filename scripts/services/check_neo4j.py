"""Readiness probe for the test Neo4j started by scripts/services.sh.

    python3 check_neo4j.py URL USER PASSWORD [--timeout SECONDS]

Exit codes (services.sh relies on them):
  0  connected with the given credentials and the default database answered ``RETURN 1``
  1  not (yet) reachable or not (yet) answering: try again later
  2  the server answered but rejected the credentials: retrying will not help
  3  the ``neo4j`` Python driver is not installed: fall back to a TCP check
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("--database", default="neo4j")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()

    try:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError
    except ImportError:
        return 3

    try:
        with GraphDatabase.driver(
            args.url,
            auth=(args.user, args.password),
            connection_timeout=args.timeout,
            max_transaction_retry_time=0,
        ) as driver:
            with driver.session(database=args.database) as session:
                value = session.run("RETURN 1 AS ok").single(strict=True)["ok"]
            if value != 1:
                print(f"unexpected answer from Neo4j: {value!r}", file=sys.stderr)
                return 1
    except AuthError as exc:
        print(f"Neo4j rejected the credentials for user {args.user!r}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # any other failure means "not ready yet"
        print(f"Neo4j not ready: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
