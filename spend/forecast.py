"""Month-end spend forecasts from complete days, with a band measured on the series' own past.

A daily series (USD per UTC day, ``pd.Series`` indexed by day, every day present) goes in; the
month of ``as_of`` (the last complete day) comes out as::

    forecast = month to date + sum over the remaining days of (level x weekday factor)

- **level**: the trailing daily rate, over the last ``LEVEL_DAYS`` days (``MIN_HISTORY_DAYS``
  without weekday factors), divided by those days' weekday factors so a window ending on a
  weekend does not drag it down;
- **spikes do not carry forward**: a day the spike detector's test flags (``spend.spikes``: a
  modified z-score of at least ``Z_THRESHOLD`` against the previous ``WINDOW_DAYS`` days, and
  against the same weekdays among them) that is also at least ``SPIKE_RATIO`` (2) times their
  median and higher than any day seen before it counts
  in the level and the weekday factors at most as the highest value the same weekdays before it
  would let pass (a typical day of its weekday, give or take their noise), unless at least
  ``SHIFT_DAYS`` of the 7 days around it are flagged too: then the series has moved to a new
  level, and the forecast follows it as it follows any change. E.g. one $30 day among $0.50 days
  counts as about $1; a week at twice the rate counts whole. Only the level is cleaned: month to
  date, the band's actual outcomes and the crossing date use the money as spent;
- **weekday factors**: once there are ``SEASONAL_HISTORY_DAYS`` (3 weeks) of history, each
  weekday's mean over up to ``SEASON_DAYS`` of whole weeks, over the mean of all of them; before
  that every day counts the same;
- **band**: the same method run from earlier days of the series over the same number of remaining
  days (a rolling-origin backtest); the 10th and 90th percentiles of actual / forecast scale the
  remaining part, so a noisy series gets a wide band and a steady one a narrow band;
- **not enough history**: under ``MIN_HISTORY_DAYS`` days, no forecast at all (``None``);
- **its own history**: only the ``HISTORY_DAYS`` (56) days up to ``as_of`` count
  (``history_window``), however much the caller passes: the Overview's card, the Budgets page and
  ``python -m spend alerts`` give the same figure and band for the same day, whatever range
  each loaded.

``backtest`` runs the forecast from every day of a past month against the month's actual total;
``backtest_summary`` turns that into the median absolute percentage error from day 10 and the
share of days whose band held the actual total (``benchmarks/forecast_backtest.py`` prints both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from spend.dates import month_bounds
from spend.spikes import MIN_PRIOR_DAYS, WINDOW_DAYS, Z_THRESHOLD, robust_scale

#: The forecast's own history: the eight weeks up to ``as_of`` (which hold the month so far),
#: whatever a caller loaded (``history_window``), so a page's range never moves the forecast.
HISTORY_DAYS = 56
#: Under this many days of history there is no forecast ("not enough history yet").
MIN_HISTORY_DAYS = 7
#: Weekday factors need this much history (3 weeks: every weekday seen three times).
SEASONAL_HISTORY_DAYS = 21
#: Weekday factors come from up to this many days of whole weeks (the most recent).
SEASON_DAYS = 56
#: The trailing window of the daily rate once weekday factors exist (two whole weeks).
LEVEL_DAYS = 14
#: The band's coverage: 80% (the 10th to the 90th percentile of the backtest's ratios).
COVERAGE = 0.8
#: Earlier forecasts used for the band: the most recent this many origins.
RESIDUAL_ORIGINS = 56
#: Fewer ratios than this and the band comes from the day-to-day noise instead.
MIN_RESIDUALS = 8
#: The backtest's accuracy target counts forecasts from this day of the month on.
SCORED_FROM_DAY = 10
#: The normal quantile for the fallback band (80%: +-1.2816 standard deviations).
_Z80 = 1.2815515655446004
#: A spike is at least this many times the median of its previous days (a runaway, not noise).
SPIKE_RATIO = 2.0
#: A flagged day among at least this many flagged days of the 7 around it is a new level, not a
#: spike (more than half a week: a burst of up to three days is a spike).
SHIFT_DAYS = 4
#: Ratios from origins whose windows overlap by all but one day carry about 1.5 x N / h degrees
#: of freedom (the overlapping-window variance estimator), not N.
OVERLAP_DOF = 1.5


@dataclass(frozen=True)
class Forecast:
    """The month-end forecast at ``as_of`` (USD); every estimate is None without enough history."""

    as_of: date
    month_start: date
    month_end: date
    history_days: int
    enough_history: bool
    month_to_date: float
    forecast_usd: float | None = None
    low_usd: float | None = None
    high_usd: float | None = None
    daily_rate: float | None = None  # the level: an average day, weekday effects removed
    seasonal: bool = False  # weekday factors used
    path: tuple[float, ...] = ()  # forecast per remaining day, as_of + 1 .. month end
    band_from: str = "none"  # "backtest" (residual ratios) | "noise" (too few) | "none"
    damped: tuple[date, ...] = ()  # spike days the level counts at their weekday limit, not in full


def history_window(as_of: date) -> tuple[date, date]:
    """A forecast's as-of day into the days its forecast learns from, ``HISTORY_DAYS`` up to it,
    e.g. 2026-12-04 -> (2026-10-10, 2026-12-04). They always hold the month so far."""
    first = min(as_of - timedelta(days=HISTORY_DAYS - 1), month_bounds(as_of)[0])
    return first, as_of


def complete_series(daily: pd.Series, as_of: date) -> pd.Series:
    """A daily series into every day from its first to ``as_of``, missing days 0, later ones cut.

    E.g. values on Mar 1 and Mar 3 with ``as_of`` Mar 4 -> Mar 1, 2 (0.0), 3, 4 (0.0).
    """
    nothing = pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
    if daily.empty:
        return nothing
    index = pd.DatetimeIndex(daily.index).normalize()
    values = pd.Series(
        pd.to_numeric(daily, errors="coerce").fillna(0.0).to_numpy(dtype="float64"), index=index
    )
    values = values.groupby(level=0).sum()
    end = pd.Timestamp(as_of)
    if values.index.min() > end:
        return nothing
    days = pd.date_range(values.index.min(), end, freq="D")
    return values.reindex(days, fill_value=0.0)


def weekday_factors(values: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Whole weeks of daily values into 7 weekday factors averaging 1, e.g. weekends at a third.

    ``values`` and ``weekdays`` (0 = Monday) are aligned; a series of zeros gives all ones.
    """
    factors = np.ones(7)
    overall = values.mean() if len(values) else 0.0
    if overall <= 0:
        return factors
    for weekday in range(7):
        seen = values[weekdays == weekday]
        if len(seen):
            factors[weekday] = seen.mean() / overall
    return factors / factors.mean()


