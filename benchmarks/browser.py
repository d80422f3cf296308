"""What users get: ``streamlit run`` driven by chromium, page times and the server's memory.

    .venv/bin/python -m benchmarks.browser --size large                # ~10 min; exit 1 on a FAIL
    .venv/bin/python -m benchmarks.browser --size huge --markdown /tmp/bench-huge.md
    .venv/bin/python -m benchmarks.browser --size small --quick        # ~2-5 min smoke run
    .venv/bin/python -m benchmarks.browser --size large --parts floor  # the app against its floor
    .venv/bin/python -m benchmarks.run --browser --size large          # the same, through run.py

One server (``streamlit run streamlit_app.py``, headless, a free port on 127.0.0.1, no OPENAI_* or
SPEND_* of the caller, its own ``SPEND_CACHE_DIR``, ``SPEND_DEMO_SIZE=--size``) and one headless
Debian chromium (Playwright, never ``playwright install``). Parts, in this order:

1. **first_render**: a fresh small-demo server per run; from spawning the process to the Overview
   drawn in a new browser context (median of runs). Python's bytecode and the OS file cache are
   warm after the first run, as on any restart. The server runs as it would for a user: it may
   write bytecode (``PYTHONDONTWRITEBYTECODE`` of the caller is dropped), the app's own package is
   compiled first, and the report says when the installed packages have no bytecode (``uv pip``
   without ``--compile-bytecode``): every fresh process then compiles pandas & co. from source,
   about 2 s more here.
2. **pages**: per view (``?range=last_30_days``, ``last_90_days``) one session opens the Overview
   (the first visit, which builds the data: reported, not judged), then clicks through every page
   in the sidebar (``[data-testid="stSidebarNavLink"]``) ``--reps`` times. Each switch is timed from
   the click to the page *settled* (below); the old criterion, *first drawn* (the new page's
   ``h1``, the script idle, every chart and data grid holding a canvas/svg drawn after the click),
   is reported beside it.
3. **sessions**: ``--sessions`` browser contexts, one after another, alternating the two views,
   each visiting every page and staying open; the server's RSS after each and after the last.
4. **year**: one session on the whole demo (``?range=custom&start=...&end=...``), page switches.
5. **csv**: the Raw data page's "Download CSV" in the 90-day view, click to file complete; then,
   with the server stopped, ``spend.export.to_csv`` of the 90-day view's table in this process.
6. **floor** (issue 19): the app (``--size``, 90-day view) against ``benchmarks/floor_app.py``
   (two pages, each four metrics, three small Altair charts and a 50-row table from free data),
   each on a fresh server: first render, a warm-up session (cold caches; reported, not judged),
   then ``--floor-sessions`` fresh sessions of each, one of each in turn, each opening the first
   page and clicking every other page once, then the first again. Reported: each app's median
   and p90 switch, the ratio app / floor (target: median < 1.5x on the large demo), every page's
   first visit in a session, and the first renders.

*Settled* (issue 19): a MutationObserver, installed in every context before any page script,
records the time of every change in the main block, the sidebar, the running indicator and the
app's script state (a canvas's undrawn fallback content aside). A page is settled once its ``h1``
is there, the script is idle and nothing has changed for ``QUIET_S`` (0.5 s); the switch ends at
its last change (the half second is not counted). The record is read every 0.1 s: a main thread
busy drawing cannot look quiet, since the read waits for it.

The server's memory is read from ``/proc/<pid>/status`` of the streamlit process: VmRSS after each
step, the largest VmRSS a 0.2 s sampler saw, and VmHWM (the kernel's peak). Every wait has a
timeout, ``--max-minutes`` bounds the whole run (later parts are skipped, and say so), and every
process started here (streamlit's process group, chromium) is ended on the way out, Ctrl-C
included.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import math
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests import browser_support as bs

ROOT = bs.ROOT
VIEWS = ("last_30_days", "last_90_days")
CSV_VIEW = "last_90_days"
#: The switches made by the sessions part are listed under "<view>, in sessions" (not judged).
SESSIONS = "sessions"
YEAR = "year"

#: (sidebar link text, h1 the page draws) in sidebar order.
PAGES = (
    ("Overview", "Overview"),
    ("Models", "Models"),
    ("Users", "Users"),
    ("Projects & keys", "Projects & API keys"),
    ("Budgets & alerts", "Budgets & alerts"),
    ("Raw data", "Raw data"),
)
APP_SCRIPT = "streamlit_app.py"
#: The floor app (issue 19): two pages of what a page of ours draws at least, from free data.
FLOOR_SCRIPT = "benchmarks/floor_app.py"
FLOOR_PAGES = (("Floor one", "Floor one"), ("Floor two", "Floor two"))
#: The floor part's view of the real app, and the two apps' names in its figures.
FLOOR_VIEW = "last_90_days"
APPS = ("app", "floor")
NAV_LINK = '[data-testid="stSidebarNavLink"]'
EXCEPTION = '[data-testid="stException"]'
DOWNLOAD_BUTTON = '[data-testid="stDownloadButton"] button'
VIEWPORT = {"width": 1400, "height": 900}

#: Marks every drawn chart/grid on screen, so "drawn" after a click means drawn after the click.
MARK_DRAWN_JS = """() => document.querySelectorAll(
    '.vega-embed canvas, .vega-embed svg, [data-testid="stDataFrame"] canvas'
).forEach(e => { e.dataset.benchOld = '1'; })"""
#: True once the page titled ``title`` is drawn: its h1, the script idle, and every chart and data
#: grid holding a canvas/svg that was not there before the click.
PAGE_DRAWN_JS = """(title) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    const h1s = Array.from(document.querySelectorAll('h1'));
    if (!h1s.some(h => h.textContent.trim().startsWith(title))) return false;
    const fresh = (box, inner) => Array.from(box.querySelectorAll(inner))
        .some(e => !e.dataset.benchOld);
    const charts = Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'));
    const grids = Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'));
    return charts.every(b => fresh(b, '.vega-embed canvas, .vega-embed svg'))
        && grids.every(g => fresh(g, 'canvas'));
}"""

#: Installed in every browser context before any page script (``add_init_script``): a
#: MutationObserver recording when anything changed in the main block, the sidebar or the running
#: indicator (``stStatusWidget``), or the app's script state; a click (capture phase) restarts the
#: record. Changes inside a canvas's fallback content are left out: never drawn, and the data
#: grid rewrites its accessibility table there ~0.3 s after it is drawn. ``readyAt`` is when the
#: script state last became ``notRunning``. Times are the page's ``performance.now()`` (ms).
OBSERVER_JS = """(() => {
    if (window.__bench) return;
    const b = window.__bench = {click: 0, changes: [], readyAt: null, recent: []};
    const WATCH = '[data-testid="stMain"], [data-testid="stSidebar"], '
        + '[data-testid="stStatusWidget"]';
    const watched = n => n.nodeType === 1 && (n.matches(WATCH) || !!n.querySelector(WATCH));
    document.addEventListener('click', () => {
        b.click = performance.now(); b.changes = []; b.readyAt = null;
    }, true);
    new MutationObserver(records => {
        const now = performance.now();
        let seen = false;
        const note = (r, el) => {
            const box = el.closest('[data-testid]');
            b.recent.push([Math.round(now), r.type, r.attributeName || '',
                box ? box.dataset.testid : el.tagName]);
            if (b.recent.length > 12) b.recent.shift();
        };
        for (const r of records) {
            const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
            if (!el) continue;
            // a canvas's children are never drawn (the grid's accessibility table)
            if (r.type === 'childList' && el.tagName === 'CANVAS') continue;
            if (el.parentElement && el.parentElement.closest('canvas')) continue;
            if (r.type === 'attributes' && r.attributeName === 'data-test-script-state') {
                seen = true;
                note(r, el);
                if (el.dataset.testScriptState === 'notRunning') b.readyAt = now;
            } else if (el.closest(WATCH)) {
                seen = true;
                note(r, el);
            } else if (r.type === 'childList'
                    && [...r.addedNodes, ...r.removedNodes].some(watched)) {
                seen = true;
                note(r, el);
            }
        }
        if (seen) b.changes.push(now);
    }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()"""
#: The observer's record now: the page's clock, the last click, the changes since, and when the page
#: titled ``title`` became ready (its h1 there and the script idle; null while it is not): when
#: the script last finished, or the click if no run was seen since (``ran`` false: noted).
SETTLE_STATE_JS = """(title) => {
    const b = window.__bench, now = performance.now();
    if (!b) return {now, click: 0, changes: [], ready: null};
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = !!app && app.dataset.testScriptState === 'notRunning';
    const titled = Array.from(document.querySelectorAll('h1'))
        .some(h => h.textContent.trim().startsWith(title));
    const ran = b.readyAt !== null;
    const ready = idle && titled ? (ran ? b.readyAt : b.click) : null;
    return {now, click: b.click, changes: b.changes, ready, ran, idle, titled, recent: b.recent};
}"""
#: Seconds without a change after which a ready page counts as drawn (issue 19).
QUIET_S = 0.5
#: Seconds between two reads of the observer's record.
SETTLE_POLL_S = 0.1

#: Seconds: a page switch; a first visit (it builds the data: minutes for the huge demo at worst);
#: a CSV download.
SWITCH_TIMEOUT_S = 120.0
FIRST_VISIT_TIMEOUT_S = 900.0
DOWNLOAD_TIMEOUT_S = 600.0
SAMPLE_INTERVAL_S = 0.2
#: Set by Ctrl-C or SIGTERM: every loop stops and the run cleans up.
INTERRUPTED = threading.Event()
HEALTH_POLL_S = 0.05


@dataclass(frozen=True)
class Target:
    """One line of the issue's target table: the figure it judges and its limit."""

    key: str  # a figure key, e.g. "large.last_30_days.median"
    case: str
    limit: float
    unit: str  # "s" or "MB" (MiB: /proc's kB / 1024)


#: The issue's targets (issue 11, "Sizes and targets"); 1.5 GB is read as 1,536 MiB.
TARGETS = (
    Target("large.last_30_days.median", "large, any page, 30-day view: median", 0.6, "s"),
    Target("large.last_30_days.p90", "large, any page, 30-day view: p90", 1.0, "s"),
    Target("large.last_90_days.median", "large, any page, 90-day view: median", 0.6, "s"),
    Target("large.last_90_days.p90", "large, any page, 90-day view: p90", 1.0, "s"),
    Target("large.sessions.rss_mb", "large, server RSS after 20 sessions", 400.0, "MB"),
    Target("huge.last_30_days.median", "huge, any page, 30-day view: median", 1.0, "s"),
    Target("huge.last_90_days.median", "huge, any page, 90-day view: median", 1.0, "s"),
    Target("huge.year.median", "huge, whole year: median page", 2.0, "s"),
    Target("huge.sessions.rss_mb", "huge, server RSS after 10 sessions", 1536.0, "MB"),
    Target("huge.csv.to_csv_s", "huge, CSV of the 90-day view (to_csv)", 5.0, "s"),
    Target("huge.csv.download_s", "huge, CSV of the 90-day view (download)", 5.0, "s"),
    # issue 19: the first render within 2 s (settled), and the page switches against the floor
    Target("small.first_render.median", "first render, settled (issue 19)", 2.0, "s"),
    Target("small.first_render.median", "`streamlit run` to first drawn page (small)", 3.0, "s"),
    Target(
        "large.floor.ratio",
        "large, 90-day view, median page switch / the floor app's (interleaved; issue 19)",
        1.5,
        "x",
    ),
)
PARTS = ("first_render", "pages", "sessions", "year", "csv", "floor")
#: Fresh sessions of each app in the floor part (issue 19 measured 8).
FLOOR_SESSIONS = 8
#: Sessions per size, as the issue counts them.
DEFAULT_SESSIONS = {"small": 4, "large": 20, "huge": 10}


# --------------------------------------------------------------------------------------------------
# Pure helpers


def percentile(values: Sequence[float], q: float) -> float:
    """Values and a percent into the linearly interpolated percentile (numpy's default), e.g.
    ``([1, 2, 3, 4], 90) -> 3.7``; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Timings of one kind: how many, median, p90 and worst (seconds)."""

    n: int
    median: float
    p90: float
    worst: float


def summarize(seconds: Sequence[float]) -> Summary:
    """Timings into their count, median, p90 and maximum, e.g. ``[1, 2, 3] -> (3, 2, 2.8, 3)``."""
    if not seconds:
        return Summary(0, math.nan, math.nan, math.nan)
    return Summary(len(seconds), statistics.median(seconds), percentile(seconds, 90), max(seconds))


def status_kb(text: str, name: str) -> int | None:
    """A ``/proc/<pid>/status`` text and a field into its kB, e.g. ``("VmRSS:\\t 2048 kB", "VmRSS")
    -> 2048``; None when the field is absent (a zombie has no VmRSS)."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key == name:
            parts = rest.split()
            return int(parts[0]) if parts and parts[0].isdigit() else None
    return None


def descendants(parents: Mapping[int, int], root: int) -> set[int]:
    """A pid -> parent pid map into every descendant of ``root``, e.g.
    ``({2: 1, 3: 2, 4: 9}, 1) -> {2, 3}``."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def parse_env(assignments: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings into a mapping, e.g. ``["MALLOC_ARENA_MAX=2"] -> {...: "2"}``;
    ValueError on a string without a name."""
    out = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected NAME=VALUE, got {text!r}")
        out[name.strip()] = value
    return out


def year_query(start: date, end: date) -> dict[str, str]:
    """A date range into the app's custom-range query, e.g. ``(2025-01-01, 2025-12-31) ->
    {"range": "custom", "start": "2025-01-01", "end": "2025-12-31"}``."""
    return {"range": "custom", "start": start.isoformat(), "end": end.isoformat()}


def page_cycle(reps: int, pages: Sequence[tuple[str, str]] = PAGES) -> list[tuple[str, str]]:
    """Repetitions into the pages to click, starting on the first page, so each page is entered
    ``reps`` times, e.g. ``1 -> [Models, Users, ..., Raw data, Overview]``."""
    return [*pages[1:], pages[0]] * reps


def settled_at(
    changes: Sequence[float], ready: float | None, now: float, quiet: float = QUIET_S
) -> float | None:
    """The observer's record read at ``now`` (change times, when the page became ready or None
    while it is not; one clock) into the time of its last change when nothing has changed for
    ``quiet`` seconds since the page was ready; None otherwise. E.g. ``([1, 2, 2.4], 2, 3) ->
    2.4``; ``([1, 2, 2.4], 2, 2.8) -> None`` (0.4 quiet so far); ``([1], 2, 2.5) -> 2`` (ready
    is itself a change).

    Read while polling: ``now`` is when the page ran the read, so a main thread busy drawing (a
    long task, no DOM change until it ends) never looks quiet; a gap between two recorded changes
    is not trusted for that reason."""
    if ready is None:
        return None
    last = max([ready, *changes])
    return last if now - last >= quiet else None


def interleave(sessions: int, apps: Sequence[str]) -> list[tuple[str, int]]:
    """A number of sessions per app into the order to run them, one of each app in turn, e.g.
    ``(2, ["app", "floor"]) -> [("app", 0), ("floor", 0), ("app", 1), ("floor", 1)]``."""
    return [(app, n) for n in range(sessions) for app in apps]


def ratio(numerator: float | None, denominator: float | None) -> float:
    """Two timings into their ratio, e.g. ``(0.6, 0.4) -> 1.5``; NaN when either is missing or the
    denominator is not positive."""
    if numerator is None or denominator is None:
        return math.nan
    if math.isnan(numerator) or math.isnan(denominator) or denominator <= 0:
        return math.nan
    return numerator / denominator


def app_args(port: int, script: str = APP_SCRIPT) -> list[str]:
    """A port and a script into its ``streamlit run`` command (``bs.streamlit_args`` with another
    script), e.g. ``(8501, "benchmarks/floor_app.py") -> [..., "run", "benchmarks/floor_app.py",
    "--server.port", "8501", ...]``."""
    args = bs.streamlit_args(port)
    args[args.index(APP_SCRIPT)] = script
    return args


def verdict(value: float | None, limit: float, error: str | None = None) -> str:
    """A figure against its limit into PASS, FAIL or SKIP, e.g. ``(0.5, 0.6) -> "PASS"``; an error
    is a FAIL, a figure not measured (None or NaN) a SKIP."""
    if error:
        return "FAIL"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "SKIP"
    return "PASS" if value < limit else "FAIL"


def show(value: float | None, unit: str) -> str:
    """A figure and its unit into text, e.g. ``(0.4321, "s") -> "0.43 s"``, ``(351.6, "MB") ->
    "352 MB"``; a dash when not measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}".strip()


def target_rows(
    targets: Sequence[Target],
    figures: Mapping[str, float],
    errors: Mapping[str, str],
    sizes: Iterable[str],
) -> list[list[str]]:
    """Targets whose size was measured into rows of (case, target, measured, verdict), e.g. a large
    median of 0.4 s -> ``["large, any page, ...", "< 0.60 s", "0.40 s", "PASS"]``."""
    wanted = set(sizes)
    rows = []
    for target in targets:
        if target.key.split(".")[0] not in wanted:
            continue
        measured = show(figures.get(target.key), target.unit)
        if errors.get(target.key):
            measured = f"{measured} ({errors[target.key]})"
        rows.append(
            [
                target.case,
                f"< {show(target.limit, target.unit)}",
                measured,
                verdict(figures.get(target.key), target.limit, errors.get(target.key)),
            ]
        )
    return rows


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Headers and rows into a GitHub table, e.g. ``(["a"], [[1]]) -> "| a |\\n|---|\\n| 1 |"``;
    pipes in cells are escaped."""

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Headers and rows into aligned plain text, e.g. ``(["a", "b"], [["x", "1"]]) -> "a  b\\n-
    -\\nx  1"``."""
    texts = [[str(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in texts)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, texts)])


