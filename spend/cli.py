"""``python -m spend``: warm the cache or export the usage table from a terminal (or cron).

    python -m spend fetch  --start 2026-10-01 --end 2026-10-31 [--source auto|legacy|admin|demo]
                           [--per-user]
    python -m spend export --start 2026-10-01 --end 2026-10-31 --out usage.csv
                           [--format csv|focus] [--focus-format csv|parquet]
    python -m spend plan   --start ... --end ...
    python -m spend alerts [--as-of YYYY-MM-DD] [--budgets FILE] [--secrets FILE]
                           [--notify URL ...] [--json]
    python -m spend digest --period week|month [--as-of YYYY-MM-DD] [--notify URL ...]
                           [--team NAME|all] [--json]

Every command takes ``--timezone NAME`` (an IANA zone; default ``SPEND_TIMEZONE``, else UTC):
dates (``--start``, ``--end``, ``--as-of``, the CSV's and FOCUS's) are days in that zone.

The same code path as the app. Credentials come from OPENAI_API_KEY / OPENAI_ADMIN_KEY and
OPENAI_ORG_ID. An expected failure prints one line on stderr and exits 1 (2 for bad arguments,
an unknown time zone among them).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from spend import dates, errors, notify
from spend.budgets import (
    DEFAULT_SECRETS_FILE,
    load_budgets,
    month_start,
    read_secrets_file,
    secrets_budgets,
)
from spend.config import Settings
from spend.dates import local_today
from spend.digest import build_digest, period_bounds
from spend.export import to_csv
from spend.focus import focus_csv, focus_of, focus_parquet
from spend.forecast import history_window
from spend.formatting import format_duration
from spend.localdays import is_utc, zone_of
from spend.report import evaluate
from spend.runner import Part, Run
from spend.sources import (
    SOURCES,
    FetchProgress,
    LoadResult,
    Plan,
    selected,
    source_choices,
)
from spend.teams import Teams, load_teams, with_teams


def parse_day(text: str) -> date:
    """A date argument (``dates.parse_day``) whose problem is argparse's error, never a
    traceback, e.g. ``"2026-02-30"`` -> "not a date in YYYY-MM-DD form: '2026-02-30'"."""
    try:
        return dates.parse_day(text)
    except (ValueError, errors.ConfigError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_timezone(command: argparse.ArgumentParser) -> None:
    """Add ``--timezone NAME`` to a command (checked in ``zone_error``, one line and exit 2)."""
    command.add_argument(
        "--timezone",
        default=None,
        metavar="NAME",
        help="the IANA time zone days are counted in, e.g. America/Los_Angeles (default: "
        "SPEND_TIMEZONE, else UTC); outside UTC the admin sources fetch hourly usage",
    )


def zone_error(args: argparse.Namespace, environ) -> str | None:
    """Why the zone of ``--timezone`` (else ``SPEND_TIMEZONE``) is unknown, one line naming the
    option or setting; None when it is known."""
    given = getattr(args, "timezone", None)
    try:
        if given is not None:
            zone_of(given, "--timezone")
        else:
            zone_of((os.environ if environ is None else environ).get("SPEND_TIMEZONE"))
    except errors.ConfigError as exc:
        return str(exc)
    return None


def complete_day(given: date | None, now: datetime, timezone: str | None, environ) -> date:
    """``--as-of`` (a day in ``--timezone``, else ``SPEND_TIMEZONE``), by default yesterday
    there; a ConfigError when it is not a complete day yet."""
    zone = zone_of(timezone if timezone is not None else environ.get("SPEND_TIMEZONE"))
    today = local_today(zone, now)
    as_of = dates.check_day(given or today - timedelta(days=1), "--as-of")
    if as_of >= today:
        raise errors.ConfigError(
            f"--as-of {as_of} is not a complete day yet; pick a day before {today} ({zone.key})"
        )
    return as_of


def _report_args(
    args: argparse.Namespace, environ, clock: Callable[[], float]
) -> tuple[list[notify.Target], datetime, date]:
    """What ``alerts`` and ``digest`` check before anything is fetched: their targets, the
    clock's now and ``--as-of``; a ConfigError naming a bad one."""
    targets = notify.make_targets(args.notify)
    now = datetime.fromtimestamp(clock(), tz=UTC)
    as_of = complete_day(args.as_of, now, getattr(args, "timezone", None), environ)
    if args.history_days < 0:
        raise errors.ConfigError("--history-days must be 0 or more")
    return targets, now, as_of