def spike_limits(values: np.ndarray) -> np.ndarray:
    """A daily history into each day's spike limits, ``(3, days)``; +inf where not checked.

    Row 0, the **z limit**: the largest value the spike detector's test (``spend.spikes``: a
    modified z-score under ``Z_THRESHOLD``) passes against both the day's previous ``WINDOW_DAYS``
    days (at least ``MIN_PRIOR_DAYS``) and the same weekdays among them (so a busy weekend is no
    spike). Row 1, the **runaway limit**: ``SPIKE_RATIO`` times their median, or the largest of
    them but the last ``SHIFT_DAYS - 1`` if higher (a day no higher than one seen before is a
    pattern, not a spike; a burst's own days do not count; a noisy day is rarely twice the
    usual). Row 2, the **weekday limit**: the largest value the test passes against the same
    weekdays alone, what a spike counts as at most. E.g. $100 a day then $1,000 -> the last
    day's limits are 100, 200 and 100. Limits depend on earlier days only: a longer history's
    limits hold for every shorter one.

    :param values: USD per day, every day present (so 7 days back is the same weekday)
    """
    n = len(values)
    limits = np.full((3, n), np.inf)
    checked = np.arange(MIN_PRIOR_DAYS, n)
    if not len(checked):
        return limits
    padded = np.concatenate([np.full(WINDOW_DAYS, np.nan), values.astype("float64")])
    windows = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_DAYS)[checked]  # t-28..t-1
    same_weekday = windows[:, WINDOW_DAYS - 7 :: -7]  # t-7, t-14, t-21, t-28
    median, scale = robust_scale(windows.T)  # every checked day has one of each (t >= 7)
    weekday_median, weekday_scale = robust_scale(same_weekday.T)
    weekday_limit = weekday_median + Z_THRESHOLD * weekday_scale
    limits[0, checked] = np.maximum(median + Z_THRESHOLD * scale, weekday_limit)
    earlier = windows[:, : WINDOW_DAYS - (SHIFT_DAYS - 1)]  # t-28..t-4: at least 4 days (t >= 7)
    limits[1, checked] = np.maximum(SPIKE_RATIO * median, np.nanmax(earlier, axis=1))
    limits[2, checked] = weekday_limit
    return limits


