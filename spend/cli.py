"""``python -m spend``: warm the cache or export the usage table from a terminal (or cron).

    python -m spend fetch  --start 2026-10-01 --end 2026-10-31 [--source auto|legacy|admin|demo]
                           [--per-user]
    python -m spend export --start 2026-10-01 --end 2026-10-31 --out usage.csv
    python -m spend plan   --start ... --end ...
    python -m spend alerts [--as-of YYYY-MM-DD] [--budgets FILE] [--notify URL ...] [--json]

The same code path as the app. Credentials come from OPENAI_API_KEY / OPENAI_ADMIN_KEY and
OPENAI_ORG_ID. An expected failure prints one line on stderr and exits 1 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from spend import errors, notify
from spend.budgets import load_budgets, month_start
from spend.config import SOURCE_CHOICES, Settings
from spend.dates import parse_day
from spend.export import to_csv
from spend.formatting import format_duration
from spend.report import evaluate
from spend.sources import FetchProgress, Plan, make_source


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m spend", description="Where your OpenAI API money goes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("fetch", "fetch a range into the disk cache, with a progress bar"),
        ("export", "write the usage table for a range as CSV"),
        ("plan", "say how many requests a range needs and how long they take"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "--start", type=parse_day, help="first UTC day (default: 30 days before --end)"
        )
        cmd.add_argument("--end", type=parse_day, help="last UTC day, inclusive (default: today)")
        cmd.add_argument(
            "--source",
            choices=SOURCE_CHOICES,
            default=None,
            help="auto (default): demo without a key, admin for sk-admin- keys, else legacy",
        )
        cmd.add_argument(
            "--per-user",
            action="store_true",
            help="legacy source: per day the org-wide answer and one per member, so usage is "
            "attributed to users (the rest shows as no user)",
        )
        cmd.add_argument(
            "-v", "--verbose", action="store_true", help="log each request (never the key)"
        )
        if name == "export":
            cmd.add_argument("--out", required=True, help="CSV file to write, or - for stdout")
    add_alerts_parser(sub)
    return parser


def describe_plan(plan: Plan) -> str:
    """A plan into one line, e.g. ``"31 requests for 2026-10-01..2026-10-30: 12 cached, 19 to fetch
    (~3m48s at 5/min)"``; it says so when a 429 pause left by an earlier run comes first ("waiting
    109 s from an earlier 429"), and when an answer not stored yet decides the count."""
    requests = f"{plan.total} request{'s' if plan.total != 1 else ''}"
    line = (
        f"{requests} for {plan.start}..{plan.end} ({plan.source}): "
        f"{plan.total - plan.missing} cached, {plan.missing} to fetch"
    )
    if plan.missing and plan.rate_per_min:
        line += f" (~{format_duration(plan.eta_seconds)} at {plan.rate_per_min:g}/min"
        if plan.paused and plan.wait_seconds >= 1:
            line += f", waiting {plan.wait_seconds:.0f} s from an earlier 429 first"
        line += ")"
    if plan.undecided:
        line += f"; {plan.undecided}"
    return line


def progress_printer(stream: TextIO, width: int = 30) -> Callable[[FetchProgress], None]:
    """A progress callback that redraws one stderr line: bar, done/planned, ETA."""

    def show(state: FetchProgress) -> None:
        show.open = not state.finished  # a line is drawn and not yet ended
        filled = int(width * state.fraction)
        bar = "#" * filled + "." * (width - filled)
        eta = "done" if state.finished else f"ETA {format_duration(state.eta_seconds)}"
        if not state.finished and state.waiting_seconds >= 1:
            eta += f", waiting {state.waiting_seconds:.0f} s for OpenAI's rate limit"
        stream.write(f"\r[{bar}] {state.done}/{state.planned} requests, {eta}   ")
        if state.finished:
            stream.write("\n")
        stream.flush()

    show.open = False
    return show