def zoned(settings: Settings, args: argparse.Namespace) -> Settings:
    """Settings with ``--timezone`` when given."""
    given = getattr(args, "timezone", None)
    return settings.with_(timezone=zone_of(given, "--timezone").key) if given else settings


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
            "--start", type=parse_day, help="first day (default: 30 days before --end)"
        )
        cmd.add_argument(
            "--end", type=parse_day, help="last day, inclusive (default: today, in --timezone)"
        )
        add_timezone(cmd)
        cmd.add_argument(
            "--source",
            choices=source_choices(),
            default=None,
            help="auto (default): every source whose key is set (demo without any: admin for "
            "sk-admin- keys, else legacy); all: the same; or one source by name",
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
            cmd.add_argument(
                "--out", required=True, help="file to write (CSV or Parquet), or - for stdout"
            )
            cmd.add_argument(
                "--format",
                choices=("csv", "focus"),
                default="csv",
                help="csv (default): the usage table; focus: FOCUS 1.3 cost and usage rows for "
                "FinOps tools (spend/focus.py)",
            )
            cmd.add_argument(
                "--focus-format",
                choices=("csv", "parquet"),
                default=None,
                help="the FOCUS file's format: parquet when --out ends in .parquet, else csv",
            )
            cmd.add_argument(
                "--secrets",
                default=None,
                metavar="FILE",
                help="the app's secrets file, for its [teams] (the team column and FOCUS tag) "
                "beside SPEND_TEAMS_FILE (default: .streamlit/secrets.toml when it exists)",
            )
    add_alerts_parser(sub)
    add_digest_parser(sub)
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
    if plan.zone_note:
        line += f"; {plan.zone_note}"
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
    problem = zone_error(args, environ)
    if problem:  # a bad argument (or setting): one line, exit 2
        stderr.write(f"error: {problem}\n")
        return 2
    if args.command == "alerts":
        return run_alerts(
            args, environ=environ, stdout=stdout, stderr=stderr, clock=clock, sleep=sleep
        )
    if args.command == "digest":
        return run_digest(
            args, environ=environ, stdout=stdout, stderr=stderr, clock=clock, sleep=sleep
        )
    if args.command == "export" and args.out != "-":
        problem = _unwritable(args.out)
        if problem:
            stderr.write(f"error: cannot write {args.out}: {problem}\n")
            return 1
    run: Run | None = None
    progress = progress_printer(stderr)
    try:
        settings = zoned(Settings.from_env(environ), args)
        if args.source:
            settings = settings.with_(source=args.source)
        today = local_today(settings.zone, datetime.fromtimestamp(clock(), tz=UTC))
        end = args.end or today
        if end < dates.FIRST_DAY:  # the 30 days before it might not exist (a later end is capped)
            dates.check_day(end, "--end")
        start = args.start or end - timedelta(days=29)
        run = Run.open(settings, per_user=args.per_user, clock=clock, sleep=sleep)
        return _run_command(args, run, start, end, progress, stdout, stderr)
    except errors.SpendError as exc:
        if progress.open:
            stderr.write("\n")
        shown = run.redact(str(exc)) if run is not None else errors.redact(str(exc))
        stderr.write(f"error: {shown}\n")
        return 1
    except KeyboardInterrupt:
        stderr.write(
            "\ninterrupted: what was fetched is kept; run the same command again to resume\n"
        )
        return 130
    finally:
        if run is not None:
            run.close()


def _run_command(
    args: argparse.Namespace,
    run: Run,
    start: date,
    end: date,
    progress: Callable[[FetchProgress], None],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``plan``, ``fetch`` or ``export`` over every source of ``run``: one line per source's plan,
    its fetch, then one table; a source that fails prints its error and leaves the others'."""
    settings = run.settings
    teams = (  # SPEND_TEAMS_FILE and the secrets' [teams], as the app and the alerts read them
        load_teams(settings, read_secrets_file(args.secrets))
        if args.command == "export"
        else Teams()
    )
    run.plan(start, end)
    for part in run.parts:
        if part.plan is not None:
            stderr.write(run.label(part, describe_plan(part.plan)) + "\n")
    if args.command == "plan":
        return _report_errors(run, stderr)
    for part in run.working():
        if part.read_only:
            stderr.write(
                run.label(
                    part,
                    f"note: the cache folder {settings.cache_dir} is read-only for this user: "
                    "showing what it holds, fetching nothing",
                )
                + "\n"
            )
    due = [p for p in run.working() if not p.read_only]
    if due:
        # one progress line: a single source's bar, or the sources' requests added up
        run.fetch(progress=lambda part, state: progress(_together(run, part, state)))
        if progress.open:
            stderr.write("\n")
            progress.open = False
    result = run.assemble()
    if teams:  # a team column only when teams are configured: else the CSV is as it was
        result.frame = with_teams(result.frame, teams)
    for notice in result.notices:
        if result.partial and NO_USAGE in notice:
            continue  # answers are missing: nobody knows yet whether there was usage
        stderr.write(f"note: {run.redact(notice)}\n")
    stuck = [p for p in run.working() if p.read_only and p.result is not None and p.result.partial]
    if stuck and args.command == "export" and len(result.frame):
        _write(args, result, stdout, stderr, settings)
    if stuck:
        missing = sum(p.result.missing_requests for p in stuck if p.result is not None)
        stderr.write(
            f"error: nothing could be fetched into the read-only cache folder {settings.cache_dir}:"
            f" {missing} answers for {result.start}..{result.end} are not in it. Run "
            "`python -m spend fetch` as a user who may write that folder, or set SPEND_CACHE_DIR "
            "to one this user may write.\n"
        )
        _report_errors(run, stderr)
        return 1
    lost = [p.plan for p in run.parts if p.cache_lost and p.plan is not None]
    if lost:
        stderr.write(
            f"error: the cache folder {settings.cache_dir} was deleted while fetching: every "
            f"answer stored in it was lost with it, so {result.missing_requests} of "
            f"{sum(plan.total for plan in lost)} answers for {lost[0].start}..{lost[0].end} are "
            "missing. Run the same command again to fetch them.\n"
        )
        return 1
    if _report_errors(run, stderr):
        if args.command == "export" and len(result.frame):
            _write(args, result, stdout, stderr, settings)
        return 1
    if args.command == "export" and _write(args, result, stdout, stderr, settings):
        return 1
    if result.partial:
        stderr.write(
            f"warning: {result.missing_requests} answers are missing; run the command again to "
            "fetch them\n"
        )
        return 1
    span = f"{result.start}..{result.end}"
    if not is_utc(settings.zone):  # say which zone the dates are days of
        span += f" ({settings.zone.key} days)"
    stderr.write(f"{len(result.frame)} usage rows cached for {span}\n")
    return 0


#: What a source's notice says when its answers held no row; untrue while answers are missing.
NO_USAGE = "had no API usage"


def _together(run: Run, part: Part, state: FetchProgress) -> FetchProgress:
    """A part's progress into the run's: itself for one source, else every part's requests
    added up (the slowest part's ETA)."""
    if not run.several:
        return state
    states = [p.progress for p in run.parts if p.progress is not None]
    return FetchProgress(
        planned=sum(s.planned for s in states),
        done=sum(s.done for s in states),
        started_at=min(s.started_at for s in states),
        now=state.now,
        rate_per_min=None,
        rate_limited_until=max(s.rate_limited_until for s in states),
        finished=all(s.finished for s in states),
    )


def _report_errors(run: Run, stderr: TextIO) -> int:
    """One ``error:`` line per failed source; 1 when any failed."""
    for part in run.errors:
        stderr.write("error: " + run.redact(run.label(part, str(part.error))) + "\n")
    return 1 if run.errors else 0


def _write(
    args: argparse.Namespace,
    result: LoadResult,
    stdout: TextIO,
    stderr: TextIO,
    settings: Settings | None = None,
) -> int:
    """The table to ``--out`` (or stdout): the usage table as CSV, or with ``--format focus`` its
    FOCUS rows as CSV or Parquet (``--focus-format``, else the file's suffix), its periods the
    UTC instants of the days of ``settings.zone``; 1 when the file cannot be written."""
    data: str | bytes
    rows = len(result.frame)
    if getattr(args, "format", "csv") == "focus":
        kind = args.focus_format or ("parquet" if args.out.endswith(".parquet") else "csv")
        table = focus_of(result.frame, settings)
        rows = table.num_rows
        if kind == "parquet" and args.out == "-":
            stderr.write("error: a Parquet file is binary: give --out FILE.parquet\n")
            return 1
        data = focus_parquet(table) if kind == "parquet" else focus_csv(table)
    else:
        data = to_csv(result.frame)
    if args.out == "-":
        stdout.write(data)
        return 0
    try:
        if isinstance(data, bytes):
            Path(args.out).write_bytes(data)
        else:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                handle.write(data)
    except OSError as exc:
        stderr.write(f"error: cannot write {args.out}: {exc.strerror or exc}\n")
        return 1
    stderr.write(f"wrote {rows} rows to {args.out}\n")
    return 0


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
            "Evaluate the month of --as-of (default: yesterday, in --timezone) against budgets, "
            "forecast the month end, find spikes, and send each new alert once to every --notify "
            "URL."
        ),
    )
    _report_options(command, secrets="whose [[budget]] entries count too")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--fail-on-overrun", action="store_true", help="exit 3 when a budget has crossed 100%%"
    )
    return _one_line_errors(command)