def _cleaned(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """A history and its ``spike_limits`` into the values its level uses, e.g. a lone $1,000 day
    among $100 days -> $100; ``SHIFT_DAYS`` or more days over the z limit in 7 stay whole.

    A spike (over its z limit and its runaway limit, with fewer than ``SHIFT_DAYS`` of the 7
    days around it over their z limit) counts at most at its weekday limit.
    """
    elevated = values > limits[0]
    if not elevated.any():
        return values
    around = np.convolve(elevated.astype("float64"), np.ones(7), mode="same")
    spike = elevated & (values > limits[1]) & (around < SHIFT_DAYS - 0.5)
    return np.where(spike, np.minimum(values, limits[2]), values)


def _fit(
    values: np.ndarray, weekdays: np.ndarray, limits: np.ndarray | None = None
) -> tuple[float, np.ndarray, bool, int]:
    """A history into (level, weekday factors, seasonal?, level window), e.g. flat $5 -> 5.0, ones.

    ``weekdays`` holds each history day's weekday (0 = Monday); ``limits`` (``spike_limits``) cap
    its spike days, so a spike raises neither the level nor its weekday's factor.
    """
    if limits is not None:
        values = _cleaned(values, limits)
    n = len(values)
    seasonal = n >= SEASONAL_HISTORY_DAYS
    factors = np.ones(7)
    if seasonal:
        weeks = min(SEASON_DAYS, n) // 7 * 7
        factors = weekday_factors(values[-weeks:], weekdays[-weeks:])
    window = LEVEL_DAYS if seasonal else MIN_HISTORY_DAYS
    weight = factors[weekdays[-window:]].sum()
    level = float(values[-window:].sum() / weight) if weight > 0 else 0.0
    return level, factors, seasonal, window


def _path(
    values: np.ndarray, weekdays: np.ndarray, horizon: int, limits: np.ndarray | None = None
) -> tuple[np.ndarray, float, bool]:
    """A history into (forecast of each of the next ``horizon`` days, level, seasonal?).

    The days after the history continue its week, e.g. a history ending on a Friday -> Sat, Sun, ...
    """
    level, factors, seasonal, _ = _fit(values, weekdays, limits)
    following = (weekdays[-1] + 1 + np.arange(horizon)) % 7
    return level * factors[following], level, seasonal


def _residual_ratios(
    values: np.ndarray, weekdays: np.ndarray, horizon: int, limits: np.ndarray | None = None
) -> np.ndarray:
    """A history into actual / forecast of the next ``horizon`` days' sum, from earlier origins.

    Origins need ``MIN_HISTORY_DAYS`` of history and ``horizon`` later days; the latest
    ``RESIDUAL_ORIGINS`` are used. Origins whose forecast is 0 are skipped. Each origin's forecast
    sees only its own days (spikes capped as the forecast caps them); the actual is the money
    spent, spikes and all, so a spiky series gets a wider band.
    """
    last = len(values) - horizon  # history length of the latest origin with a full horizon after
    first = max(MIN_HISTORY_DAYS, last - RESIDUAL_ORIGINS + 1)
    ratios = []
    for length in range(first, last + 1):
        capped = None if limits is None else limits[:, :length]
        predicted = _path(values[:length], weekdays[:length], horizon, capped)[0].sum()
        if predicted > 0:
            ratios.append(values[length : length + horizon].sum() / predicted)
    return np.asarray(ratios, dtype="float64")


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile by the Cornish-Fisher expansion, e.g. ``(0.9, 4) -> 1.53`` (1.533).

    Good to about 1% for ``df >= 2`` at the quantiles a band uses; no scipy needed.
    """
    z = _normal_quantile(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def _normal_quantile(p: float) -> float:
    """The standard normal quantile (Acklam's rational approximation), e.g. ``0.9 -> 1.2816``."""
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.357751867269,
        -30.66479806614716,
        2.506628274631,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        q = np.sqrt(-2 * np.log(p))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        return float(num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1))
    if p > 1 - 0.02425:
        return -_normal_quantile(1 - p)
    q = p - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    return float(num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1))


