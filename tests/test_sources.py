"""Sources end to end against the fake server: plans, fetches, resumes, totals, empty answers."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from datetime import date as D

import pytest

from spend import errors
from spend.config import Settings
from spend.jobs import JobRegistry
from spend.schema import validate
from spend.sources import (
    AdminSource,
    admin,
    admin_parse,
    make_client,
    make_source,
    requests_for_range,
)
from spend.sources import windows as aligned
from spend.sources.base import epoch
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID


def clock_at(fake, hour=12):
    """A fake clock at ``hour`` UTC on the fake's last day (so the last two days are not final)."""
    last = fake.days[-1]
    return FakeClock(datetime(last.year, last.month, last.day, hour, tzinfo=UTC).timestamp())


def source_for(
    fake, tmp_path, *, key=LEGACY_KEY, per_user=False, clock=None, rate=6000.0, org=ORG_ID
):
    clock = clock or clock_at(fake)
    fake.configure(wall_clock=clock)  # the fake's "now" (end_time checks) is ours
    settings = Settings(
        api_key=key, org_id=org, base_url=fake.base_url, cache_dir=tmp_path, rate_limit_per_min=rate
    )
    client = make_client(settings, sleep=clock.sleep, clock=clock)
    client.rand = lambda: 0.0
    source = make_source(settings, per_user=per_user, client=client, clock=clock)
    return source, clock


def test_legacy__org_wide_plan_is_one_request_a_day_plus_users(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)
    plan = source.plan(fake_openai.days[-10], fake_openai.days[-1])
    days = fake_openai.days
    assert plan.total == 11 == requests_for_range(days[-10], days[-1], source="legacy")
    assert plan.missing == 11
    assert plan.eta_seconds == pytest.approx(11 * 60 / 6000)
    assert fake_openai.count() == 0  # planning an org-wide fetch asks nothing