def _unwritable(path: str) -> str | None:
    """A path into why a file cannot be written there (checked before a long fetch), or None."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        return "it is a folder"
    if not folder.is_dir():
        return f"no folder {folder}"
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return "permission denied"
    return None


def main(
    argv: Sequence[str] | None = None,
    *,
    environ=None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=stderr, format="%(name)s: %(message)s")
    if args.command == "alerts":
        return run_alerts(
            args, environ=environ, stdout=stdout, stderr=stderr, clock=clock, sleep=sleep
        )
    progress = progress_printer(stderr)
    if args.command == "export" and args.out != "-":
        problem = _unwritable(args.out)
        if problem:
            stderr.write(f"error: cannot write {args.out}: {problem}\n")
            return 1
    secrets: list[str | None] = []  # cut from every line shown (the key, whatever its shape)
    try:
        settings = Settings.from_env(environ)
        secrets.append(settings.api_key)
        if args.source:
            settings = settings.with_(source=args.source)
        today = datetime.fromtimestamp(clock(), tz=UTC).date()
        end = args.end or today
        start = args.start or end - timedelta(days=29)
        source = make_source(settings, per_user=args.per_user, clock=clock, sleep=sleep)
        plan = source.plan(start, end)
        stderr.write(describe_plan(plan) + "\n")
        if args.command == "plan":
            return 0
        lost_before = source.client.cache_lost if source.client is not None else 0
        if source.read_only:
            stderr.write(
                f"note: the cache folder {settings.cache_dir} is read-only for this user: "
                "showing what it holds, fetching nothing\n"
            )
        else:
            source.fetch(plan, progress=progress)
        result = source.assemble(plan)
        for notice in result.notices:
            stderr.write(f"note: {errors.redact(notice, secrets)}\n")
        if source.client is not None and source.client.cache_lost != lost_before:
            stderr.write(
                f"error: the cache folder {settings.cache_dir} was deleted while fetching: every "
                f"answer stored in it was lost with it, so {result.missing_requests} of "
                f"{plan.total} answers for {plan.start}..{plan.end} are missing. Run the same "
                "command again to fetch them.\n"
            )
            return 1
        if args.command == "export":
            text = to_csv(result.frame)
            if args.out == "-":
                stdout.write(text)
            else:
                try:
                    with open(args.out, "w", encoding="utf-8", newline="") as handle:
                        handle.write(text)
                except OSError as exc:
                    stderr.write(f"error: cannot write {args.out}: {exc.strerror or exc}\n")
                    return 1
                stderr.write(f"wrote {len(result.frame)} rows to {args.out}\n")
        if result.partial:
            stderr.write(
                f"warning: {result.missing_requests} answers are missing; run the command again to "
                "fetch them\n"
            )
            return 1
        else:
            stderr.write(f"{len(result.frame)} usage rows cached for {plan.start}..{plan.end}\n")
        return 0
    except errors.SpendError as exc:
        if progress.open:
            stderr.write("\n")
        stderr.write(f"error: {errors.redact(str(exc), secrets)}\n")
        return 1
    except KeyboardInterrupt:
        stderr.write(
            "\ninterrupted: what was fetched is kept; run the same command again to resume\n"
        )
        return 130


# --------------------------------------------------------------------------------------------
# python -m spend alerts

#: History loaded before the month's first day: forecast bands and spike windows need it.
HISTORY_DAYS = 90
#: ``alerts`` exit codes beside 0 and 1 (one ``error: ...`` line: a bad key, file, URL or date).
EXIT_OVERRUN = 3  # a budget has crossed 100% and --fail-on-overrun was given
EXIT_UNDELIVERED = 4  # a target refused a message (after every target was tried): resent next run


def add_alerts_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``alerts`` command to ``python -m spend``'s subparsers; return its parser."""
    command = subparsers.add_parser(
        "alerts",
        help="check budgets, the month-end forecast and spikes; notify through Apprise",
        description=(
            "Evaluate the month of --as-of (default: yesterday, UTC) against budgets, forecast "
            "the month end, find spikes, and send each new alert once to every --notify URL."
        ),
    )
    command.add_argument("--source", choices=SOURCE_CHOICES, default=None, help="default: auto")
    command.add_argument(
        "--as-of",
        type=parse_day,
        default=None,
        help="the last complete UTC day (default: yesterday)",
    )
    command.add_argument(
        "--budgets", default=None, help="a budgets TOML file (default: SPEND_BUDGETS_FILE)"
    )
    command.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="an Apprise URL (slack://, mailto://, json://, ...); repeat for several",
    )
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--fail-on-overrun", action="store_true", help="exit 3 when a budget has crossed 100%%"
    )
    command.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_DAYS,
        help=f"days loaded before the month for forecasts and spikes (default {HISTORY_DAYS})",
    )
    command.add_argument(
        "-v", "--verbose", action="store_true", help="log each request (never a key or token)"
    )
    command.set_defaults(handler=run_alerts)
    return command


