"""One basis per figure (issue 19): a day the Costs API has not reported yet counts its estimate,
said; a provider without a bill keeps its estimate beside another's bill; a change compares like
with like. Tables here; the Overview and Budgets pages under AppTest at the end."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from spend import analysis
from spend import formatting as fmt
from spend.budgets import MIXED, Budget, MoneyParts, measure_budget, money_parts
from spend.schema import conform
from tests.apptest_support import admin_secrets, app, no_exceptions
from tests.clock import noon
from tests.test_pages import BUDGETS, metric, run_until_complete

FIRST = date(2026, 11, 16)  # a Monday; three weeks to Dec 6


def day_rows(day: date, billed: float | None, estimated: float, provider: str = "openai"):
    """One day of a provider: its usage row (the estimate) and its Costs API row (None: the
    cost report has not reported the day)."""
    rows = [
        {
            "date": pd.Timestamp(day),
            "cost_usd": estimated,
            "cost_basis": "estimated",
            "provider": provider,
            "project_id": "proj_a",
            "model": "gpt-4o-2024-08-06",
            "model_family": "gpt-4o",
            "input_tokens": 1000,
            "output_tokens": 100,
            "n_requests": 10,
        }
    ]
    if billed is not None:
        rows.append(
            {
                "date": pd.Timestamp(day),
                "cost_usd": billed,
                "cost_basis": "billed",
                "provider": provider,
                "project_id": "proj_a",
            }
        )
    return rows


def table(days: dict[date, tuple[float | None, float]], provider: str = "openai") -> pd.DataFrame:
    rows = [row for day, (b, e) in days.items() for row in day_rows(day, b, e, provider)]
    return conform(pd.DataFrame(rows))


def weeks(rate: float, first: date, n: int, *, missing: tuple[date, ...] = ()) -> dict:
    """``n`` days from ``first`` at ``rate`` billed a day, estimated at 97 % of it."""
    days = {}
    for i in range(n):
        day = first + timedelta(days=i)
        days[day] = (None if day in missing else rate, 0.97 * rate)
    return days


DEC_6 = date(2026, 12, 6)
CURRENT = (date(2026, 12, 1), DEC_6)  # six days, Tue-Sun
PREVIOUS = (date(2026, 11, 24), date(2026, 11, 29))  # the same weekdays a week earlier


def six_day_table(*, missing: tuple[date, ...] = ()) -> pd.DataFrame:
    """$100 a day billed before December, $114.40 from Dec 1 (+14.4 %): the issue's case."""
    before = weeks(100.0, FIRST, 15)
    after = weeks(114.4, date(2026, 12, 1), 6, missing=missing)
    return conform(pd.concat([table(before), table(after)], ignore_index=True))


# --- the parts of a figure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, frame, basis, billed, estimated, pending, unbilled",
    [
        ("every day billed", table(weeks(100.0, FIRST, 3)), "billed", 300.0, 0.0, (), ()),
        (
            "the last day not reported",
            table(weeks(100.0, FIRST, 3, missing=(FIRST + timedelta(days=2),))),
            MIXED,
            200.0,
            97.0,
            (FIRST + timedelta(days=2),),
            (),
        ),
        (
            "a provider without a bill",
            conform(
                pd.concat(
                    [
                        table(weeks(100.0, FIRST, 3)),
                        table(
                            {FIRST: (None, 40.0), FIRST + timedelta(days=1): (None, 2.0)},
                            "anthropic",
                        ),
                    ],
                    ignore_index=True,
                )
            ),
            MIXED,
            300.0,
            42.0,
            (),
            ("Anthropic",),
        ),
        (
            "no bill at all (a legacy key, the demo)",
            table({FIRST: (None, 5.0), FIRST + timedelta(days=2): (None, 7.0)}),
            "estimated",
            0.0,
            12.0,
            (),
            (),
        ),
    ],
)
def test_money_parts__table(name, frame, basis, billed, estimated, pending, unbilled):
    parts = money_parts(frame, "organization", None, start=FIRST, end=FIRST + timedelta(days=2))
    assert parts == MoneyParts(billed, pytest.approx(estimated), pending, unbilled)
    assert parts.basis == basis
    totals = analysis.totals(frame, start=FIRST, end=FIRST + timedelta(days=2))
    assert totals.basis == basis and totals.spend == pytest.approx(billed + estimated)
    measure = measure_budget(
        frame, Budget("organization", None, 1000.0), as_of=FIRST + timedelta(days=2)
    )
    assert measure.basis == basis and measure.spent_usd == pytest.approx(billed + estimated)


@pytest.mark.parametrize(
    "parts, note",
    [
        (MoneyParts(300.0, 0.0), None),
        (MoneyParts(0.0, 12.0), None),  # no bill anywhere: estimated by nature, the label says it
        (
            MoneyParts(200.0, 97.0, (date(2026, 12, 4),)),
            "billed $200.00 + estimated $97.00 (days the Costs API has not reported yet: Dec 4)",
        ),
        (
            MoneyParts(300.0, 42.0, (), ("Anthropic",)),
            "billed $300.00 + estimated $42.00 (Anthropic gives no bill)",
        ),
        (  # today, before any bill: estimated, and why
            MoneyParts(0.0, 8.0, (date(2026, 12, 5),)),
            "estimated $8.00 (days the Costs API has not reported yet: Dec 5)",
        ),
    ],
)
def test_money_parts__note_says_which_part_is_which(parts, note):
    assert parts.note(fmt.usd) == note