def _report_options(command: argparse.ArgumentParser, *, secrets: str) -> None:
    """The options ``alerts`` and ``digest`` share: source, day and zone, budgets, secrets,
    targets, history and logging."""
    command.add_argument("--source", choices=source_choices(), default=None, help="default: auto")
    command.add_argument(
        "--as-of",
        type=parse_day,
        default=None,
        help="the last complete day in --timezone (default: yesterday there)",
    )
    add_timezone(command)
    command.add_argument(
        "--budgets", default=None, help="a budgets TOML file (default: SPEND_BUDGETS_FILE)"
    )
    command.add_argument(
        "--secrets",
        default=None,
        metavar="FILE",
        help=f"the app's secrets file, {secrets} (default: .streamlit/secrets.toml when it exists)",
    )
    command.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="an Apprise URL (slack://, mailto://, json://, ...); repeat for several",
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


def _one_line_errors(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A command whose bad argument is one "error:" line and exit 2 (not argparse's usage)."""

    def one_line(message: str) -> None:
        command.exit(2, f"error: {command.prog}: {message}\n")

    command.error = one_line  # type: ignore[method-assign]
    return command


def _load_for_alerts(
    environ,
    *,
    source_name: str | None,
    budgets_file: str | None,
    secrets_file: str | None = None,
    timezone: str | None = None,
    start,
    end,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple:
    """Settings, the usage table for ``start..end`` from every selected source (``Run``), the
    price file, every budget (the file's, the secrets file's ``[[budget]]`` entries, and each
    source's own spend controls) and notices: ``(settings, frame, prices, budgets, notices)``. A
    source that fails is a notice when others stand; when every source fails, that is the
    command's error. The load reaches back at least to the forecast's own window
    (``forecast.history_window(end)``), as the app's month card loads it."""
    start = min(start, history_window(end)[0])
    settings = Settings.from_env(environ)
    if timezone:
        settings = settings.with_(timezone=timezone)
    if source_name:
        settings = settings.with_(source=source_name)
    budgets_file = budgets_file or settings.budgets_file
    budgets = load_budgets(budgets_file) if budgets_file else []
    secrets_path = secrets_file or str(DEFAULT_SECRETS_FILE)
    secrets = read_secrets_file(secrets_file)
    budgets += secrets_budgets(secrets, source=f"secrets file {secrets_path}")
    teams = load_teams(settings, secrets)  # a team budget counts the team column
    with Run.open(settings, clock=clock, sleep=sleep) as run:
        result = run.load(start, end)
        if len(run.errors) == len(run.parts):  # nothing to evaluate: the failure is the command's
            said = "; ".join(run.redact(run.label(p, str(p.error))) for p in run.errors)
            raise errors.SpendError(said) from run.errors[0].error
        for part in run.errors:
            result.notices.append(run.label(part, f"not counted: {part.error}"))
        notices = [run.redact(notice) for notice in result.notices]
        if result.partial:
            notices.append(
                f"{result.missing_requests} answers are missing: figures may be too low; "
                "run again to fetch them"
            )
        for part in run.working():  # a source with spend controls (admin) fetches and reads them
            if part.result is None or part.source is None:
                continue
            projects = part.result.frame["project_id"].dropna().astype(str).unique()
            controls = part.source.controls_plan(projects)
            try:
                if controls.requests and not part.read_only:
                    part.source.fetch(controls)
            except errors.SpendError as exc:  # a timeout or a 429 is the error it is
                notices.append(run.label(part, f"spend limits and alerts not read: {exc}"))
            found, more = part.source.spend_controls(projects)
            budgets = [*budgets, *found]
            notices += more
        notices = [run.redact(notice) for notice in notices]
        prices = next((p.source.prices for p in run.parts if p.source is not None), None)
    frame = with_teams(result.frame, teams) if teams else result.frame
    return settings, frame, prices, budgets, notices


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

    One run evaluates the month of ``--as-of`` (a date in ``--timezone``, else
    ``SPEND_TIMEZONE``; default: yesterday there; it counts as the last complete day) into a
    report (``spend.report``; ``--json`` prints it), then sends what is new to each ``--notify``
    Apprise URL (``spend.notify``). The URLs are checked before anything is
    fetched. Budgets come from ``--budgets``, else ``SPEND_BUDGETS_FILE``, and from the
    ``[[budget]]`` entries of the app's secrets file (``--secrets``, else
    ``.streamlit/secrets.toml`` when it exists; a broken one is an error); with an admin key,
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
    problem = zone_error(args, environ)
    if problem:  # a bad argument (or setting): one line, exit 2
        stderr.write(f"error: {problem}\n")
        return 2
    given = getattr(args, "timezone", None)
    try:
        targets, now, as_of = _report_args(args, environ, clock)
        start = dates.days_before(month_start(as_of), args.history_days, "--history-days")
        settings, frame, prices, budgets, notices = _load_for_alerts(
            environ,
            source_name=args.source,
            budgets_file=args.budgets,
            secrets_file=args.secrets,
            timezone=given,
            start=start,
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
            who = [SOURCES[name].fingerprint(settings) for name in selected(settings)]
            path = notify.state_path(settings, who)
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


# --------------------------------------------------------------------------------------------
# python -m spend digest

#: Every team's digest, each to its own target (``--team all`` or ``--each-team``).
ALL_TEAMS = "all"


def add_digest_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``digest`` command to ``python -m spend``'s subparsers; return its parser."""
    command = subparsers.add_parser(
        "digest",
        help="send one message: the week's (or month's) spend, movers, spike, savings, budgets",
        description=(
            "Sum up the week (the 7 days ending --as-of) or the month to --as-of (default: "
            "yesterday, in --timezone) against the period before, like for like, with the "
            "month's forecast and budgets, the top movers, the largest spike and the savings, and "
            "send it as one message to every --notify URL."
        ),
    )
    command.add_argument("--period", choices=("week", "month"), default="week")
    _report_options(command, secrets="whose budgets and teams count too")
    command.add_argument(
        "--team",
        default=None,
        metavar="NAME",
        help="only this team's usage, also sent to the target its teams-file entry names; "
        f"'{ALL_TEAMS}': each team its own digest",
    )
    command.add_argument("--each-team", action="store_true", help=f"the same as --team {ALL_TEAMS}")
    command.add_argument("--json", action="store_true", help="print the digest as JSON")
    return _one_line_errors(command)


def _teams_for_digest(settings: Settings, secrets_file: str | None, wanted: str):
    """The teams file's teams and ``with_teams`` for ``--team``: ``(teams, with_teams)``, or a
    ConfigError when no team has that name."""
    from spend.teams import NO_TEAM, load_teams, with_teams

    teams = load_teams(settings, read_secrets_file(secrets_file))
    names = [team.name for team in teams.teams]
    if wanted != ALL_TEAMS and wanted not in names and wanted != NO_TEAM:
        known = ", ".join(names) or "none"
        raise errors.ConfigError(f"--team {wanted!r}: no such team in the teams file ({known})")
    return teams, with_teams


def run_digest(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ=None,  # os.environ when None
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``python -m spend digest`` with parsed ``args``; return the exit code.

    One digest (``spend.digest.build_digest``) for ``--period`` ending ``--as-of`` (a day in
    ``--timezone``, else ``SPEND_TIMEZONE``; default: yesterday there), printed (``--json``: as
    JSON) and sent once to every ``--notify`` URL (``spend.notify.send_digest``), each in its
    format. With ``--team NAME`` only that team's
    usage counts and the team's own targets (``notify`` in the teams file) get it too; with
    ``--team all`` (``--each-team``) every team gets its own. The URLs are checked before
    anything is fetched. Nothing is kept: each run sends.

    Exit codes: 0; 1 with one ``error: ...`` line (a bad key, file, URL, date or team); 4 when a
    target refused the digest (every target was tried). The API key and the notification URLs'
    tokens are never printed, stored or logged.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = os.environ if environ is None else environ
    wanted = ALL_TEAMS if args.each_team else args.team
    problem = zone_error(args, environ)
    if problem:  # a bad argument (or setting): one line, exit 2
        stderr.write(f"error: {problem}\n")
        return 2
    given = getattr(args, "timezone", None)
    try:
        targets, now, as_of = _report_args(args, environ, clock)
        start, _ = period_bounds(args.period, as_of)
        first = min(start - timedelta(days=35), month_start(as_of))  # the period compared with
        first = dates.days_before(first, args.history_days, "--history-days")
        # (name, targets) for each digest: the organization's, or each team's
        runs: list[tuple[str | None, list[notify.Target]]] = [(None, targets)]
        with_teams = None
        if wanted is not None:
            teams, with_teams = _teams_for_digest(Settings.from_env(environ), args.secrets, wanted)
            chosen = [t for t in teams.teams if wanted in (ALL_TEAMS, t.name)]
            runs = [(t.name, targets + notify.make_targets(list(t.notify))) for t in chosen]
            if wanted not in (ALL_TEAMS, *(t.name for t in chosen)):
                runs = [(wanted, targets)]  # the rows of no team
            if not runs:
                raise errors.ConfigError("--team all: the teams file defines no team")
        settings, frame, prices, budgets, notices = _load_for_alerts(
            environ,
            source_name=args.source,
            budgets_file=args.budgets,
            secrets_file=args.secrets,
            timezone=given,
            start=first,
            end=as_of,
            clock=clock,
            sleep=sleep,
        )
        if with_teams is not None:
            frame = with_teams(frame, teams)
        digests = []
        for team, told in runs:
            digest = build_digest(
                frame,
                args.period,
                as_of,
                budgets,
                app_url=settings.app_url,
                team=team,
                overrides=prices,
                notices=notices,
            )
            if told:
                digest.notified, digest.failed = notify.send_digest(digest, told)
            elif team is not None and not args.json:
                stderr.write(f"note: team {team} has no notify target: its digest is printed\n")
            digests.append(digest)
    except errors.SpendError as exc:
        stderr.write(f"error: {exc}\n")
        return 1
    for notice in notices:
        stderr.write(f"note: {notice}\n")
    if args.json:
        if wanted == ALL_TEAMS:
            stdout.write(json.dumps([d.to_dict() for d in digests], indent=2) + "\n")
        else:
            stdout.write(digests[0].to_json() + "\n")
    else:
        for digest in digests:
            stdout.write(notify.digest_text(digest) + "\n")
    failed = [label for digest in digests for label in digest.failed]
    if failed:
        stderr.write(
            f"error: the digest was not delivered to {', '.join(sorted(set(failed)))} (the "
            "target refused it); run the command again to resend\n"
        )
        return EXIT_UNDELIVERED
    sent = sum(len(digest.notified) for digest in digests)
    if sent:
        stderr.write(f"sent the digest to {sent} target(s)\n")
    return 0