# --------------------------------------------------------------------------------------------------
# Processes and memory


def read_status(pid: int) -> str:
    """A pid into its ``/proc/<pid>/status`` text, empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""


def rss_mb(pid: int, name: str = "VmRSS") -> float:
    """A pid into its resident memory in MiB (VmRSS; ``name="VmHWM"`` for the peak); NaN if gone."""
    kb = status_kb(read_status(pid), name)
    return math.nan if kb is None else kb / 1024


def process_parents() -> dict[int, int]:
    """Every process on the machine into its parent pid (from /proc/<pid>/stat)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def end_processes(pids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM the given pids (ours), then SIGKILL those still there after ``grace`` s."""
    alive = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
            alive.append(pid)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and read_status(pid)]
        alive = [pid for pid in alive if "State:\tZ" not in read_status(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class RssSampler:
    """A thread reading a process's VmRSS every ``interval`` s and keeping the largest seen; past
    ``limit_mb`` it calls ``on_limit`` once (the run stops a server that would starve the machine).
    """

    def __init__(
        self,
        pid: int,
        interval: float = SAMPLE_INTERVAL_S,
        limit_mb: float | None = None,
        on_limit: Callable[[float], None] | None = None,
    ) -> None:
        self.pid = pid
        self.interval = interval
        self.limit_mb = limit_mb
        self.on_limit = on_limit
        self.max_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> float:
        """Read VmRSS now (MiB), remembering the largest."""
        now = rss_mb(self.pid)
        if not math.isnan(now):
            self.max_mb = max(self.max_mb, now)
            if self.limit_mb and now > self.limit_mb and self.on_limit is not None:
                on_limit, self.on_limit = self.on_limit, None
                on_limit(now)
        return now

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def wait_healthy(url: str, proc: Any, log: Path, timeout: float = bs.START_TIMEOUT) -> None:
    """Poll ``/_stcore/health`` every 50 ms until "ok"; raise with the log's tail otherwise."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{bs.tail(log)}")
        try:
            answer = requests.get(bs.page_url(url, "/_stcore/health"), timeout=2)
            if answer.status_code == 200 and answer.text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        time.sleep(HEALTH_POLL_S)
    raise TimeoutError(f"streamlit did not answer within {timeout:.0f} s:\n{bs.tail(log)}")


# --------------------------------------------------------------------------------------------------
# The run


@dataclass
class Config:
    """What to run: the demo size, the parts, and how many of each."""

    size: str = "large"
    parts: tuple[str, ...] = PARTS
    reps: int = 5
    sessions: int = 20
    first_render_runs: int = 3
    csv_runs: int = 3
    floor_sessions: int = FLOOR_SESSIONS
    #: the app's "Bars per" in the floor part (``?bars=day``); None: what the 90 days suggest
    floor_bars: str | None = None
    max_minutes: float = 60.0
    max_server_mb: float = 12_000.0  # the server is killed past this RSS (a shared machine)
    env: dict[str, str] = field(default_factory=dict)  # more environment for every server
    workdir: Path | None = None  # logs and caches; a temporary folder by default
    quick: bool = False


def default_config(size: str, quick: bool) -> Config:
    """A size and the quick flag into the run's settings, e.g. huge -> 10 sessions, every part."""
    parts = PARTS if size == "huge" else tuple(p for p in PARTS if p != YEAR)
    if quick:
        return Config(size, parts, reps=1, sessions=2, first_render_runs=1, csv_runs=1,
                      floor_sessions=2, max_minutes=8.0, quick=True)  # fmt: skip
    return Config(size, parts, sessions=DEFAULT_SESSIONS.get(size, 10))


@dataclass
class Switch:
    """One timed page switch."""

    view: str
    page: str
    seconds: float  # click to the page settled: its last change before 0.5 s of quiet
    errors: int  # exception boxes on the drawn page
    drawn: float = math.nan  # click to the first drawn (h1, idle, every chart): the old criterion
    first: bool = False  # the page's first visit in its session


@dataclass
class Report:
    """Everything one run measured."""

    config: Config
    figures: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # figure key -> why it has no value
    switches: list[Switch] = field(default_factory=list)
    first_visits: dict[str, float] = field(default_factory=dict)  # view -> seconds
    first_renders: list[float] = field(default_factory=list)
    first_healthy: list[float] = field(default_factory=list)  # spawn to /_stcore/health "ok"
    first_drawn: list[float] = field(default_factory=list)  # spawn to first drawn (old criterion)
    memory: list[tuple[str, float, float, float]] = field(default_factory=list)  # step, MiB x3
    session_rss: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    csv: dict[str, float] = field(default_factory=dict)
    floor: list[Switch] = field(default_factory=list)  # view: "app", "floor", "<app>, warm-up"
    floor_opens: dict[str, list[float]] = field(default_factory=dict)  # app -> goto to settled
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wall_s: float = 0.0

    def fail(self, key: str, exc: BaseException) -> None:
        """Record why a figure is missing (one line)."""
        text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        self.errors[key] = text[:160]
        self.notes.append(f"{key}: {text[:400]}")


class Bench:
    """One run: the browser, the servers, the clock; ``close()`` ends every process started."""

    def __init__(self, config: Config, report: Report, workdir: Path) -> None:
        self.config = config
        self.report = report
        self.workdir = workdir
        self.deadline = time.monotonic() + config.max_minutes * 60
        self._stack = contextlib.ExitStack()
        self._before = descendants(process_parents(), os.getpid())
        self._servers: list[Any] = []
        self.browser: Any = None
        #: page title -> settles with no script-state change seen after the click (noted at the end)
        self.no_run_seen: dict[str, int] = {}

    # -- lifetime ---------------------------------------------------------------------------------

    def open(self) -> None:
        from playwright.sync_api import sync_playwright

        pw = self._stack.enter_context(sync_playwright())
        self.browser = pw.chromium.launch(executable_path=bs.CHROMIUM, args=list(bs.CHROMIUM_ARGS))
        self._stack.callback(self._quietly(self.browser.close))

    def close(self) -> None:
        """Stop every server, close chromium, then end any process this run left behind."""
        for proc in self._servers:
            with contextlib.suppress(Exception):
                bs.stop(proc)
        with contextlib.suppress(Exception):
            self._stack.close()
        left = descendants(process_parents(), os.getpid()) - self._before
        if left:
            end_processes(left)

    @staticmethod
    def _quietly(fn: Callable[[], Any]) -> Callable[[], None]:
        def call() -> None:
            with contextlib.suppress(Exception):
                fn()

        return call

    def time_left(self, what: str) -> bool:
        """Whether ``--max-minutes`` leaves time for a step (and no Ctrl-C came); notes a skip."""
        if INTERRUPTED.is_set():
            return False
        if time.monotonic() < self.deadline:
            return True
        self.report.notes.append(f"skipped {what}: --max-minutes reached")
        return False

    def stopped(self) -> bool:
        """Whether a loop of measurements should stop now (time is up, or Ctrl-C)."""
        return INTERRUPTED.is_set() or time.monotonic() > self.deadline

    # -- servers ----------------------------------------------------------------------------------

    def spawn_server(
        self, size: str, name: str, script: str = APP_SCRIPT
    ) -> tuple[Any, str, float]:
        """A demo size (and the script to run: the app by default) into a started ``streamlit
        run`` (maybe not healthy yet), its URL and spawn time."""
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        env = bs.clean_env(
            os.environ,
            SPEND_CACHE_DIR=str(folder / "cache"),
            SPEND_DEMO_SIZE=size,
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's server writes (and reuses) bytecode
        env.update(self.config.env)
        port = bs.free_port()
        t0 = time.perf_counter()
        proc = bs.spawn(app_args(port, script), env, folder / "streamlit.log")
        self._servers.append(proc)
        return proc, f"http://127.0.0.1:{port}", t0

    def stop_server(self, proc: Any) -> None:
        bs.stop(proc)
        if proc in self._servers:
            self._servers.remove(proc)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        """A fresh browser context (a Streamlit session of its own) and its tab, closed after."""
        context = self.browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        try:
            context.add_init_script(script=OBSERVER_JS)
            context.set_default_timeout(SWITCH_TIMEOUT_S * 1000)
            yield context.new_page()
        finally:
            with contextlib.suppress(Exception):
                context.close()

    # -- pages ------------------------------------------------------------------------------------

    def wait_drawn(self, tab: Any, title: str, timeout_s: float) -> int:
        """Wait until ``title``'s page is drawn; the number of exception boxes on it."""
        tab.wait_for_function(PAGE_DRAWN_JS, arg=title, polling="raf", timeout=timeout_s * 1000)
        return tab.locator(EXCEPTION).count()

    def wait_settled(self, tab: Any, title: str, timeout_s: float) -> tuple[float, float, float]:
        """Wait until ``title``'s page is settled (``settled_at`` on the observer's record):
        seconds from the last click (or the document's start) to its last change, and that change
        and the click on this process's ``perf_counter`` clock."""
        deadline = time.monotonic() + timeout_s
        while True:
            before = time.perf_counter()
            state = tab.evaluate(SETTLE_STATE_JS, title)
            here = (before + time.perf_counter()) / 2
            end = settled_at(
                [c / 1000 for c in state["changes"]],
                None if state["ready"] is None else state["ready"] / 1000,
                state["now"] / 1000,
            )
            if end is not None:
                if not state.get("ran", True):
                    self.no_run_seen[title] = self.no_run_seen.get(title, 0) + 1
                to_here = here - state["now"] / 1000  # the page's clock into ours
                click = state["click"] / 1000
                return end - click, end + to_here, click + to_here
            if time.monotonic() > deadline:
                recent = "; ".join(" ".join(map(str, r)) for r in state.get("recent", []))
                raise TimeoutError(
                    f"{title!r} did not settle within {timeout_s:.0f} s (now {state['now']:.0f} "
                    f"ms, idle {state.get('idle')}, h1 {state.get('titled')}, "
                    f"{len(state['changes'])} changes since the click; last: {recent})"
                )
            time.sleep(SETTLE_POLL_S)

    def open_view(
        self,
        tab: Any,
        url: str,
        query: Mapping[str, str],
        timeout_s: float,
        title: str = PAGES[0][1],
        path: str = "/",
    ) -> float:
        """Go to the Overview of a view (or ``path``, titled ``title``) and wait until settled;
        seconds from the start of ``goto`` to its last change."""
        t0 = time.perf_counter()
        tab.goto(bs.page_url(url, path, query), timeout=timeout_s * 1000)
        errors = self.wait_drawn(tab, title, timeout_s)
        if errors:
            self.report.notes.append(f"{errors} exception box(es) on the first {title}")
        _, end, _ = self.wait_settled(tab, title, timeout_s)
        return end - t0

    def switch(self, tab: Any, label: str, title: str) -> tuple[float, int, float]:
        """Click a sidebar link; seconds from the click (the page's click event) to the page
        settled, its exception boxes, and seconds from the click to the page first drawn (the old
        criterion, seen by Playwright)."""
        tab.evaluate(MARK_DRAWN_JS)
        tab.locator(NAV_LINK, has_text=label).first.click()
        errors = self.wait_drawn(tab, title, SWITCH_TIMEOUT_S)
        drawn_at = time.perf_counter()
        settled, _, click = self.wait_settled(tab, title, SWITCH_TIMEOUT_S)
        return settled, errors, drawn_at - click


def _load() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (math.nan, math.nan, math.nan)


def measure_first_render(bench: Bench, keep_last: bool = False) -> tuple[Any, str, float] | None:
    """Fresh small-demo servers: spawn to the Overview drawn, median of runs. With ``keep_last``
    the last run's server stays up and is returned (proc, URL, spawn time): the small run's own."""
    report, runs = bench.report, bench.config.first_render_runs
    kept = None
    for run in range(runs):
        if not bench.time_left("first render"):
            break
        keep = keep_last and run == runs - 1
        proc = None
        try:
            with bench.session() as tab:
                proc, url, t0 = bench.spawn_server("small", f"first-render-{run}")
                wait_healthy(url, proc, bench.workdir / f"first-render-{run}" / "streamlit.log")
                report.first_healthy.append(time.perf_counter() - t0)
                tab.goto(bs.page_url(url, "/", {"range": VIEWS[0]}))
                bench.wait_drawn(tab, PAGES[0][1], FIRST_VISIT_TIMEOUT_S)
                report.first_drawn.append(time.perf_counter() - t0)
                _, end, _ = bench.wait_settled(tab, PAGES[0][1], FIRST_VISIT_TIMEOUT_S)
                report.first_renders.append(end - t0)
                if keep:
                    kept = proc, url, t0
        except Exception as exc:  # noqa: BLE001 - a broken run is reported, not fatal
            report.fail("small.first_render.median", exc)
        finally:
            if proc is not None and kept is None:
                bench.stop_server(proc)
    if report.first_renders:
        report.figures["small.first_render.median"] = statistics.median(report.first_renders)
    return kept


def _remember(report: Report, step: str, pid: int, sampler: RssSampler) -> None:
    now = sampler.sample()
    report.memory.append((step, now, sampler.max_mb, rss_mb(pid, "VmHWM")))


def _summarize_switches(report: Report, size: str, view: str) -> None:
    """A view's switches into its median and p90 figures (errors on a page make them fail)."""
    mine = [s for s in report.switches if s.view == view]
    if not mine:
        return
    summary = summarize([s.seconds for s in mine])
    report.figures[f"{size}.{view}.median"] = summary.median
    report.figures[f"{size}.{view}.p90"] = summary.p90
    broken = sorted({s.page for s in mine if s.errors})
    if broken:
        for stat in ("median", "p90"):
            report.errors[f"{size}.{view}.{stat}"] = "exception on " + ", ".join(broken)


def measure_views(
    bench: Bench, url: str, pid: int, sampler: RssSampler, views: Mapping[str, dict[str, str]]
) -> None:
    """Per view: one session, the first visit, then ``reps`` cycles of timed page switches."""
    size, report = bench.config.size, bench.report
    for view, query in views.items():
        if not bench.time_left(f"the {view} pages"):
            break
        try:
            with bench.session() as tab:
                report.first_visits[view] = bench.open_view(tab, url, query, FIRST_VISIT_TIMEOUT_S)
                _remember(report, f"{view}: first visit", pid, sampler)
                for label, title in page_cycle(bench.config.reps):
                    if bench.stopped():
                        report.notes.append(f"{view}: stopped early (--max-minutes or Ctrl-C)")
                        break
                    seconds, errors, drawn = bench.switch(tab, label, title)
                    report.switches.append(Switch(view, label, seconds, errors, drawn))
                rounds = bench.config.reps
                _remember(report, f"{view}: page switches, {rounds} round(s)", pid, sampler)
        except Exception as exc:  # noqa: BLE001
            report.fail(f"{size}.{view}.median", exc)
        _summarize_switches(report, size, view)


def measure_sessions(bench: Bench, url: str, pid: int, sampler: RssSampler) -> None:
    """Open ``sessions`` contexts one after another (views alternating), each visiting every page,
    all kept open; the server's RSS after each."""
    size, report = bench.config.size, bench.report
    key = f"{size}.sessions.rss_mb"
    opened = 0
    try:
        with contextlib.ExitStack() as open_sessions:
            for n in range(bench.config.sessions):
                if not bench.time_left(f"session {n + 1}"):
                    break
                tab = open_sessions.enter_context(bench.session())
                opened += 1
                view = VIEWS[n % len(VIEWS)]
                bench.open_view(tab, url, {"range": view}, FIRST_VISIT_TIMEOUT_S)
                for label, title in page_cycle(1):
                    seconds, errors, drawn = bench.switch(tab, label, title)
                    report.switches.append(
                        Switch(f"{view}, in {SESSIONS}", label, seconds, errors, drawn)
                    )
                report.session_rss.append(sampler.sample())
            time.sleep(1.0)  # let the last reruns' garbage go
            report.figures[key] = sampler.sample()
            report.figures[f"{size}.sessions.count"] = float(opened)
            _remember(report, f"{opened} sessions open, each visited every page", pid, sampler)
    except Exception as exc:  # noqa: BLE001
        report.fail(key, exc)
    if opened:
        time.sleep(2.0)
        _remember(report, "those sessions closed (+2 s)", pid, sampler)


def measure_download(bench: Bench, url: str, pid: int, sampler: RssSampler) -> None:
    """The Raw data page of the 90-day view: click "Download CSV" to the file complete."""
    size, report = bench.config.size, bench.report
    key = f"{size}.csv.download_s"
    try:
        with bench.session() as tab:
            tab.goto(bs.page_url(url, "/raw-data", {"range": CSV_VIEW}))
            bench.wait_drawn(tab, "Raw data", FIRST_VISIT_TIMEOUT_S)
            button = tab.locator(DOWNLOAD_BUTTON, has_text="Download CSV").first
            t0 = time.perf_counter()
            with tab.expect_download(timeout=DOWNLOAD_TIMEOUT_S * 1000) as info:
                button.click()
            path = info.value.path()
            report.figures[key] = time.perf_counter() - t0
            report.csv["download_mb"] = Path(path).stat().st_size / 2**20
            _remember(report, "CSV downloaded (90-day view)", pid, sampler)
    except Exception as exc:  # noqa: BLE001
        report.fail(key, exc)


def measure_to_csv(bench: Bench, today: date) -> None:
    """``spend.export.to_csv`` of the 90-day view's table (built as the demo source builds it),
    median of ``csv_runs``; in this process, with no server running."""
    from spend import export
    from spend.config import Settings
    from spend.dates import preset_range
    from spend.sources import make_source

    size, report = bench.config.size, bench.report
    key = f"{size}.csv.to_csv_s"
    try:
        source = make_source(Settings(source="demo", demo_size=size))
        start, end = preset_range(CSV_VIEW, today)
        t0 = time.perf_counter()
        frame = source.assemble(source.plan(start, end)).frame
        report.csv["build_s"] = time.perf_counter() - t0
        report.csv["rows"] = float(len(frame))
        runs = []
        for _ in range(max(1, bench.config.csv_runs)):
            t0 = time.perf_counter()
            size_bytes = _drain(export.to_csv(frame))
            runs.append(time.perf_counter() - t0)
        report.csv["to_csv_mb"] = size_bytes / 2**20
        report.figures[key] = statistics.median(runs)
    except Exception as exc:  # noqa: BLE001
        report.fail(key, exc)


def _drain(out: Any) -> int:
    """What ``to_csv`` returned (text, bytes, a buffer or an iterator of parts) into its size."""
    if isinstance(out, str):
        return len(out.encode())
    if isinstance(out, (bytes, bytearray, memoryview)):
        return len(out)
    if hasattr(out, "getvalue"):
        return _drain(out.getvalue())
    return sum(_drain(part) for part in out)


def _bars(bars: str | None) -> dict[str, str]:
    """The floor part's ``--floor-bars`` into the app's query, e.g. ``"day" -> {"bars": "day"}``."""
    return {"bars": bars} if bars else {}


def measure_floor(bench: Bench) -> None:
    """Issue 19: the real app (``--size``, 90-day view) against the floor app, interleaved.

    Each app gets a fresh server: its first render (spawn to the first page settled; the real
    app's includes building the view's data) and a warm-up session clicking every page once (cold
    caches: reported, not judged). Then ``floor_sessions`` fresh sessions of each, one of each in
    turn, each opening the first page and clicking every other page once, then the first again.
    """
    size, report = bench.config.size, bench.report
    specs = {
        "app": (APP_SCRIPT, PAGES, {"range": FLOOR_VIEW, **_bars(bench.config.floor_bars)}),
        "floor": (FLOOR_SCRIPT, FLOOR_PAGES, {}),
    }
    urls: dict[str, str] = {}
    procs = []
    if bench.config.floor_bars:
        report.notes.append(f"floor: the app's charts over time per {bench.config.floor_bars}")
    try:
        for app in ("floor", "app"):  # one at a time: each first render alone on the machine
            script, pages, query = specs[app]
            proc, url, t0 = bench.spawn_server(size, f"floor-{app}", script)
            procs.append(proc)
            wait_healthy(url, proc, bench.workdir / f"floor-{app}" / "streamlit.log")
            urls[app] = url
            with bench.session() as tab:
                tab.goto(bs.page_url(url, "/", query), timeout=FIRST_VISIT_TIMEOUT_S * 1000)
                bench.wait_drawn(tab, pages[0][1], FIRST_VISIT_TIMEOUT_S)
                _, end, _ = bench.wait_settled(tab, pages[0][1], FIRST_VISIT_TIMEOUT_S)
                report.figures[f"{size}.floor.{app}.first_render"] = end - t0
                _floor_session(bench, tab, f"{app}, warm-up", pages)
        failures = []
        for app, n in interleave(bench.config.floor_sessions, APPS):
            if bench.stopped():
                report.notes.append("floor: stopped early (--max-minutes or Ctrl-C)")
                break
            _, pages, query = specs[app]
            try:
                with bench.session() as tab:
                    opened = bench.open_view(
                        tab, urls[app], query, FIRST_VISIT_TIMEOUT_S, title=pages[0][1]
                    )
                    report.floor_opens.setdefault(app, []).append(opened)
                    _floor_session(bench, tab, app, pages)
            except Exception as exc:  # noqa: BLE001 - one broken session: noted, the rest run
                failures.append(f"{app} session {n + 1}")
                report.notes.append(f"floor: {app} session {n + 1}: {exc}"[:600])
        if failures:
            report.errors[f"{size}.floor.ratio"] = "failed: " + ", ".join(failures)
    except Exception as exc:  # noqa: BLE001
        report.fail(f"{size}.floor.ratio", exc)
    finally:
        for proc in procs:
            bench.stop_server(proc)
    report.figures.update(floor_figures(report.floor, size))
    broken = sorted({f"{s.view}: {s.page}" for s in report.floor if s.errors})
    if broken:
        report.errors.setdefault(f"{size}.floor.ratio", "exception on " + ", ".join(broken))


def _floor_session(bench: Bench, tab: Any, view: str, pages: Sequence[tuple[str, str]]) -> None:
    """From the first page, click every other page once, then the first again."""
    for label, title in page_cycle(1, pages):
        seconds, errors, drawn = bench.switch(tab, label, title)
        first = label != pages[0][0]
        bench.report.floor.append(Switch(view, label, seconds, errors, drawn, first))


def bytecode_missing(package: str = "pandas") -> str | None:
    """Why a fresh server would compile its imports from source, or None when ``package`` (one
    of the big ones) was installed with its bytecode."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return f"{package} is not installed"
    tag = sys.implementation.cache_tag
    cached = Path(spec.origin).parent / "__pycache__" / f"__init__.{tag}.pyc"
    if cached.exists():
        return None
    return (
        f"the installed packages have no bytecode ({cached} is missing): every fresh server "
        "compiles pandas, Altair and Streamlit from source, so the first render is ~2 s slower "
        "than a user's (pip compiles at install; with uv pass --compile-bytecode)"
    )


def run(config: Config) -> Report:
    """Run the configured parts; every process started is ended before this returns."""
    report = Report(config=config, load_before=_load())
    if "first_render" in config.parts:
        if missing := bytecode_missing():
            report.notes.append(missing)
        compileall.compile_dir(ROOT / "spend", quiet=1)  # as the first start of the app does
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        workdir = config.workdir
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spend-bb-")))
        bench = Bench(config, report, workdir)
        stack.callback(bench.close)
        bench.open()
        server_parts = {"pages", "sessions", "year", "csv"} & set(config.parts)
        running = None
        if "first_render" in config.parts:
            # on the small demo the last fresh server goes on to serve the other parts
            running = measure_first_render(
                bench, keep_last=config.size == "small" and bool(server_parts)
            )
        if server_parts and bench.time_left(f"the {config.size} server"):
            _serve(bench, server_parts, running)
        elif running:
            bench.stop_server(running[0])
        if "floor" in config.parts and bench.time_left("the floor comparison"):
            measure_floor(bench)
        if "csv" in config.parts and bench.time_left("to_csv"):
            measure_to_csv(bench, datetime.now(UTC).date())
        if bench.no_run_seen:
            counts = ", ".join(f"{title} {n}x" for title, n in bench.no_run_seen.items())
            report.notes.append(
                "ready from the click, no change of the script state seen after it (a run the "
                f"page drew in one go): {counts}"
            )
    report.load_after = _load()
    report.wall_s = time.perf_counter() - t_start
    return report


def _serve(bench: Bench, parts: set[str], running: tuple[Any, str, float] | None = None) -> None:
    """Start the ``--size`` server (or take a running one) and run the parts that need it."""
    from spend.demo_org import DemoOrg

    config, report = bench.config, bench.report
    if running is None:
        proc, url, t0 = bench.spawn_server(config.size, f"server-{config.size}")
        try:
            wait_healthy(url, proc, bench.workdir / f"server-{config.size}" / "streamlit.log")
        except Exception as exc:  # noqa: BLE001
            report.fail(f"{config.size}.server", exc)
            bench.stop_server(proc)
            return
        first = "server healthy, no session yet"
    else:
        proc, url, t0 = running
        first = "the first-render run's server, after its first page"

    def too_big(mb: float) -> None:
        report.notes.append(f"server killed at {mb:,.0f} MB RSS (--max-server-mb)")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    sampler = RssSampler(proc.pid, limit_mb=config.max_server_mb, on_limit=too_big).start()
    try:
        _remember(report, first, proc.pid, sampler)
        if "pages" in parts:
            measure_views(bench, url, proc.pid, sampler, {v: {"range": v} for v in VIEWS})
        if "sessions" in parts:
            measure_sessions(bench, url, proc.pid, sampler)
        if YEAR in parts and bench.time_left("the whole year"):
            org = DemoOrg(config.size, today=datetime.now(UTC).date())
            measure_views(bench, url, proc.pid, sampler, {YEAR: year_query(org.start, org.end)})
        if "csv" in parts and bench.time_left("the CSV download"):
            measure_download(bench, url, proc.pid, sampler)
        _remember(report, "end of the run", proc.pid, sampler)
        report.figures[f"{config.size}.server.max_rss_mb"] = sampler.max_mb
        report.figures[f"{config.size}.server.vmhwm_mb"] = rss_mb(proc.pid, "VmHWM")
    finally:
        sampler.stop()
        bench.stop_server(proc)
        report.notes.append(f"server up {time.perf_counter() - t0:.0f} s")


# --------------------------------------------------------------------------------------------------
# Reporting


def switch_rows(report: Report) -> list[list[str]]:
    """Page switches into one row per (view, page): count, median, p90, worst; then each view."""
    rows = []
    views = list(dict.fromkeys(s.view for s in report.switches))
    for view in views:
        mine = [s for s in report.switches if s.view == view]
        for label, _ in PAGES:
            page = [s for s in mine if s.page == label]
            if page:
                errors = sum(s.errors for s in page)
                rows.append(_summary_row(view, label, page, errors))
        rows.append(_summary_row(view, "every page", mine, 0, bold=True))
    return rows


def _summary_row(
    view: str, page: str, switches: Sequence[Switch], errors: int, bold: bool = False
) -> list[str]:
    mark = "**" if bold else ""
    s = summarize([x.seconds for x in switches])
    drawn = summarize([x.drawn for x in switches if not math.isnan(x.drawn)])
    return [
        view,
        f"{mark}{page}{mark}",
        str(s.n),
        show(s.median, "s"),
        show(s.p90, "s"),
        show(s.worst, "s"),
        show(drawn.median, "s"),
        str(errors),
    ]


def floor_figures(switches: Sequence[Switch], size: str) -> dict[str, float]:
    """The floor part's switches (views "app" and "floor"; warm-ups are left out) into each app's
    median and p90 (settled, and the median first drawn) and the ratios app / floor, e.g. app
    medians 0.6 and floor 0.4 -> ``{"large.floor.ratio": 1.5, ...}``; NaN where one is missing."""
    out: dict[str, float] = {}
    for app in APPS:
        mine = [s for s in switches if s.view == app]
        settled = summarize([s.seconds for s in mine])
        out[f"{size}.floor.{app}.median"] = settled.median
        out[f"{size}.floor.{app}.p90"] = settled.p90
        out[f"{size}.floor.{app}.first_visit_median"] = summarize(
            [s.seconds for s in mine if s.first]
        ).median
        out[f"{size}.floor.{app}.drawn_median"] = summarize([s.drawn for s in mine]).median
    for stat, suffix in (("median", ""), ("p90", "_p90"), ("drawn_median", "_drawn")):
        out[f"{size}.floor.ratio{suffix}"] = ratio(
            out[f"{size}.floor.app.{stat}"], out[f"{size}.floor.floor.{stat}"]
        )
    return out


FLOOR_RATIO_HEADERS = ["page switches (interleaved sessions)", "app", "floor", "app / floor"]


def floor_ratio_rows(figures: Mapping[str, float], size: str) -> list[list[str]]:
    """The floor figures into rows of (statistic, app, floor, ratio), e.g. ``["median, settled",
    "0.60 s", "0.40 s", "1.50x"]``; empty when the part did not run."""
    key = f"{size}.floor"
    if f"{key}.ratio" not in figures:
        return []
    rows = []
    for label, stat, suffix in (
        ("median, settled (judged)", "median", ""),
        ("p90, settled", "p90", "_p90"),
        ("median, first drawn (the old criterion)", "drawn_median", "_drawn"),
    ):
        rows.append(
            [
                label,
                show(figures.get(f"{key}.app.{stat}"), "s"),
                show(figures.get(f"{key}.floor.{stat}"), "s"),
                show(figures.get(f"{key}.ratio{suffix}"), "x"),
            ]
        )
    rows.append(
        [
            "median of first visits of a page in a session",
            show(figures.get(f"{key}.app.first_visit_median"), "s"),
            show(figures.get(f"{key}.floor.first_visit_median"), "s"),
            show(
                ratio(
                    figures.get(f"{key}.app.first_visit_median"),
                    figures.get(f"{key}.floor.first_visit_median"),
                ),
                "x",
            ),
        ]
    )
    rows.append(
        [
            "first render: spawn to the first page settled",
            show(figures.get(f"{key}.app.first_render"), "s"),
            show(figures.get(f"{key}.floor.first_render"), "s"),
            "",
        ]
    )
    return rows


FLOOR_PAGE_HEADERS = ["session", "page", "visit", "n", "median", "p90", "worst", "first drawn"]


def floor_page_rows(report: Report) -> list[list[str]]:
    """The floor part's switches into one row per (session kind, page, first visit or back),
    in the order run, then each session kind's opening (goto to the first page settled)."""
    rows = []
    for view in dict.fromkeys(s.view for s in report.floor):
        mine = [s for s in report.floor if s.view == view]
        for page in dict.fromkeys(s.page for s in mine):
            for first in (True, False):
                runs = [s for s in mine if s.page == page and s.first is first]
                if not runs:
                    continue
                settled = summarize([s.seconds for s in runs])
                rows.append(
                    [
                        view,
                        page,
                        "first" if first else "back",
                        str(settled.n),
                        show(settled.median, "s"),
                        show(settled.p90, "s"),
                        show(settled.worst, "s"),
                        show(summarize([s.drawn for s in runs]).median, "s"),
                    ]
                )
        opens = summarize(report.floor_opens.get(view, []))
        if opens.n:
            rows.append(
                [
                    view,
                    "opening the session (goto)",
                    "first",
                    str(opens.n),
                    show(opens.median, "s"),
                    show(opens.p90, "s"),
                    show(opens.worst, "s"),
                    "",
                ]
            )
    return rows


SWITCH_HEADERS = [
    "view",
    "page",
    "switches",
    "median",
    "p90",
    "worst",
    "median, first drawn",
    "exceptions",
]
TARGET_HEADERS = ["case", "target", "measured", "verdict"]
MEMORY_HEADERS = ["after", "RSS", "max RSS seen", "VmHWM"]


def memory_rows(report: Report) -> list[list[str]]:
    return [[step, show(a, "MB"), show(b, "MB"), show(c, "MB")] for step, a, b, c in report.memory]


def other_rows(report: Report) -> list[list[str]]:
    """First visits, first renders, CSV sizes and the sessions' RSS curve, as (figure, value)."""
    size, rows = report.config.size, []
    if report.first_renders:
        runs = ", ".join(show(s, "s") for s in report.first_renders)
        rows.append(["`streamlit run` to the first page settled, small demo, each run", runs])
        healthy = ", ".join(show(s, "s") for s in report.first_healthy)
        rows.append(["... of which spawn to `/_stcore/health` answering", healthy])
        if report.first_drawn:
            drawn = ", ".join(show(s, "s") for s in report.first_drawn)
            rows.append(["... spawn to first drawn (the old criterion)", drawn])
    for view, seconds in report.first_visits.items():
        rows.append(
            [f"{size}: first visit of the {view} view (builds its data)", show(seconds, "s")]
        )
    if report.session_rss:
        curve = ", ".join(f"{v:.0f}" for v in report.session_rss)
        rows.append([f"{size}: server RSS (MB) after each session", curve])
    if "rows" in report.csv:
        rows.append(
            [
                f"{size}: 90-day view's table for to_csv",
                f"{report.csv['rows']:,.0f} rows, built in {report.csv['build_s']:.1f} s",
            ]
        )
    for name, label in (("to_csv_mb", "to_csv output"), ("download_mb", "downloaded CSV")):
        if name in report.csv:
            rows.append([f"{size}: {label}", f"{report.csv[name]:.1f} MB"])
    for key in (f"{size}.csv.to_csv_s", f"{size}.csv.download_s"):
        if key in report.figures and size != "huge":
            rows.append(
                [
                    f"{size}: {key.split('.')[-1]} (judged on huge only)",
                    show(report.figures[key], "s"),
                ]
            )
    return rows


def _sizes(report: Report) -> list[str]:
    sizes = [report.config.size]
    if "first_render" in report.config.parts:
        sizes.append("small")
    return sizes


def machine_line(report: Report) -> str:
    """The machine and its load, for the report's header."""
    before = ", ".join(f"{v:.2f}" for v in report.load_before)
    after = ", ".join(f"{v:.2f}" for v in report.load_after)
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}; load average {before} before, {after} after; "
        f"run took {report.wall_s / 60:.1f} min"
    )


