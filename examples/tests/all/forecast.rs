//! The forecasting example's parts: reading series, dates and frequencies, the split and its
//! windows (nothing of the test stretch leaks into training), the seasonal-naive baseline,
//! Holt-Winters smoothing, MASE, the masked loss, and the ensemble's seeds and mean. Expected
//! values are worked out by hand.

use burn::nn::{Initializer, LinearConfig};
use burn::tensor::{Device, Tensor};
use burn_rnn_examples::forecast::date::Date;
use burn_rnn_examples::forecast::ensemble::{mean_output, member_dir, member_seeds};
use burn_rnn_examples::forecast::frequency::Frequency;
use burn_rnn_examples::forecast::holdout::Holdout;
use burn_rnn_examples::forecast::model::{ForecastModel, masked_mean_squared_error};
use burn_rnn_examples::forecast::naive::{seasonal_naive, seasonal_naive_scale};
use burn_rnn_examples::forecast::scores::Scores;
use burn_rnn_examples::forecast::series::{self, Series};
use burn_rnn_examples::forecast::smoothing::{HoltWinters, PHI_MIN};
use burn_rnn_examples::forecast::windows::{Base, BaseKind, Encoding, FEATURES};
use rnn_tasks::{InputConfig, RecurrentConfig, SequenceClassifierConfig};

fn date(year: i32, month: u32, day: u32) -> Date {
    Date::new(year, month, day).unwrap()
}

fn parse(text: &str) -> Result<Series, String> {
    series::parse(text, "f.csv")
}

#[test]
fn shipped_series_have_their_documented_sizes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/timeseries/");
    let co2 = series::read(format!("{dir}co2_weekly_mauna_loa.csv").as_ref()).unwrap();
    assert_eq!(co2.frequency, Frequency::Days(7));
    assert_eq!((co2.len(), co2.start), (2284, date(1958, 3, 29)));
    assert_eq!(co2.values.iter().filter(|v| v.is_none()).count(), 59);
    assert_eq!(co2.values[0], Some(316.1));
    let elec = series::read(format!("{dir}elec_equip_monthly_eu.csv").as_ref()).unwrap();
    assert_eq!(elec.frequency, Frequency::Months(1));
    assert_eq!((elec.len(), elec.date(256)), (257, date(2016, 5, 1)));
    assert!(elec.values.iter().all(Option::is_some));
}

#[test]
fn csv_reads_with_or_without_header_and_keeps_missing_values() {
    let with = parse("date,value\n2020-01-01,1\n2020-01-08,\n2020-01-15,3\n").unwrap();
    let without = parse("20200101,1\n\n20200108,NA\n\"20200115\", 3.0\n").unwrap();
    assert_eq!(with, without);
    // A header of other characters than ASCII is a header too.
    assert_eq!(
        parse("Período,Valor\n2020-01-01,1\n2020-01-08,\n2020-01-15,3\n"),
        Ok(with.clone())
    );
    assert_eq!(with.frequency, Frequency::Days(7));
    assert_eq!(with.values, [Some(1.0), None, Some(3.0)]);
    // A week absent from the file is a missing point too.
    let gap = parse("2020-01-01,1\n2020-01-15,3\n2020-01-22,4\n").unwrap();
    assert_eq!(gap.values, [Some(1.0), None, Some(3.0), Some(4.0)]);
    assert_eq!(gap.date(1), date(2020, 1, 8));
}

#[test]
fn csv_errors_name_the_line_and_column() {
    let error = parse("date,value\n2020-01-01,1\n2020-01-08,abc\n").unwrap_err();
    assert!(
        error.starts_with("f.csv:3 column 2 (value): expected a finite number")
            && error.ends_with("got \"abc\""),
        "{error}"
    );
    let error = parse("date,value\n2020-01-01,1\n2020-13-08,2\n").unwrap_err();
    assert!(
        error.starts_with("f.csv:3 column 1 (date): expected a date")
            && error.contains("2020-13-08"),
        "{error}"
    );
    let error = parse("2020-01-01,1\n2020-01-08,inf\n").unwrap_err();
    assert!(error.starts_with("f.csv:2 column 2 (value)"), "{error}");
    let error = parse("2020-01-01,1,2\n").unwrap_err();
    assert!(
        error.contains("f.csv:1: expected 2 comma-separated columns (date,value), got 3"),
        "{error}"
    );
    for empty in ["", "\n \n", "date,value\n"] {
        let error = parse(empty).unwrap_err();
        assert!(
            error.contains("got none (an empty file or a header only)"),
            "{error}"
        );
    }
    let error = parse("2020-01-01,1\n").unwrap_err();
    assert!(error.contains("at least 2 dated rows, got 1"), "{error}");
    let error = parse("2020-01-08,1\n2020-01-01,2\n").unwrap_err();
    assert!(
        error.contains(
            "f.csv:2: expected dates in increasing order, got 2020-01-01 after 2020-01-08"
        ),
        "{error}"
    );
    let error = parse("2020-01-01,1\n2020-01-08,2\n2020-01-15,3\n2020-01-18,4\n").unwrap_err();
    assert!(
        error.contains("f.csv:4: expected a date on the weekly grid that starts at 2020-01-01"),
        "{error}"
    );
}