def test_totals__a_provider_without_a_bill_keeps_its_estimate():
    """OpenAI billed, Anthropic's cost report refused: the headline is OpenAI's bill plus
    Anthropic's estimate (it used to be OpenAI's bill alone)."""
    frame = conform(
        pd.concat(
            [table(weeks(100.0, FIRST, 3)), table({FIRST: (None, 40.0)}, "anthropic")],
            ignore_index=True,
        )
    )
    totals = analysis.totals(frame, start=FIRST, end=FIRST + timedelta(days=2))
    assert totals.spend == pytest.approx(340.0) and totals.basis == MIXED
    assert totals.parts.unbilled == ("Anthropic",)
    providers = analysis.by_provider(frame).set_index("provider")
    assert providers.loc["anthropic", "spend"] == pytest.approx(40.0)
    assert providers.loc["anthropic", "basis"] == "estimated"
    assert providers.loc["openai", "basis"] == "billed"


def test_by_provider__a_day_not_billed_yet_counts_its_estimate():
    frame = table(weeks(100.0, FIRST, 3, missing=(FIRST + timedelta(days=2),)))
    row = analysis.by_provider(frame).iloc[0]
    assert row["spend"] == pytest.approx(297.0) and row["basis"] == MIXED


# --- deltas compare like with like --------------------------------------------------------------


def test_compare__a_day_without_its_bill_compares_estimates_on_both_sides():
    """The issue's case: dropping a day of costs read -4.6 % instead of +14.4 %."""
    whole = analysis.compare(six_day_table(), start=CURRENT[0], end=CURRENT[1], previous=PREVIOUS)
    assert whole["spend"].pct_change == pytest.approx(0.144)
    assert whole["spend"].basis == "billed"
    dropped = six_day_table(missing=(DEC_6,))
    late = analysis.compare(dropped, start=CURRENT[0], end=CURRENT[1], previous=PREVIOUS)
    assert late["spend"].pct_change == pytest.approx(0.144)  # estimate against estimate
    assert late["spend"].basis == "estimated"
    assert late["avg_spend_per_day"].pct_change == pytest.approx(0.144)
    # the bill alone reads five days against six: -4.7 %, what the issue saw
    billed = dropped[dropped["cost_basis"] == "billed"]
    old = analysis.compare(billed, start=CURRENT[0], end=CURRENT[1], previous=PREVIOUS)
    assert old["spend"].pct_change == pytest.approx(5 * 114.4 / 600 - 1)
    # the figure itself keeps both parts, said
    now = analysis.totals(dropped, start=CURRENT[0], end=CURRENT[1])
    assert now.spend == pytest.approx(5 * 114.4 + 0.97 * 114.4)
    assert now.parts.pending == (DEC_6,) and now.basis == MIXED


def test_compare__the_same_make_up_on_both_sides_compares_the_headline():
    """OpenAI billed beside Anthropic's estimate in both periods: like with like, the headline."""
    claude = {d: (None, 10.0) for d in weeks(1.0, FIRST, 21)}
    frame = conform(pd.concat([six_day_table(), table(claude, "anthropic")], ignore_index=True))
    deltas = analysis.compare(frame, start=CURRENT[0], end=CURRENT[1], previous=PREVIOUS)
    assert deltas["spend"].basis == MIXED
    assert deltas["spend"].current == pytest.approx(6 * 114.4 + 6 * 10.0)


# --- the pages (AppTest) ------------------------------------------------------------------------

DEC_4, DEC_5 = date(2026, 12, 4), date(2026, 12, 5)


def estimated_on(frame: pd.DataFrame, first: date, last: date) -> float:
    """The usage table's estimate over [first, last], summed here from its rows."""
    rows = frame[
        frame["cost_basis"].eq("estimated")
        & (frame["date"] >= pd.Timestamp(first))
        & (frame["date"] <= pd.Timestamp(last))
    ]
    return float(rows["cost_usd"].sum())