def test_legacy__totals_equal_the_servers(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[0], fake_openai.days[-1]
    result = source.load(start, end)
    validate(result.frame)
    expected = fake_openai.legacy_totals(start, end)
    frame = result.frame
    assert int(frame["n_requests"].sum()) == expected["n_requests"]
    text = frame[frame["unit"].isna()]
    assert int(text["input_tokens"].sum()) == expected["input_tokens"]
    assert int(text["output_tokens"].sum()) == expected["output_tokens"]
    assert not result.partial and result.source == "legacy"
    assert set(frame["cost_basis"]) <= {"estimated", "unpriced"}
    assert frame.loc[frame["cost_basis"] == "unpriced", "cost_usd"].isna().all()  # never a silent 0


def test_legacy__per_user_attributes_usage_and_joins_names(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path, per_user=True)
    days = fake_openai.days[-5:]
    plan = source.plan(days[0], days[-1])
    assert (
        plan.total == 1 and fake_openai.count() == 0
    )  # planning asks nothing: the users list comes first
    result = source.load(days[0], days[-1])
    again = source.plan(days[0], days[-1])
    assert (
        again.total == 1 + 5 * (1 + len(fake_openai.user_ids)) and again.missing == 0
    )  # org-wide + each user
    assert fake_openai.count() == again.total
    frame = result.frame
    assert set(frame["user_id"].dropna()) <= set(fake_openai.user_ids)
    members = frame[frame["user_id"].notna()]
    assert members["user_email"].notna().all()  # names joined from the users list
    # what no member made (the fake's service account) is the org total minus the members': nothing
    # lost
    total = fake_openai.legacy_totals(days[0], days[-1])
    assert int(frame["n_requests"].sum()) == total["n_requests"]
    text = frame[frame["unit"].isna()]
    assert int(text["input_tokens"].sum()) == total["input_tokens"]
    assert frame["user_id"].isna().any()


def test_legacy__a_rerun_of_a_final_range_makes_no_request(fake_openai, tmp_path):
    source, clock = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[0], fake_openai.days[-5]  # all final
    first = source.load(start, end)
    made = fake_openai.count()
    clock.advance(30 * 86400)
    again, _ = source_for(fake_openai, tmp_path, clock=clock)
    plan = again.plan(start, end)
    assert plan.missing == 1  # only the users list, which is not final
    second = again.assemble(plan)
    assert fake_openai.count() == made
    assert second.frame["n_requests"].sum() == first.frame["n_requests"].sum()


def test_legacy__recent_days_are_fetched_again_after_expiry(fake_openai, tmp_path):
    source, clock = source_for(fake_openai, tmp_path)
    days = fake_openai.days[-4:]
    source.load(days[0], days[-1])
    clock.advance(3600)
    plan = source.plan(days[0], days[-1])
    not_final = [r for r in plan.requests if not r.final]
    # at noon on the last day, it and the two days before it ended less than 48 h ago
    assert plan.missing == len(not_final) == 4  # users + three days
    source.fetch(plan)
    assert fake_openai.count() == 5 + 4


def test_legacy__interrupted_fetch_resumes_with_exactly_the_rest(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[-12], fake_openai.days[-1]
    plan = source.plan(start, end)
    n = plan.missing
    stop = threading.Event()
    k = 5

    def progress(state):
        if state.done == k:
            stop.set()

    state = source.fetch(plan, progress=progress, stop=stop)
    assert state.done == k and not state.finished
    partial = source.assemble(plan)
    assert partial.partial and partial.missing_requests == n - k
    before = fake_openai.count()
    resumed, _ = source_for(fake_openai, tmp_path)  # a new process after a crash
    again = resumed.plan(start, end)
    assert again.missing == n - k
    resumed.fetch(again)
    assert fake_openai.count() - before == n - k
    assert not resumed.assemble(again).partial


def test_legacy__a_failure_mid_fetch_keeps_what_was_stored(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[-6], fake_openai.days[-1]
    plan = source.plan(start, end)
    fake_openai.fail_next(5, status=500, path_prefix="/v1/usage")  # one request, every attempt
    calls = []
    with pytest.raises(errors.ServerError):
        source.fetch(plan, progress=lambda s: calls.append(s.done))
    assert (
        source.assemble(plan).missing_requests == plan.total - 1
    )  # only the users list got through
    source.fetch(source.plan(start, end))
    assert not source.assemble(source.plan(start, end)).partial


def test_legacy__empty_answers_say_so_and_suggest_an_admin_key(fake_openai, tmp_path):
    fake_openai.reset(legacy_empty=True)
    source, _ = source_for(fake_openai, tmp_path)
    result = source.load(fake_openai.days[-3], fake_openai.days[-1])
    assert result.frame.empty
    assert any("returned no usage" in n and "admin key" in n for n in result.notices)


def test_legacy__2023_field_set_parses(fake_openai, tmp_path):
    fake_openai.reset(field_set="2023")
    source, _ = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[-3], fake_openai.days[-1]
    result = source.load(start, end)
    text = result.frame[result.frame["unit"].isna()]
    assert int(text["input_tokens"].sum()) == fake_openai.legacy_totals(start, end)["input_tokens"]


def test_legacy__needs_an_org_id(fake_openai, tmp_path):
    with pytest.raises(errors.ConfigError, match="organization id"):
        source_for(fake_openai, tmp_path, org=None)


@pytest.mark.parametrize("start_offset, end_offset, message", [(0, -1, "empty"), (2, 5, "future")])
def test_source__bad_ranges_are_clear(fake_openai, tmp_path, start_offset, end_offset, message):
    source, clock = source_for(fake_openai, tmp_path)
    today = fake_openai.days[-1]
    with pytest.raises(errors.ConfigError, match=message):
        source.plan(today + timedelta(days=start_offset), today + timedelta(days=end_offset))


def test_admin__plan_is_one_request_per_endpoint_and_aligned_block(fake_openai, tmp_path):
    fake_openai.reset(days=70)
    source, clock = source_for(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    assert isinstance(source, AdminSource)
    start, end = fake_openai.days[0], fake_openai.days[-1]
    plan = source.plan(start, end)
    usage = [r for r in plan.requests if r.kind.startswith("usage:")]
    blocks = aligned.window_blocks(start, end, 31)
    assert len(blocks) in (math.ceil(70 / 31), math.ceil(70 / 31) + 1)  # at most one more
    assert len(usage) == 10 * len(blocks)
    windows = sorted({dict(r.params)["start_time"] for r in usage})
    assert windows == [epoch(first) for first, _ in blocks]
    costs = len(aligned.window_blocks(start, end, 180))
    assert len([r for r in plan.requests if r.kind == "costs"]) == costs
    assert plan.total == requests_for_range(start, end, source="admin", now=clock())


def test_admin__a_rolling_range_asks_tomorrow_only_for_what_is_not_final(fake_openai, tmp_path):
    """Windows are blocks counted from 2020-01-01, not from the range's start: the 90 days ending
    tomorrow reuse every finished window the 90 days ending today stored (windows counted from the
    start would all move by a day, and be asked again)."""
    fake_openai.reset(days=100)
    source, clock = source_for(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    today = fake_openai.days[-1]
    source.fetch(source.plan(today - timedelta(days=89), today))
    clock.advance(86_400)
    plan = source.plan(today - timedelta(days=88), today + timedelta(days=1))
    cached = dict(zip(plan.requests, plan.cached, strict=True))
    final = [r for r in plan.requests if r.kind.startswith("usage:") and r.final]
    assert len(final) >= 10  # at least one finished block per endpoint
    assert all(cached[r] for r in final)
    assert all(not r.final for r, stored in cached.items() if not stored)
    assert plan.missing <= 2 + 10 * 2 + 1  # lists, the unfinished blocks, costs


def test_admin__totals_through_pages_equal_the_servers(fake_openai, tmp_path):
    fake_openai.reset(days=40)
    source, _ = source_for(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    start, end = fake_openai.days[0], fake_openai.days[-1]
    result = source.load(start, end)
    frame = result.frame
    validate(frame)
    completions = frame[frame["operation"] == "completion"]
    expected = fake_openai.admin_totals("completions", start, end)
    assert int(completions["input_tokens"].sum()) == expected["input_tokens"]
    assert int(completions["n_requests"].sum()) == expected["num_model_requests"]
    billed = frame[frame["cost_basis"] == "billed"]
    assert billed["cost_usd"].sum() == pytest.approx(
        float(fake_openai.costs_total(start, end)), abs=0.01
    )
    # names joined from the users/projects/keys lists
    assert completions["user_email"].notna().any() and completions["project_name"].notna().any()
    assert frame.loc[frame["api_key_id"].notna(), "api_key_name"].notna().any()


def test_admin__legacy_key_gets_the_admin_key_message(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path, key=LEGACY_KEY)
    settings = source.settings.with_(source="admin")
    admin = make_source(settings, client=source.client, clock=source.clock)
    with pytest.raises(errors.PermissionDeniedError, match="admin key"):
        admin.load(fake_openai.days[-3], fake_openai.days[-1])


def test_jobs__two_consumers_of_one_range_share_one_fetch(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)
    start, end = fake_openai.days[-8], fake_openai.days[-1]
    registry = JobRegistry()
    key = ("fp", "legacy", start, end)
    gate = threading.Event()
    original = source.client.send_once

    def slow_send(path, params=None, **kw):
        gate.wait(5)
        return original(path, params, **kw)

    source.client.send_once = slow_send
    first = registry.start(key, source, source.plan(start, end))
    second = registry.start(key, source, source.plan(start, end))
    assert first is second
    gate.set()
    assert first.wait(10)
    assert fake_openai.count() == 9
    assert first.progress.done == 9 and first.error is None


def test_legacy__a_fetch_longer_than_the_freshness_window_still_assembles_everything(
    fake_openai, tmp_path
):
    """At 5/min, 61 requests take 12 minutes: the first answers (users, newest days) go stale on the
    way."""
    fake_openai.reset(days=60)
    source, clock = source_for(fake_openai, tmp_path, rate=5)
    start, end = fake_openai.days[0], fake_openai.days[-1]
    plan = source.plan(start, end)
    state = source.fetch(plan)
    assert state.done == 61 and clock.now - clock_at(fake_openai).now >= 12 * 60
    result = source.assemble(plan)
    assert not result.partial
    assert (
        int(result.frame["n_requests"].sum()) == fake_openai.legacy_totals(start, end)["n_requests"]
    )
    assert source.plan(start, end).missing == 4  # planning still asks again for what is stale


def test_jobs__an_unexpected_exception_ends_the_job_with_an_error(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    source.fetch = broken
    job = JobRegistry().start("k", source, source.plan(fake_openai.days[-2], fake_openai.days[-1]))
    assert job.wait(10) and not job.running
    assert isinstance(job.error, errors.SpendError) and "RuntimeError" in str(job.error)


def test_admin__a_refused_name_list_shows_ids_not_an_error(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    start, end = fake_openai.days[-5], fake_openai.days[-1]
    fake_openai.fail_next(
        1, status=403, kind="error", retry_after=None, path_prefix="/v1/organization/users"
    )
    result = source.load(start, end)
    assert not result.partial
    assert any("refused the users list" in n for n in result.notices)
    usage = result.frame[result.frame["operation"] == "completion"]
    assert usage["user_id"].notna().any() and usage["user_name"].isna().all()
    assert (
        int(usage["input_tokens"].sum())
        == fake_openai.admin_totals("completions", start, end)["input_tokens"]
    )


def test_admin__a_refused_usage_endpoint_is_an_error(fake_openai, tmp_path):
    source, _ = source_for(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    fake_openai.fail_next(
        1, status=403, kind="error", retry_after=None, path_prefix="/v1/organization/usage"
    )
    with pytest.raises(errors.PermissionDeniedError, match="may not read /organization/usage"):
        source.load(fake_openai.days[-5], fake_openai.days[-1])


def test_legacy__per_user_fetch_waits_for_a_yes_before_growing_past_the_bound(
    fake_openai, tmp_path
):
    """Unconfirmed, a per-user fetch stops after the users list when the rest would take > 10
    min."""
    source, _ = source_for(fake_openai, tmp_path, per_user=True, rate=5)
    start, end = fake_openai.days[-30], fake_openai.days[-1]
    state = source.fetch(source.plan(start, end), expand_limit=600)
    assert state.done == 1 and fake_openai.count() == 1  # the users list only
    plan = source.plan(start, end)
    assert (
        plan.missing == 30 * (1 + len(fake_openai.user_ids)) and plan.eta_seconds > 600
    )  # shown, to confirm
    small = source.fetch(
        source.plan(end, end), expand_limit=600
    )  # one day: 4 requests fit the bound
    assert small.done == 1 + len(fake_openai.user_ids)


def test_jobs__stop_ends_a_rate_limit_wait_at_once_and_sends_nothing_more(fake_openai, tmp_path):
    """At 1 request a minute the second request waits 60 s; Stop ends that wait without sending
    it."""
    import time as real_time

    settings = Settings(
        api_key=LEGACY_KEY,
        org_id=ORG_ID,
        base_url=fake_openai.base_url,
        cache_dir=tmp_path,
        rate_limit_per_min=1,
    )
    source = make_source(settings)  # the real clock: the wait below is a real one
    limiter = source.client.limiter
    waiting = threading.Event()
    reserve = limiter.reserve

    def reserve_and_tell() -> float:
        wait = reserve()
        if wait > 0:
            waiting.set()  # the job is about to wait ~60 s for its second slot
        return wait

    limiter.reserve = reserve_and_tell
    start, end = fake_openai.days[-3], fake_openai.days[-1]
    job = JobRegistry().start("k", source, source.plan(start, end))
    assert waiting.wait(10)
    began = real_time.monotonic()
    job.stop()
    assert job.wait(5) and real_time.monotonic() - began < 2
    assert fake_openai.count() == 1 and job.error is None and job.progress.done == 1
    assert not job.progress.finished


# --- aligned admin windows ------------------------------------------------------------------------


def _at(day, hour=0, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()


def _days(windows):
    """(start_time, end_time, last) windows into (first day, day after, last day) dates."""
    as_day = lambda t: datetime.fromtimestamp(t, tz=UTC).date()  # noqa: E731
    return [(as_day(t0), as_day(t1), last) for t0, t1, last in windows]


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        # rolling: the last block runs to now (not final), the earlier one is whole
        (
            D(2026, 11, 2),
            D(2026, 12, 1),
            _at(D(2026, 12, 1), 12),
            [
                (D(2026, 10, 16), D(2026, 11, 16), D(2026, 11, 15)),
                (D(2026, 11, 16), D(2026, 12, 1), D(2026, 12, 16)),
            ],
        ),
        # over ("last month" on Dec 5): the last block is cut at the range's end, final
        (
            D(2026, 11, 1),
            D(2026, 11, 30),
            _at(D(2026, 12, 5), 12),
            [
                (D(2026, 10, 16), D(2026, 11, 16), D(2026, 11, 15)),
                (D(2026, 11, 16), D(2026, 12, 1), D(2026, 11, 30)),
            ],
        ),
        # Dec 17 00:05 is in a block not begun by the 10-minute clamp: left out
        (
            D(2026, 12, 10),
            D(2026, 12, 17),
            _at(D(2026, 12, 17), 0, 5),
            [
                (D(2026, 11, 16), D(2026, 12, 17), D(2026, 12, 16)),
            ],
        ),
    ],
    ids=["rolling", "over", "block-not-begun"],
)
def test_admin__time_windows_are_blocks_cut_at_now_or_at_a_final_end(start, end, now, expected):
    from spend.dates import is_final

    windows = aligned.time_windows(start, end, 31, now=now)
    assert _days(windows)[: len(expected)] == expected and len(windows) == len(expected)
    moment = datetime.fromtimestamp(now, tz=UTC)
    if is_final(end, moment):
        assert all(is_final(last, moment) for _, _, last in windows)
    assert admin.cold_requests(start, end, now=now) == 2 + 10 * len(windows) + len(
        aligned.time_windows(start, end, 180, now=now)
    )


def test_admin__rows_and_notices_outside_the_range_are_left_out():
    """A window is a block reaching beyond the range: what lies outside is neither shown nor
    counted in a notice (a foreign-currency row a month earlier says nothing)."""
    first, inside = epoch(D(2026, 11, 1)), epoch(D(2026, 11, 20))

    def bucket(start_time, currency):
        amount = {"value": "2.50", "currency": currency}
        result = {"object": "organization.costs.result", "amount": amount, "line_item": "x"}
        return {"object": "bucket", "start_time": start_time, "results": [result]}

    pages = [{"object": "page", "data": [bucket(first, "eur"), bucket(inside, "usd")]}]
    everything = admin_parse.admin_costs_to_frame(pages)
    assert everything.attrs["non_usd_currencies"] == {"eur": 1} and len(everything) == 2
    days = (D(2026, 11, 15), D(2026, 11, 30))
    mine = admin_parse.admin_costs_to_frame(pages, days=days)
    assert mine.attrs["non_usd_currencies"] == {} and len(mine) == 1
    assert mine["cost_usd"].tolist() == [2.5]