def ratio_band(ratios: np.ndarray, horizon: int, coverage: float = COVERAGE) -> tuple[float, float]:
    """Past actual / forecast ratios into the band's (low, high) ratio, e.g. ~1 -> 0.97, 1.03.

    A prediction interval on the log ratios: mean +- t x sd x sqrt(1 + 1/n). The ratios come from
    origins one day apart whose ``horizon``-day windows overlap, so they count as
    ``n = len / horizon`` independent draws (at least 2); few draws give a wide t quantile.
    """
    logs = np.log(np.clip(ratios, 1e-3, None))
    draws = max(2.0, OVERLAP_DOF * len(logs) / max(horizon, 1))
    spread = float(np.std(logs, ddof=1)) * np.sqrt(1 + 1 / draws)
    t = t_quantile(1 - (1 - coverage) / 2, draws - 1)
    centre = float(np.mean(logs))
    return float(np.exp(centre - t * spread)), float(np.exp(centre + t * spread))


def _noise_band(
    values: np.ndarray,
    weekdays: np.ndarray,
    horizon: int,
    predicted: float,
    limits: np.ndarray | None = None,
) -> tuple[float, float]:
    """Too few past forecasts: a band on the remaining sum from the noise around the fitted days.

    With s the spread of the level window's days (as spent, spikes and all) around level x factor,
    the remaining sum varies by h * s^2 (each day's noise) + h^2 * s^2 / window (the level's own
    error).
    """
    level, factors, _, window = _fit(values, weekdays, limits)
    noise = values[-window:] - level * factors[weekdays[-window:]]
    scale = float(np.std(noise, ddof=1)) if window > 1 else 0.0
    spread = _Z80 * scale * float(np.sqrt(horizon + horizon**2 / window))
    return max(0.0, predicted - spread), predicted + spread