#[test]
fn dates_parse_count_days_and_add_months() {
    for text in ["2000-03-01", "2000/03/01", "20000301", "2000-03"] {
        assert_eq!(Date::parse(text), Some(date(2000, 3, 1)), "{text}");
    }
    for bad in [
        "2021-02-29",
        "2000-3-1x",
        "200003",
        "99-01-01",
        "",
        "2000-00-10",
        "Período",
        "202é031",
    ] {
        assert_eq!(Date::parse(bad), None, "{bad}");
    }
    assert_eq!(date(1970, 1, 1).days(), 0);
    assert_eq!(date(2000, 1, 1).days(), 10_957);
    assert_eq!(date(1969, 12, 31).days(), -1);
    for days in -800_000..800_000i64 {
        if days % 997 == 0 {
            assert_eq!(Date::from_days(days).days(), days);
        }
    }
    assert_eq!(date(2020, 1, 31).add_months(1), date(2020, 2, 29));
    assert_eq!(date(2019, 11, 30).add_months(3), date(2020, 2, 29));
    assert_eq!(date(2020, 3, 15).add_months(-3), date(2019, 12, 15));
    assert_eq!(date(2001, 12, 29).to_string(), "2001-12-29");
}

#[test]
fn frequency_is_inferred_from_the_most_common_gap() {
    let dates = |days: &[i64]| -> Vec<Date> {
        days.iter()
            .map(|&d| Date::from_days(date(2020, 1, 1).days() + d))
            .collect()
    };
    let cases = [
        (dates(&[0, 1, 2, 4]), Frequency::Days(1), 7, "daily"),
        (dates(&[0, 7, 21, 28]), Frequency::Days(7), 52, "weekly"),
        (dates(&[0, 3, 6, 9]), Frequency::Days(3), 1, "every 3 days"),
    ];
    for (dates, frequency, period, name) in cases {
        assert_eq!(Frequency::infer(&dates), Some(frequency), "{name}");
        assert_eq!(
            (frequency.period(), frequency.to_string().as_str()),
            (period, name)
        );
    }
    let months = |step: i64| -> Vec<Date> {
        (0..4)
            .map(|i| date(2019, 1, 31).add_months(step * i))
            .collect()
    };
    for (step, frequency, period) in [
        (1, Frequency::Months(1), 12),
        (3, Frequency::Months(3), 4),
        (12, Frequency::Months(12), 1),
    ] {
        assert_eq!(
            Frequency::infer(&months(step)),
            Some(frequency),
            "{step} months"
        );
        assert_eq!(frequency.period(), period);
    }
    // Month ends are one monthly grid: 31 January, 29 February, 31 March.
    let month_ends = parse("2020-01-31,1\n2020-02-29,2\n2020-03-31,3\n").unwrap();
    assert_eq!(month_ends.frequency, Frequency::Months(1));
    assert_eq!(month_ends.date(3), date(2020, 4, 30));
    assert_eq!(Frequency::infer(&[date(2020, 1, 1)]), None);
}

