"""`ucgen report RUN`: write the run's HTML report."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a run's HTML report",
        description="Write RUN/report/index.html: evaluation table, loss "
        "curves, every sample grid and strip, and the configuration.",
    )
    p.add_argument("run", help="run folder, e.g. runs/digits")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ucgen.io.runs import Run
    from ucgen.report.html import write_report

    out = write_report(Run.open(args.run))
    print(f"report written to {out}")
    return 0
