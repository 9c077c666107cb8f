"""The command line: `fewshot-lab` or `python -m fewshot_lab`."""
from __future__ import annotations

import argparse
import json
import sys

from fewshot_lab.data import list_datasets


def _datasets(arguments) -> int:
    rows = list_datasets()
    if arguments.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        cached = {True: "cached", False: "not cached", None: "nothing to cache"}[row["cached"]]
        print(f"{row['name']:<{width}}  {cached:<16}  {row['size']:<22}  {row['description']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fewshot-lab", description="fewshot_lab: meta-learning by running it.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    datasets = commands.add_parser("datasets", help="list the datasets, their sizes and whether each is cached",
                                   description="List the datasets, their sizes and whether each is cached "
                                               "(in $FEWSHOT_LAB_DATA, default ~/.cache/fewshot_lab).")
    datasets.add_argument("--json", action="store_true", help="print JSON for machines")
    datasets.set_defaults(handler=_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