#[test]
fn seasonal_naive_repeats_the_last_season_and_falls_back_past_missing_values() {
    let observed =
        |values: &[f64]| -> Vec<Option<f64>> { values.iter().map(|&v| Some(v)).collect() };
    let history = observed(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(
        seasonal_naive(&history, 4, 3),
        Some(vec![4.0, 5.0, 6.0, 4.0])
    );
    assert_eq!(seasonal_naive(&history, 2, 1), Some(vec![6.0, 6.0]));
    // y[3] is missing: one more period back, y[0].
    let history = [Some(1.0), Some(2.0), Some(3.0), None, Some(5.0), Some(6.0)];
    assert_eq!(seasonal_naive(&history, 2, 3), Some(vec![1.0, 5.0]));
    assert_eq!(
        seasonal_naive(&[Some(1.0), Some(2.0), None], 2, 1),
        Some(vec![2.0, 2.0])
    );
    // No observed value a whole number of periods back: the last observed value.
    assert_eq!(
        seasonal_naive(&[None, None, Some(3.0)], 1, 2),
        Some(vec![3.0])
    );
    assert_eq!(seasonal_naive(&[None, None], 1, 1), None);
}

#[test]
fn holt_winters_follows_its_equations_worked_by_hand() {
    // Period 2, every parameter 0.5. Start: the pair one period apart (1, 4) gives the trend
    // (4 - 1) / 2 = 1.5 (the pair (3, missing) is skipped); the trend line through the first
    // period's mean 2 at its middle (t = 0.5) gives the offsets 1 - 1.25 = -0.25 and
    // 3 - 2.75 = 0.25 and the level 2.75 at t = 1. t = 2: forecast 2.75 + 0.75 - 0.25, value
    // 4: level 0.5 (4 + 0.25) + 0.5 (2.75 + 0.75) = 3.875, offset 0.5 (4 - 3.5) + 0.5 (-0.25)
    // = 0.125, trend 0.5 (3.875 - 2.75) + 0.5 (0.75) = 0.9375. t = 3 is missing: level
    // 3.875 + 0.46875, trend 0.46875. t = 4, value 8: level 0.5 (8 - 0.125) + 0.5 (4.34375 +
    // 0.234375) = 6.2265625, offset 0.5 (8 - 4.578125) + 0.5 (0.125) = 1.7734375, trend
    // 0.5 (6.2265625 - 4.34375) + 0.5 (0.234375) = 1.05859375. Forecasts: 6.2265625 + 0.5
    // (1.05859375) + 0.25 and 6.2265625 + 0.75 (1.05859375) + 1.7734375.
    let smoothing = HoltWinters {
        alpha: 0.5,
        beta: 0.5,
        gamma: 0.5,
        phi: 0.5,
    };
    let values = [Some(1.0), Some(3.0), Some(4.0), None, Some(8.0)];
    assert_eq!(
        smoothing.forecast(&values, 2, 2),
        Some(vec![7.005859375, 8.7939453125])
    );
    // A missing value in the first period: its offset starts at 0, the trend comes from the
    // other pair ((6 - 3) / 2 = 1.5), the line through the one observed value 3 at t = 1
    // (level 3, offset 0). t = 2, value 4 against 3 + 0.75 + 0: level 0.5 (4) + 0.5 (3.75) =
    // 3.875, offset 0.5 (4 - 3.75) = 0.125, trend 0.5 (0.875) + 0.5 (0.75) = 0.8125. t = 3,
    // value 6 against 3.875 + 0.40625 + 0: level 0.5 (6) + 0.5 (4.28125) = 5.140625, offset
    // 0.5 (6 - 4.28125) = 0.859375, trend 0.5 (1.265625) + 0.5 (0.40625) = 0.8359375. t = 4,
    // value 5 against 5.140625 + 0.41796875 + 0.125: level 0.5 (4.875) + 0.5 (5.55859375) =
    // 5.216796875, offset 0.5 (5 - 5.55859375) + 0.5 (0.125) = -0.216796875, trend 0.5
    // (0.076171875) + 0.5 (0.41796875) = 0.2470703125.
    let late = [None, Some(3.0), Some(4.0), Some(6.0), Some(5.0)];
    assert_eq!(
        smoothing.forecast(&late, 2, 2),
        Some(vec![
            5.216796875 + 0.5 * 0.2470703125 + 0.859375,
            5.216796875 + 0.75 * 0.2470703125 - 0.216796875
        ])
    );
    assert_eq!(smoothing.forecast(&[None, None, Some(1.0)], 2, 1), None);
}

#[test]
fn holt_winters_continues_an_exact_trend_and_season_and_its_fit_minimises_the_error() {
    // A linear trend plus a season that sums to 0, one point missing: with an undamped trend
    // every one-step forecast is exact, so the state never moves off the series, whatever the
    // smoothing; the fitted parameters find such a forecast too.
    let exact = |t: usize| 10.0 + 0.5 * t as f64 + [1.0, -2.0, 3.0, -2.0][t % 4];
    let mut values: Vec<Option<f64>> = (0..20).map(|t| Some(exact(t))).collect();
    values[9] = None;
    let continuation: Vec<f64> = (20..26).map(exact).collect();
    let undamped = HoltWinters {
        alpha: 0.3,
        beta: 0.2,
        gamma: 0.4,
        phi: 1.0,
    };
    for smoothing in [undamped, HoltWinters::fit(&values, 4).unwrap()] {
        let forecast = smoothing.forecast(&values, 4, 6).unwrap();
        for (h, (f, e)) in forecast.iter().zip(&continuation).enumerate() {
            assert!(
                (f - e).abs() < 1e-9,
                "{smoothing:?} step {h}: {f} against {e}"
            );
        }
    }
    // A damped trend falls behind it.
    let damped = HoltWinters {
        phi: 0.9,
        ..undamped
    };
    assert!(damped.forecast(&values, 4, 6).unwrap()[5] < continuation[5] - 0.1);

    // On a noisy series the fit's one-step error is below that of other parameters, and its
    // parameters are in range.
    let noisy: Vec<Option<f64>> = (0..60)
        .map(|t| Some(exact(t) + [0.7, -0.4, 0.1, 0.9, -0.8, -0.3, 0.5][t % 7]))
        .collect();
    let fitted = HoltWinters::fit(&noisy, 4).unwrap();
    for p in [fitted.alpha, fitted.beta, fitted.gamma] {
        assert!((0.0..=1.0).contains(&p), "{fitted:?}");
    }
    assert!((PHI_MIN..=1.0).contains(&fitted.phi), "{fitted:?}");
    let best = fitted.one_step_mse(&noisy, 4).unwrap();
    for other in [
        undamped,
        damped,
        HoltWinters {
            gamma: 0.0,
            ..undamped
        },
    ] {
        assert!(best < other.one_step_mse(&noisy, 4).unwrap(), "{other:?}");
    }
    // The search goes below the coarse grid it starts from: no point of a grid 10 times finer
    // in the level's and the season's smoothing is better.
    for a in 0..=100 {
        for g in 0..=100 {
            let finer = HoltWinters {
                alpha: f64::from(a) / 100.0,
                beta: fitted.beta,
                gamma: f64::from(g) / 100.0,
                phi: fitted.phi,
            };
            assert!(
                best <= finer.one_step_mse(&noisy, 4).unwrap() + 1e-12,
                "{finer:?} against {fitted:?}"
            );
        }
    }
    // Nothing observed in the first period, or after it: nothing to fit.
    let error = HoltWinters::fit(&[None, None, Some(1.0), Some(2.0)], 2).unwrap_err();
    assert!(
        error.starts_with("expected an observed value among the first 2 points"),
        "{error}"
    );
    let error = HoltWinters::fit(&[Some(1.0), Some(2.0), None], 2).unwrap_err();
    assert!(
        error.starts_with("expected an observed value after the first 2 points"),
        "{error}"
    );
}

#[test]
fn mase_scale_and_scores_skip_missing_values() {
    let values = [Some(1.0), Some(2.0), Some(4.0), None, Some(5.0)];
    // Period 1: |2-1|, |4-2| (the pairs with the missing value skipped) → 1.5.
    assert_eq!(seasonal_naive_scale(&values, 1), Some(1.5));
    // Period 2: |4-1|, |5-4| → 2.
    assert_eq!(seasonal_naive_scale(&values, 2), Some(2.0));
    assert_eq!(seasonal_naive_scale(&values, 5), None);

    let scores = Scores::of(&[Some(1.0), None, Some(3.0)], &[2.0, 100.0, 1.0], 2.0).unwrap();
    // Errors 1 and -2.
    assert_eq!(scores.mae, 1.5);
    assert!((scores.rmse - 2.5f64.sqrt()).abs() < 1e-12);
    assert_eq!(scores.mase, 0.75);
    assert_eq!(Scores::of(&[None], &[1.0], 1.0), None);
}

#[test]
fn masked_loss_ignores_masked_targets() {
    let device = Device::default();
    let predictions = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
    let targets = Tensor::<2>::from_floats([[0.0, 0.0], [0.0, 100.0]], &device);
    let mask = Tensor::<2>::from_floats([[1.0, 1.0], [1.0, 0.0]], &device);
    let loss: f32 = masked_mean_squared_error(predictions, targets, mask).into_scalar();
    // (1 + 4 + 9) / 3.
    assert!((loss - 14.0 / 3.0).abs() < 1e-5, "{loss}");
}

#[test]
fn the_highway_adds_a_linear_map_of_the_window_values_and_starts_at_zero() {
    let device = Device::default();
    let config =
        SequenceClassifierConfig::new(InputConfig::features(FEATURES), RecurrentConfig::new(4), 3);
    let mut model = ForecastModel::init(&config, Some(2), &device).unwrap();
    // Two windows of two points: values, then missing flags (which the highway must not read).
    let inputs = Tensor::<3>::from_floats(
        [[[1.0, 0.0], [2.0, 1.0]], [[-1.0, 1.0], [0.5, 0.0]]],
        &device,
    );
    let network: Vec<f32> = model
        .regressor
        .forward(inputs.clone(), None)
        .logits
        .into_data()
        .try_to_vec()
        .unwrap();
    let at_start: Vec<f32> = model
        .forecast(inputs.clone())
        .into_data()
        .try_to_vec()
        .unwrap();
    assert_eq!(at_start, network, "a highway of zeros adds nothing");

    model.highway = Some(
        LinearConfig::new(2, 3)
            .with_initializer(Initializer::Constant { value: 0.5 })
            .init(&device),
    );
    let forecast: Vec<f32> = model.forecast(inputs).into_data().try_to_vec().unwrap();
    // Each output adds 0.5 × (the window's values summed) + a bias of 0.5: 2 and 0.25.
    for (k, (f, n)) in forecast.iter().zip(&network).enumerate() {
        let expected = n + if k < 3 { 2.0 } else { 0.25 };
        assert!(
            (f - expected).abs() < 1e-5,
            "output {k}: {f} against {expected}"
        );
    }
    assert!(
        ForecastModel::init(&config, None, &device)
            .unwrap()
            .highway
            .is_none()
    );
}

#[test]
fn ensemble_members_have_consecutive_seeds_and_their_outputs_are_averaged() {
    assert_eq!(member_seeds(42, 3), [42, 43, 44]);
    assert_eq!(member_seeds(7, 1), [7]);
    assert_eq!(
        member_seeds(u64::MAX, 2),
        [u64::MAX, 0],
        "wraps, no overflow"
    );
    assert_eq!(
        member_dir(std::path::Path::new("runs/f"), 43),
        std::path::Path::new("runs/f/seed-43")
    );

    let device = Device::default();
    let outputs = vec![
        Tensor::<2>::from_floats([[1.0, -2.0], [0.5, 4.0]], &device),
        Tensor::<2>::from_floats([[3.0, 2.0], [0.5, -1.0]], &device),
        Tensor::<2>::from_floats([[2.0, 3.0], [2.0, 0.0]], &device),
    ];
    let mean: Vec<f32> = mean_output(outputs)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    assert_eq!(mean, [2.0, 1.0, 1.0, 1.0]);
    assert!(mean_output(Vec::new()).is_none());
}

#[test]
fn a_series_shorter_than_the_split_needs_is_an_error() {
    let error = Holdout::new(10, 4, 3).unwrap_err();
    assert_eq!(
        error,
        "expected a series of at least 11 points (a window of 4, a training target, 3 \
         validation and 3 test points), got 10"
    );
    // Flags as large as they go are errors too, not overflows.
    assert_eq!(
        Holdout::new(10, usize::MAX, usize::MAX).unwrap_err(),
        format!(
            "expected a series of at least {max} points (a window of {max}, a training \
             target, {max} validation and {max} test points), got 10",
            max = usize::MAX
        )
    );
    let holdout = Holdout::new(11, 4, 3).unwrap();
    assert_eq!((holdout.valid_start(), holdout.test_start()), (5, 8));
    assert_eq!(holdout.train_origins(), 3..4);
    assert_eq!(holdout.valid_origins(), 4..7);
    assert_eq!(holdout.test_origin(), 7);
}

/// A scale the inputs cannot be divided by is none: a constant series, or one whose
/// differences overflow (`inf`, which would make every input NaN).
#[test]
fn a_scale_that_is_zero_or_not_finite_is_none() {
    let holdout = Holdout::new(11, 4, 3).unwrap();
    let constant = vec![Some(1.0); 11];
    assert_eq!(holdout.scale(&constant, 1), None);
    let huge: Vec<Option<f64>> = (0..11)
        .map(|i| Some(f64::MAX * [1.0, -1.0][i % 2]))
        .collect();
    assert_eq!(holdout.scale(&huge, 1), None);
    let fine: Vec<Option<f64>> = (0..11).map(|i| Some(i as f64)).collect();
    assert_eq!(holdout.scale(&fine, 1), Some(1.0));
}

/// A seasonal series with a trend and a few missing values.
fn series_values(len: usize) -> Vec<Option<f64>> {
    (0..len)
        .map(|i| (i % 11 != 5).then(|| i as f64 * 0.1 + [0.0, 2.0, 1.0, -1.0][i % 4]))
        .collect()
}

#[test]
fn nothing_of_the_test_stretch_reaches_training_validation_or_the_scale() {
    let (window, horizon, period) = (8, 4, 4);
    let values = series_values(40);
    let holdout = Holdout::new(values.len(), window, horizon).unwrap();
    let scale = holdout.scale(&values, period).unwrap();
    let base = |values: &[Option<f64>]| {
        Base::fit(BaseKind::HoltWinters, values, &holdout, period).unwrap()
    };
    let smoothing = base(&values);
    // Other validation and test values change nothing of the fitted base; other training
    // values do.
    let mut later = values.clone();
    for value in &mut later[holdout.valid_start()..] {
        *value = value.map(|v| -3.0 * v);
    }
    assert_eq!(base(&later), smoothing);
    let mut earlier = values.clone();
    earlier[holdout.valid_start() - 1] = Some(-50.0);
    assert_ne!(base(&earlier), smoothing);
    for base in [Base::SeasonalNaive, smoothing] {
        let encoding = Encoding {
            scale,
            period,
            horizon,
            base,
        };
        windows_do_not_see_later_stretches(&encoding, &values, &holdout);
    }
}

fn windows_do_not_see_later_stretches(
    encoding: &Encoding,
    values: &[Option<f64>],
    holdout: &Holdout,
) {
    let (scale, period) = (encoding.scale, encoding.period);
    let [train, valid] = encoding.split_windows(values, holdout);
    assert!(!train.is_empty() && !valid.is_empty());

    // Other test values (or none at all) change neither the scale nor a window.
    let mut changed = values.to_vec();
    for value in &mut changed[holdout.test_start()..] {
        *value = value.map(|v| v * 1e6);
    }
    changed[holdout.test_start()] = None;
    assert_eq!(holdout.scale(&changed, period), Some(scale));
    assert_eq!(
        encoding.split_windows(&changed, holdout),
        [train.clone(), valid]
    );

    // Other validation values change no training window.
    for value in &mut changed[holdout.valid_start()..holdout.test_start()] {
        *value = Some(-1e6);
    }
    let [changed_train, _] = encoding.split_windows(&changed, holdout);
    assert_eq!(changed_train, train);
}

#[test]
fn targets_decode_back_to_the_observed_values_and_missing_ones_are_masked() {
    let (window, horizon, period) = (8, 4, 4);
    let values = series_values(40);
    let encoding = Encoding {
        scale: 0.5,
        period,
        horizon,
        base: Base::SeasonalNaive,
    };
    // The window ending at 12 predicts points 13..=16; point 16 is missing (16 % 11 == 5).
    let item = encoding.item(&values, 12, window, values.len()).unwrap();
    assert_eq!(item.mask, [1.0, 1.0, 1.0, 0.0]);
    assert_eq!(item.inputs.len(), window * 2);
    // Point 5 (missing) is the window's first point: value 0, flag 1; point 6 is observed.
    assert_eq!(&item.inputs[0..2], [0.0, 1.0]);
    assert_eq!(item.inputs[3], 0.0);
    let baseline = encoding.encode(&values[..=12], window).unwrap().baseline;
    let decoded = encoding.decode(&item.targets, &baseline);
    for h in 0..3 {
        assert!((decoded[h] - values[13 + h].unwrap()).abs() < 1e-5, "{h}");
    }
    // Targets past the visible end are masked as well.
    let item = encoding.item(&values, 12, window, 15).unwrap();
    assert_eq!(item.mask, [1.0, 1.0, 0.0, 0.0]);
}