@pytest.mark.usefixtures("fresh_streamlit")
def test_pages__days_the_costs_api_has_not_reported_are_estimated_and_said(
    monkeypatch, fake_openai
):
    """The Costs API has not reported Dec 4 and today: the headline is the bill to Dec 3 plus the
    estimate of Dec 4-5, said; the 6-day change compares estimates on both sides (the bill alone
    read five days against six); "Today so far" says it is estimated; the month card and the
    Budgets page say their parts."""

    fake_openai.reset(days=40, end_date=DEC_5, costs_missing_days=(DEC_4, DEC_5))
    monkeypatch.setattr("spend.dates.utc_now", lambda: noon(DEC_5))
    at = app(**admin_secrets(fake_openai))
    at.query_params["range"] = "last_7_days"  # Nov 29 - Dec 5: six complete days, then today
    run_until_complete(at)
    no_exceptions(at)
    table = at.session_state["_spend_view"].full
    billed = float(fake_openai.costs_total(date(2026, 11, 29), date(2026, 12, 3)))
    late = estimated_on(table, DEC_4, DEC_5)
    spend = metric(at, "Spend (")
    assert spend.label == f"Spend ({MIXED})"
    assert spend.value == fmt.usd(billed + late)
    note = (
        f"billed {fmt.usd(billed)} + estimated {fmt.usd(late)} (days the Costs API has not "
        "reported yet: Dec 4, Dec 5)"
    )
    assert f":material/receipt_long: Spend: {fmt.escape_markdown(note)}." in [
        c.value for c in at.caption
    ]
    # the change: Nov 29 - Dec 4 against Nov 22-27, estimate against estimate
    current, previous = (date(2026, 11, 29), DEC_4), (date(2026, 11, 22), date(2026, 11, 27))
    change = estimated_on(table, *current) / estimated_on(table, *previous) - 1
    assert spend.delta == fmt.delta_pct(change)
    bill_alone = billed / float(fake_openai.costs_total(*previous)) - 1  # what it used to read
    assert fmt.delta_pct(bill_alone) != spend.delta
    (changes,) = [c.value for c in at.caption if "Changes:" in c.value]
    assert "Spend changes compare the estimate on both sides" in changes
    today = metric(at, "Today so far")
    assert today.label == "Today so far (estimated)"
    assert today.value == fmt.usd(estimated_on(table, DEC_5, DEC_5))
    assert "days the Costs API has not reported yet: Dec 5" in today.proto.help
    # the month card: December to its as-of day, billed to Dec 3, estimated after
    as_of = DEC_5 - timedelta(days=1)  # yesterday on the app's clock (noon, Dec 5), whatever
    # the date on the machine running the test
    pending = ", ".join(f"Dec {d}" for d in range(4, as_of.day + 1))
    month_billed = float(fake_openai.costs_total(date(2026, 12, 1), date(2026, 12, 3)))
    month_note = fmt.escape_markdown(
        f"billed {fmt.usd(month_billed)} + estimated "
        f"{fmt.usd(estimated_on(table, DEC_4, as_of))} (days the Costs API has not reported "
        f"yet: {pending})"
    )
    assert metric(at, "December so far").label == f"December so far ({MIXED})"
    assert f":material/receipt_long: December: {month_note}." in [c.value for c in at.caption]
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    assert metric(at, "Spent this month").label == f"Spent this month ({MIXED})"
    assert f":material/receipt_long: Spent this month: {month_note}." in [
        c.value for c in at.caption
    ]


@pytest.mark.usefixtures("fresh_streamlit")
def test_overview__a_provider_without_a_bill_keeps_its_estimate_beside_the_other_bill(
    fake_openai,
):
    """Anthropic's cost report refused, OpenAI's Costs API answering: the headline is OpenAI's
    bill plus Anthropic's estimate, labelled (it used to be OpenAI's bill alone)."""
    from tests.fake_anthropic import FakeAnthropic
    from tests.test_pages import both_secrets, settle

    with FakeAnthropic(fake_openai.days[-10:]) as claude:
        claude.refuse["/v1/organizations/cost_report"] = 403
        at = settle(app(**both_secrets(fake_openai, claude)))
    view = at.session_state["_spend_view"]
    frame = view.frame
    openai_billed = frame[frame["provider"].eq("openai") & frame["cost_basis"].eq("billed")]
    claude_rows = frame[frame["provider"].eq("anthropic")]
    assert not claude_rows["cost_basis"].eq("billed").any()  # no bill from Anthropic
    claude_estimate = float(claude_rows["cost_usd"].sum())
    assert claude_estimate > 0
    billed = float(openai_billed["cost_usd"].sum())
    assert billed == pytest.approx(float(fake_openai.costs_total(view.start, view.end)))
    spend = metric(at, "Spend (")
    assert spend.label == f"Spend ({MIXED})"
    assert spend.value == fmt.usd(billed + claude_estimate)
    notes = [c.value for c in at.caption if c.value.startswith(":material/receipt_long: Spend:")]
    assert len(notes) == 1 and fmt.escape_markdown("(Anthropic gives no bill)") in notes[0]
    assert fmt.escape_markdown(f"estimated {fmt.usd(claude_estimate)}") in notes[0]
    assert metric(at, "Anthropic (estimated)").value == fmt.usd(claude_estimate)


def test_totals__the_gap_compares_the_bill_with_the_estimate_of_the_same_days():
    """Dec 6 not billed yet: the gap is the bill of Dec 1-5 against their estimate (3 %), not
    against six days' estimate."""
    frame = six_day_table(missing=(DEC_6,))
    now = analysis.totals(frame, start=CURRENT[0], end=CURRENT[1])
    assert now.billed == pytest.approx(5 * 114.4)
    assert now.gap == pytest.approx(5 * 114.4 * 0.03)
    assert now.estimated == pytest.approx(6 * 114.4 * 0.97)  # the whole estimate still shown
