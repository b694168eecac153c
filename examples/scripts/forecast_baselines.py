"""ARIMA and ETS baselines for the `forecast` example, on exactly its split.

The Rust program (`cargo run -p burn-rnn-examples --bin forecast -- --data FILE`) holds out the
last H points of the series as the test stretch and forecasts them from everything before
(the training part). This script does the same with statsmodels:

- the same series: `date,value` CSV, header optional, empty value = missing; the dates are on a
  regular grid (weekly, monthly, daily, ...), every grid point present in the file;
- the same split: test = the last H points (default: one seasonal period, 52 weekly, 12
  monthly, 7 daily); the models are fitted on the points before and forecast H steps;
- the same scores over the observed test points: MAE, RMSE and MASE, whose scale is the
  in-sample seasonal-naive MAE over the training part (pairs with a missing value skipped);
- the same seasonal-naive forecast (a missing value falls back one more period, then to the
  last observed value), printed as a cross-check of the Rust program's numbers.

Models:
- ARIMA: SARIMAX (p,1,q)(0,1,1)_m (the "airline model" family) with p, q in {0, 1} chosen
  by AIC; the Kalman filter skips missing values. (A seasonal AR term is left out: with
  m = 52 each such fit takes several minutes.)
- ETS: Holt-Winters (ExponentialSmoothing) with additive trend and additive seasonality,
  damped or not by AIC. It cannot skip missing values: for this baseline only, they are
  interpolated linearly before fitting (the scores are still over the observed test points).

    # a Python with statsmodels 0.15.0, e.g. python3 -m venv /tmp/sm && /tmp/sm/bin/pip install statsmodels==0.15.0
    /tmp/sm/bin/python examples/scripts/forecast_baselines.py \
        examples/data/timeseries/co2_weekly_mauna_loa.csv [--horizon 52] [--period 52]
"""
import argparse
import itertools
import json
import math
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.statespace.sarimax import SARIMAX

PERIODS = {'daily': 7, 'weekly': 52, 'monthly': 12}


def read_series(path):
    """The values (NaN when missing) and the frequency name of a `date,value` CSV."""
    frame = pd.read_csv(path, header=None, names=['date', 'value'], dtype=str,
                        keep_default_na=False)
    try:
        float(frame['value'][0])
    except ValueError:
        frame = frame.iloc[1:]  # a header row
    dates = pd.to_datetime(frame['date'].str.strip(), format='mixed')
    values = pd.to_numeric(frame['value'].str.strip().replace('', np.nan)).to_numpy(float)
    days = np.diff(dates.to_numpy()).astype('timedelta64[D]').astype(int)
    step = np.bincount(days).argmax()
    frequency = {1: 'daily', 7: 'weekly'}.get(step, 'monthly' if 28 <= step <= 31 else 'other')
    if not np.all(days == step) and frequency != 'monthly':
        raise SystemExit(f'{path}: this script expects every grid point in the file')
    return values, frequency


def seasonal_naive(train, horizon, period):
    """The seasonal-naive forecast of the `horizon` points after `train`."""
    last = len(train) - 1
    last_observed = train[~np.isnan(train)][-1]
    forecast = []
    for h in range(1, horizon + 1):
        back = period * math.ceil(h / period)
        value = last_observed
        while last + h - back >= 0:
            if not np.isnan(train[last + h - back]):
                value = train[last + h - back]
                break
            back += period
        forecast.append(value)
    return np.array(forecast)


def mase_scale(train, period):
    """In-sample MAE of the seasonal-naive one-period-back forecast, missing pairs skipped."""
    differences = np.abs(train[period:] - train[:-period])
    return np.nanmean(differences)


def scores(truth, forecast, scale):
    observed = ~np.isnan(truth)
    errors = forecast[observed] - truth[observed]
    mae = np.mean(np.abs(errors))
    return {'mae': mae, 'rmse': math.sqrt(np.mean(errors ** 2)), 'mase': mae / scale}


def arima(train, horizon, period):
    best = None
    sp, sq = 0, 1
    for p, q in itertools.product([0, 1], repeat=2):
        start = time.time()
        model = SARIMAX(train, order=(p, 1, q), seasonal_order=(sp, 1, sq, period))
        fit = model.fit(disp=False)
        print(f'  SARIMAX({p},1,{q})({sp},1,{sq})_{period}: AIC {fit.aic:.1f} '
              f'({time.time() - start:.0f} s)', flush=True)
        if best is None or fit.aic < best[0]:
            best = (fit.aic, f'SARIMAX({p},1,{q})({sp},1,{sq})_{period}', fit)
    return best[1], best[2].forecast(horizon)


def ets(train, horizon, period):
    filled = pd.Series(train).interpolate(limit_direction='both').to_numpy()
    best = None
    for damped in [False, True]:
        fit = ExponentialSmoothing(filled, trend='add', damped_trend=damped, seasonal='add',
                                   seasonal_periods=period).fit()
        print(f'  ETS(A,{"Ad" if damped else "A"},A): AIC {fit.aic:.1f}', flush=True)
        if best is None or fit.aic < best[0]:
            best = (fit.aic, f'ETS(A,{"Ad" if damped else "A"},A)', fit)
    return best[1], best[2].forecast(horizon)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data')
    parser.add_argument('--horizon', type=int, help='default: one seasonal period')
    parser.add_argument('--period', type=int, help='default: from the frequency')
    parser.add_argument('--json', help='write the scores to this file')
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    values, frequency = read_series(args.data)
    period = args.period or PERIODS.get(frequency, 1)
    horizon = args.horizon or period
    train, test = values[:-horizon], values[-horizon:]
    scale = mase_scale(train, period)
    print(f'{args.data}: {len(values)} {frequency} points ({np.isnan(values).sum()} missing), '
          f'period {period}, test = the last {horizon}, MASE scale {scale:.4f}')
    results = {'seasonal naive': scores(test, seasonal_naive(train, horizon, period), scale)}
    for fit in [arima, ets]:
        name, forecast = fit(train, horizon, period)
        results[name] = scores(test, np.asarray(forecast), scale)
    print(f'{"model":<28} {"MAE":>8} {"RMSE":>8} {"MASE":>8}')
    for name, s in results.items():
        print(f'{name:<28} {s["mae"]:8.4f} {s["rmse"]:8.4f} {s["mase"]:8.4f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