def settings_line(report: Report) -> str:
    c = report.config
    extra = " ".join(f"{k}={v}" for k, v in c.env.items())
    return (
        f"demo {c.size}; parts {', '.join(c.parts)}; {c.reps} round(s) of page switches per view; "
        f"{c.sessions} sessions; {c.first_render_runs} first-render runs"
        + (f"; {c.floor_sessions} floor sessions of each app" if "floor" in c.parts else "")
        + (f"; env {extra}" if extra else "")
        + ("; QUICK (smoke settings, not the issue's)" if c.quick else "")
    )


def report_tables(report: Report) -> list[tuple[str, str | None, Sequence[str], list]]:
    """A report into its tables after the targets: (plain-text heading, markdown caption or None,
    headers, rows), e.g. page switches, server memory, other figures; each only when it has rows."""
    tables: list[tuple[str, str | None, Sequence[str], list]] = []
    if report.switches:
        tables.append(
            (
                "Page switches, click to settled",
                "Page switches, click to settled (the last change before 0.5 s of quiet):",
                SWITCH_HEADERS,
                switch_rows(report),
            )
        )
    if report.memory:
        tables.append(
            (
                "Server memory (streamlit process)",
                "Server memory (the streamlit process, MiB):",
                MEMORY_HEADERS,
                memory_rows(report),
            )
        )
    ratios = floor_ratio_rows(report.figures, report.config.size)
    if ratios:
        tables.append(
            (
                "The floor (issue 19): the app against a two-page floor app, interleaved",
                "The floor (issue 19): the app against `benchmarks/floor_app.py`, interleaved "
                "sessions, click to the page settled:",
                FLOOR_RATIO_HEADERS,
                ratios,
            )
        )
    if report.floor:
        tables.append(
            (
                "The floor, per page",
                "The floor part, per page (`first`: the page's first visit in its session):",
                FLOOR_PAGE_HEADERS,
                floor_page_rows(report),
            )
        )
    others = other_rows(report)
    if others:
        tables.append(("Other figures", None, ["figure", "value"], others))
    return tables