def _load_for_alerts(
    environ,
    *,
    source_name: str | None,
    budgets_file: str | None,
    start,
    end,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple:
    """Settings, the usage table for ``start..end``, its price file, every budget (the file's
    and, with an admin key, OpenAI's spend controls) and notices:
    ``(settings, frame, prices, budgets, notices)``."""
    settings = Settings.from_env(environ)
    if source_name:
        settings = settings.with_(source=source_name)
    budgets_file = budgets_file or settings.budgets_file
    budgets = load_budgets(budgets_file) if budgets_file else []
    source = make_source(settings, clock=clock, sleep=sleep)
    try:
        result = source.load(start, end)
        notices = list(result.notices)
        if result.partial:
            notices.append(
                f"{result.missing_requests} answers are missing: figures may be too low; "
                "run again to fetch them"
            )
        if source.client is not None:  # a source with spend controls (admin) reads them
            projects = result.frame["project_id"].dropna().astype(str).unique()
            found, more = source.spend_controls(projects)
            budgets = [*budgets, *found]
            notices += more
    finally:
        close = getattr(source.client, "close", None)
        if close is not None:
            close()
    return settings, result.frame, source.prices, budgets, notices


def run_alerts(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ=None,  # os.environ when None
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``python -m spend alerts`` with parsed ``args``; return the exit code.

    One run evaluates the month of ``--as-of`` (default: yesterday, UTC; it counts as the last
    complete day) into a report (``spend.report``; ``--json`` prints it), then sends what is new to
    each ``--notify`` Apprise URL (``spend.notify``). The URLs are checked before anything is
    fetched. Budgets come from ``--budgets``, else ``SPEND_BUDGETS_FILE``; with an admin key,
    OpenAI's own spend limits and alerts join them (read-only; a refused endpoint is a notice).
    Messages link to the app's view of the day or month when ``SPEND_APP_URL`` is set.

    Exit codes: 0; 1 with one ``error: ...`` line for a bad key, file, URL or date; 3 when a
    budget has crossed 100% and ``--fail-on-overrun`` is given; 4 when a delivery failed (every
    target was tried; what failed is not marked sent, so the next run sends it again), before 3.
    The API key and the notification URLs' tokens are never printed, stored or logged.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = os.environ if environ is None else environ
    try:
        targets = notify.make_targets(args.notify)
        now = datetime.fromtimestamp(clock(), tz=UTC)
        as_of = args.as_of or now.date() - timedelta(days=1)
        if as_of >= now.date():
            raise errors.ConfigError(
                f"--as-of {as_of} is not a complete day yet; pick a day before {now.date()} (UTC)"
            )
        if args.history_days < 0:
            raise errors.ConfigError("--history-days must be 0 or more")
        settings, frame, prices, budgets, notices = _load_for_alerts(
            environ,
            source_name=args.source,
            budgets_file=args.budgets,
            start=month_start(as_of) - timedelta(days=args.history_days),
            end=as_of,
            clock=clock,
            sleep=sleep,
        )
        report = evaluate(
            frame,
            budgets,
            as_of,
            overrides=prices,
            app_url=settings.app_url,
            notices=notices,
        )
        if targets:
            path = notify.state_path(settings)
            report.notified, report.failed = notify.notify(report, targets, path, now=now)
    except errors.SpendError as exc:
        stderr.write(f"error: {exc}\n")
        return 1
    for notice in report.notices:
        stderr.write(f"note: {notice}\n")
    if args.json:
        stdout.write(report.to_json() + "\n")
    else:
        stdout.write("\n".join(notify.summary_lines(report)) + "\n")
        if targets:
            stdout.write(f"sent {len(report.notified)} new alert(s)\n")
    if report.failed:
        labels = sorted({failure.target for failure in report.failed})
        stderr.write(
            f"warning: {len(report.failed)} deliveries failed ({', '.join(labels)}); "
            "they are not marked sent, so the next run tries again\n"
        )
        return EXIT_UNDELIVERED
    if args.fail_on_overrun and report.overrun:
        return EXIT_OVERRUN
    return 0