def forecast_month(
    daily: pd.Series, as_of: date, *, coverage: float = COVERAGE, robust: bool = True
) -> Forecast:
    """A daily USD series into the forecast of ``as_of``'s month, e.g. $100 a day -> $3,100 (March).

    Only days up to ``as_of`` count (complete days); missing days are 0. Under
    ``MIN_HISTORY_DAYS`` days of history the forecast, band and rate are None. A spike day counts
    in the level at most as a typical day of its weekday (``spike_limits``; listed in
    ``damped``), so a one-day runaway does not become the rest of the month's daily rate.

    :param daily: USD per UTC day, indexed by day; only ``history_window(as_of)`` counts (days
        before the month count only in the level and the band)
    :param as_of: the last complete day
    :param coverage: the band's coverage (0.8: the 10th to 90th percentile)
    :param robust: cap spike days in the level (False: every day counts in full, as before
        issue 19; the backtest compares both)
    """
    first, last = month_bounds(as_of)
    series = complete_series(daily, as_of)
    series = series[series.index >= pd.Timestamp(history_window(as_of)[0])]
    in_month = series.index >= pd.Timestamp(first)
    to_date = float(series[in_month].sum())
    history = len(series)
    if history < MIN_HISTORY_DAYS:
        return Forecast(as_of, first, last, history, False, to_date)
    values = series.to_numpy(dtype="float64")
    weekdays = series.index.day_of_week.to_numpy()
    horizon = (last - as_of).days
    limits = spike_limits(values) if robust else np.full((3, len(values)), np.inf)
    path, level, seasonal = _path(values, weekdays, horizon, limits)
    predicted = float(path.sum())
    low = high = predicted
    band_from = "none"
    if horizon:
        ratios = _residual_ratios(values, weekdays, horizon, limits)
        if len(ratios) >= MIN_RESIDUALS:
            low_ratio, high_ratio = ratio_band(ratios, horizon, coverage)
            low, high = predicted * low_ratio, predicted * high_ratio
            band_from = "backtest"
        else:
            low, high = _noise_band(values, weekdays, horizon, predicted, limits)
            band_from = "noise"
    return Forecast(
        as_of=as_of,
        month_start=first,
        month_end=last,
        history_days=history,
        enough_history=True,
        month_to_date=to_date,
        forecast_usd=to_date + predicted,
        low_usd=to_date + min(low, predicted),
        high_usd=to_date + max(high, predicted),
        daily_rate=level,
        seasonal=seasonal,
        path=tuple(float(v) for v in path),
        band_from=band_from,
        damped=_damped_days(series.index, values, limits),
    )


def _damped_days(
    days: pd.DatetimeIndex, values: np.ndarray, limits: np.ndarray
) -> tuple[date, ...]:
    """The days whose money the level counts at their weekday limit, e.g. (date(2025, 3, 4),)."""
    window = LEVEL_DAYS if len(values) >= SEASONAL_HISTORY_DAYS else MIN_HISTORY_DAYS
    capped = _cleaned(values, limits) < values
    capped[: max(0, len(values) - max(window, SEASON_DAYS))] = False
    return tuple(day.date() for day in days[capped])


def crossing_date(daily: pd.Series, forecast: Forecast, budget_usd: float) -> date | None:
    """A series, its forecast and a budget into the day the month's spend reaches it, or None.

    A budget already reached gives the day it happened; otherwise the first forecast day whose
    running total reaches it; None when neither happens this month (or without a forecast).
    E.g. $100 a day against $1,500 -> the 15th.
    """
    series = complete_series(daily, forecast.as_of)
    month = series[series.index >= pd.Timestamp(forecast.month_start)]
    running = month.cumsum()
    reached = running[running >= budget_usd - 1e-9]
    if len(reached):
        return reached.index[0].date()
    if not forecast.enough_history:
        return None
    ahead = forecast.month_to_date + np.cumsum(forecast.path)
    hits = np.flatnonzero(ahead >= budget_usd - 1e-9)
    return forecast.as_of + timedelta(days=int(hits[0]) + 1) if len(hits) else None