def render_text(report: Report) -> str:
    """A report into the plain-text tables the command prints."""
    out = [
        f"# Browser benchmark: {settings_line(report)}",
        machine_line(report),
        "",
        "## Targets (issue 11)",
        text_table(
            TARGET_HEADERS, target_rows(TARGETS, report.figures, report.errors, _sizes(report))
        ),
    ]
    for heading, _, headers, rows in report_tables(report):
        out += ["", f"## {heading}", text_table(headers, rows)]
    if report.notes:
        out += ["", "## Notes", *(f"- {n}" for n in report.notes)]
    return "\n".join(out)


def render_markdown(report: Report) -> str:
    """A report into a markdown section for BENCHMARKS.md."""
    c = report.config
    out = [
        f"## Browser benchmark: {c.size} demo ({report.started:%Y-%m-%d %H:%M} UTC)",
        "",
        f"`python -m benchmarks.browser --size {c.size}"
        + (" --quick" if c.quick else "")
        + (
            f" --parts {','.join(c.parts)}"
            if c.parts != default_config(c.size, c.quick).parts
            else ""
        )
        + f"`: {settings_line(report)}.",
        "",
        f"Machine: {machine_line(report)}. Timings on this shared 2-core machine are noisy.",
        "",
        markdown_table(
            TARGET_HEADERS, target_rows(TARGETS, report.figures, report.errors, _sizes(report))
        ),
    ]
    for _, caption, headers, rows in report_tables(report):
        out += (
            ["", caption, "", markdown_table(headers, rows)]
            if caption
            else ["", markdown_table(headers, rows)]
        )
    if report.notes:
        out += ["", *(f"- {n}" for n in report.notes)]
    return "\n".join(out) + "\n"


