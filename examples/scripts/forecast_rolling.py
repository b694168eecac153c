"""Rolling-origin evaluation of the `forecast` example against the statsmodels baselines.

The example scores one test stretch, the series' last `H` points, and one stretch of a
volatile series says little: this script repeats the example's whole protocol (split,
training, early stopping, test) at several forecast origins, each time on the series cut
`k * H` points before its end (k = 0, 1, ..., ORIGINS - 1; k = 0 is the example's own test),
so that every run's test stretch is a different year that neither the network nor the
baselines saw. For each origin it runs the Rust program once per seed (an ensemble from
that seed, `--seed S`, with any extra arguments after `--`) and the statsmodels baselines of
`forecast_baselines.py` on the same cut, and prints the MAEs side by side with their means
over the origins.

    python examples/scripts/forecast_rolling.py \\
        examples/data/timeseries/elec_equip_monthly_eu.csv \\
        --forecast target/release/forecast --origins 6 --seeds 42 1 100 [-- --highway]

The column `mean ÷ best*` is the networks' mean MAE over the seeds divided by the better
baseline's of that origin; its last row is the mean of those ratios, not the ratio of the
means.
The baselines need statsmodels (see `forecast_baselines.py`); `--no-baselines` skips them.
The cut drops the file's last rows, so the file must list every date of its grid (a missing
value as an empty field, as in the shipped files). `--horizon` and `--period` are passed on
to the binary: do not repeat them after `--`.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def cut_file(path, points, directory):
    """A copy of the CSV `path` without its last `points` data rows (header kept)."""
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    if points:
        lines = lines[:-points]
    cut = os.path.join(directory, f'cut-{points}.csv')
    with open(cut, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return cut


def network_maes(binary, data, seed, extra, out):
    """The test MAEs that `binary` reports after training on `data` from `seed`: the
    ensemble's (`model`), the seasonal-naive forecast's and, with `--base holt-winters`,
    the base forecast's alone."""
    command = [binary, '--data', data, '--out', out, '--seed', str(seed), *extra]
    if subprocess.run(command, stdout=subprocess.DEVNULL).returncode != 0:
        raise SystemExit(f'{" ".join(command)} failed (its error is above)')
    with open(os.path.join(out, 'test.json')) as f:
        scores = dict(json.load(f)['scores'])
    return {name: s['mae'] for name, s in scores.items()}


def baseline_maes(data, horizon, period):
    """The MAEs of the statsmodels baselines on `data` (see `forecast_baselines.py`)."""
    import contextlib
    import io

    import numpy as np

    import forecast_baselines as fb
    values, frequency = fb.read_series(data)
    period = period or fb.PERIODS.get(frequency, 1)
    horizon = horizon or period
    train, test = values[:-horizon], values[-horizon:]
    scale = fb.mase_scale(train, period)
    maes = {}
    for fit in [fb.arima, fb.ets]:
        with contextlib.redirect_stdout(io.StringIO()):
            name, forecast = fit(train, horizon, period)
        maes[name.split('(')[0]] = fb.scores(test, np.asarray(forecast), scale)['mae']
    return maes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data')
    parser.add_argument('--forecast', required=True, help="the example's binary")
    parser.add_argument('--origins', type=int, default=6)
    parser.add_argument('--seeds', type=int, nargs='+', default=[42])
    parser.add_argument('--horizon', type=int, required=True,
                        help='points per test stretch (the example\'s --horizon: 52 weekly, '
                             '12 monthly by default)')
    parser.add_argument('--period', type=int, help='default: from the frequency')
    parser.add_argument('--no-baselines', action='store_true')
    argv = sys.argv[1:]
    split = argv.index('--') if '--' in argv else len(argv)
    args = parser.parse_args(argv[:split])
    warnings.simplefilter('ignore')
    extra = argv[split + 1:]  # the binary's arguments
    if args.origins < 1 or args.horizon < 1:
        parser.error(f'expected --origins and --horizon of at least 1, got {args.origins} '
                     f'and {args.horizon}')
    if args.period:
        extra += ['--period', str(args.period)]
    extra += ['--horizon', str(args.horizon)]
    smoothing = any(a.startswith('--base') for a in extra) and 'seasonal-naive' not in extra \
        and '--base=seasonal-naive' not in extra
    columns = ['origin', 'naive'] + (['base'] if smoothing else []) \
        + [f'seed {s}' for s in args.seeds] + ['mean']
    if not args.no_baselines:
        columns += ['SARIMAX', 'ETS', 'mean ÷ best*']
    print(' '.join(f'{c:>11}' for c in columns), flush=True)
    totals = {}
    with tempfile.TemporaryDirectory() as directory:
        for k in range(args.origins):
            data = cut_file(args.data, k * args.horizon, directory)
            row = {'origin': f'-{k * args.horizon}'}
            maes = []
            for seed in args.seeds:
                maes_of = network_maes(args.forecast, data, seed, extra,
                                       os.path.join(directory, 'run'))
                row[f'seed {seed}'], row['naive'] = maes_of['model'], maes_of['seasonal naive']
                if 'holt-winters' in maes_of:
                    row['base'] = maes_of['holt-winters']
                maes.append(maes_of['model'])
            row['mean'] = sum(maes) / len(maes)
            if not args.no_baselines:
                baselines = baseline_maes(data, args.horizon, args.period)
                row.update(baselines)
                row['mean ÷ best*'] = row['mean'] / min(baselines.values())
            for column, value in row.items():
                if column != 'origin':
                    totals[column] = totals.get(column, 0.0) + value
            print(' '.join(f'{row.get(c, math.nan):>11.4f}' if c != 'origin' else f'{row[c]:>11}'
                           for c in columns), flush=True)
    print(' '.join(['       mean'] + [f'{totals.get(c, math.nan) / args.origins:>11.4f}'
                                      for c in columns[1:]]))


if __name__ == '__main__':
    main()
