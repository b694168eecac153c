//! The flag parsers: bad values are rejected with the expected and the actual value.

use std::time::Duration;

use burn_rnn_examples::cli::{
    parse_decay, parse_dropout, parse_minutes, parse_positive, parse_probability,
};

#[test]
fn counts_are_at_least_one() {
    assert_eq!(parse_positive("1"), Ok(1));
    assert_eq!(parse_positive("12"), Ok(12));
    for bad in ["0", "-1", "2.5", "five", ""] {
        assert_eq!(
            parse_positive(bad),
            Err(format!("expected an integer of at least 1, got {bad}"))
        );
    }
}

#[test]
fn minutes_are_finite_positive_and_fit_a_duration() {
    assert_eq!(parse_minutes("30"), Ok(Duration::from_secs(1800)));
    assert_eq!(parse_minutes("0.5"), Ok(Duration::from_secs(30)));
    for bad in ["inf", "-inf", "NaN", "0", "-2", "soon"] {
        assert_eq!(
            parse_minutes(bad),
            Err(format!(
                "expected a positive, finite number of minutes, got {bad}"
            ))
        );
    }
    // Finite, but more seconds than a Duration holds: Duration::from_secs_f64 would panic.
    assert_eq!(
        parse_minutes("1e300"),
        Err(
            "expected a positive, finite number of minutes that fits a time span, got 1e300"
                .to_string()
        )
    );
}

#[test]
fn probabilities_and_dropout_rates_are_in_range() {
    assert_eq!(parse_probability("0"), Ok(0.0));
    assert_eq!(parse_probability("1"), Ok(1.0));
    assert_eq!(parse_dropout("0.3"), Ok(0.3));
    for bad in ["1.5", "-0.1", "NaN", "x"] {
        assert_eq!(
            parse_probability(bad),
            Err(format!("expected a value in [0, 1], got {bad}"))
        );
    }
    for bad in ["1", "1.5", "-0.1", "NaN", "inf"] {
        assert_eq!(
            parse_dropout(bad),
            Err(format!("expected a value in [0, 1), got {bad}"))
        );
    }
}

#[test]
fn decay_factors_are_in_zero_to_one() {
    assert_eq!(parse_decay("0.95"), Ok(0.95));
    assert_eq!(parse_decay("1"), Ok(1.0));
    for bad in ["0", "1.5", "-0.5", "NaN", "inf", "x"] {
        assert_eq!(
            parse_decay(bad),
            Err(format!("expected a value in (0, 1], got {bad}"))
        );
    }
}