def failed(report: Report) -> bool:
    """Whether any judged target FAILed."""
    rows = target_rows(TARGETS, report.figures, report.errors, _sizes(report))
    return any(row[-1] == "FAIL" for row in rows)


# --------------------------------------------------------------------------------------------------
# The command


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C or SIGTERM: remember it (Playwright may swallow the exception), then raise it."""
    INTERRUPTED.set()
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: Sequence[str] | None) -> tuple[Config, argparse.Namespace]:
    """Command-line arguments into the run's Config (and the parsed namespace)."""
    from spend.demo_org import DEMO_SIZES

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.browser", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--size", default="large", choices=sorted(DEMO_SIZES))
    parser.add_argument("--quick", action="store_true", help="smoke settings: 1 round, 2 sessions")
    parser.add_argument("--parts", help=f"comma list of {', '.join(PARTS)} (default: the size's)")
    parser.add_argument("--reps", type=int, help="rounds of page switches per view (default 5)")
    parser.add_argument("--sessions", type=int, help="browser sessions (default 20 large, 10 huge)")
    parser.add_argument("--first-render-runs", type=int, help="fresh servers timed (default 3)")
    parser.add_argument("--csv-runs", type=int, help="to_csv runs (default 3)")
    parser.add_argument(
        "--floor-sessions",
        type=int,
        help="fresh sessions of each app in the floor part (default 8)",
    )
    parser.add_argument(
        "--floor-bars",
        choices=("day", "week", "month"),
        help="the app's Bars per in the floor part (default: what 90 days suggest, weeks)",
    )
    parser.add_argument("--max-minutes", type=float, help="bound on the run (default 60)")
    parser.add_argument(
        "--max-server-mb", type=float, help="kill the server past this RSS (default 12000)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="more environment for the servers, e.g. MALLOC_ARENA_MAX=2 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--markdown", metavar="FILE", help="also write a markdown section here")
    parser.add_argument("--workdir", metavar="DIR", help="keep logs and caches here")
    args = parser.parse_args(argv)
    config = default_config(args.size, args.quick)
    if args.parts:
        parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
        unknown = set(parts) - set(PARTS)
        if unknown:
            parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
        config.parts = parts
    for name in (
        "reps",
        "sessions",
        "first_render_runs",
        "csv_runs",
        "floor_sessions",
        "floor_bars",
        "max_minutes",
        "max_server_mb",
    ):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    try:
        config.env = parse_env(args.env)
    except ValueError as exc:
        parser.error(str(exc))
    if args.workdir:
        config.workdir = Path(args.workdir)
        config.workdir.mkdir(parents=True, exist_ok=True)
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the tables, maybe write markdown; 0 when no target FAILed, 130 on Ctrl-C."""
    config, args = parse_args(argv)
    if reason := bs.browser_unavailable():
        print(f"cannot run the browser benchmark: {reason}", file=sys.stderr)
        return 2
    INTERRUPTED.clear()
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = run(config)
    except BaseException as exc:
        if not (INTERRUPTED.is_set() or isinstance(exc, KeyboardInterrupt)):
            raise
        report = None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if report is None or INTERRUPTED.is_set():
        print("interrupted: every process this run started was ended", file=sys.stderr)
        return 130
    print(render_text(report), flush=True)
    if args.markdown:
        Path(args.markdown).write_text(render_markdown(report))
        print(f"\nmarkdown written to {args.markdown}")
    return 1 if failed(report) else 0


if __name__ == "__main__":
    sys.exit(main())