def backtest(daily: pd.Series, month: date, *, robust: bool = True) -> pd.DataFrame:
    """A daily series and a past month into one forecast per day of it against the actual total.

    E.g. March -> rows for as_of = Mar 1 .. Mar 30 (the last day knows the total, so it is left
    out). Columns: ``as_of``, ``day``, ``forecast``, ``low``, ``high``, ``actual``, ``ape``
    (absolute percentage error, as a fraction), ``covered`` (the band held the actual). Days
    without enough history are left out; so is a month whose actual total is 0.

    :param daily: USD per UTC day, covering at least the whole month
    :param month: any day of the month to test
    :param robust: passed to ``forecast_month``
    """
    first, last = month_bounds(month)
    series = complete_series(daily, last)
    actual = float(series[series.index >= pd.Timestamp(first)].sum())
    rows = []
    for offset in range((last - first).days):
        as_of = first + timedelta(days=offset)
        result = forecast_month(series, as_of, robust=robust)
        if not result.enough_history or actual <= 0:
            continue
        rows.append(
            {
                "as_of": as_of,
                "day": as_of.day,
                "forecast": result.forecast_usd,
                "low": result.low_usd,
                "high": result.high_usd,
                "actual": actual,
            }
        )
    frame = pd.DataFrame(rows, columns=["as_of", "day", "forecast", "low", "high", "actual"])
    frame["ape"] = (frame["forecast"] - frame["actual"]).abs() / frame["actual"]
    frame["covered"] = (frame["low"] <= frame["actual"]) & (frame["actual"] <= frame["high"])
    return frame


def backtest_summary(results: pd.DataFrame, *, from_day: int = SCORED_FROM_DAY) -> dict:
    """Backtest rows into the accuracy figures, e.g. ``{"mape": 0.04, "coverage": 0.81, "n": 40}``.

    ``mape`` is the *median* absolute percentage error (as the issue defines it) of forecasts made
    from day ``from_day`` on; ``mean_ape`` the mean of the same; ``coverage`` the share of those
    whose band held the actual total; NaN when there are none.
    """
    scored = results[results["day"] >= from_day]
    if scored.empty:
        return {"mape": float("nan"), "mean_ape": float("nan"), "coverage": float("nan"), "n": 0}
    return {
        "mape": float(scored["ape"].median()),
        "mean_ape": float(scored["ape"].mean()),
        "coverage": float(scored["covered"].mean()),
        "n": len(scored),
    }


def cumulative_frame(daily: pd.Series, forecast: Forecast) -> pd.DataFrame:
    """A month's spend per day and its forecast into cumulative lines for a chart, e.g. days 1-12
    actual ($10 a day) and 13-31 forecast -> ``date, actual, forecast, low, high`` rows.

    ``actual`` runs through ``as_of``; ``forecast`` continues from it along the forecast path to
    the month end, with ``low``/``high`` widening linearly to the band at the month end. Without
    enough history only ``actual`` is filled.
    """
    month = daily[daily.index >= pd.Timestamp(forecast.month_start)]
    month = month[month.index <= pd.Timestamp(forecast.as_of)]
    actual = month.cumsum()
    out = pd.DataFrame({"date": actual.index, "actual": actual.to_numpy(dtype="float64")})
    if not forecast.enough_history or forecast.forecast_usd is None or not forecast.path:
        return out.assign(forecast=np.nan, low=np.nan, high=np.nan)
    start = float(actual.iloc[-1]) if len(actual) else 0.0
    days = pd.date_range(pd.Timestamp(forecast.as_of), pd.Timestamp(forecast.month_end), freq="D")
    path = start + np.concatenate([[0.0], np.cumsum(forecast.path)])[: len(days)]
    step = np.linspace(0.0, 1.0, len(days))
    low = forecast.low_usd if forecast.low_usd is not None else forecast.forecast_usd
    high = forecast.high_usd if forecast.high_usd is not None else forecast.forecast_usd
    ahead = pd.DataFrame(
        {
            "date": days,
            "actual": np.nan,
            "forecast": path,
            "low": path + step * (low - forecast.forecast_usd),
            "high": path + step * (high - forecast.forecast_usd),
        }
    )
    out = out.assign(forecast=np.nan, low=np.nan, high=np.nan)
    return pd.concat([out, ahead], ignore_index=True)
