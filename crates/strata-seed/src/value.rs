//! Generated values and their encoding as COPY text.

use std::fmt::Write as _;

/// Microseconds in a day.
pub(crate) const DAY_US: i64 = 86_400 * 1_000_000;

/// One generated value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `units / 10^scale`.
    Decimal {
        units: i128,
        scale: u32,
    },
    Text(String),
    /// Microseconds since 1970-01-01 00:00 UTC, printed with `+00`.
    TimestampTz(i64),
    /// Microseconds since 1970-01-01 00:00, no zone.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// Microseconds since midnight.
    Time(i64),
    Uuid(u128),
    Array(Vec<Value>),
}

impl Value {
    /// The value on a number line, for CHECK comparisons between columns
    /// and bounds.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "comparisons of test data, not arithmetic"
        )]
        match self {
            Value::Int(v)
            | Value::TimestampTz(v)
            | Value::Timestamp(v)
            | Value::Date(v)
            | Value::Time(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            Value::Decimal { units, scale } => {
                Some(*units as f64 / 10f64.powi(i32::try_from(*scale).unwrap_or(0)))
            }
            _ => None,
        }
    }

    /// The same kind of value moved to `target` on the number line, plus
    /// one step of the value's own unit (so that `>` holds).
    pub(crate) fn moved_past(&self, target: &Value, step_up: bool) -> Option<Value> {
        let delta = if step_up { 1 } else { -1 };
        Some(match (self, target) {
            (Value::Int(_), Value::Int(t)) => Value::Int(t.checked_add(delta)?),
            (Value::TimestampTz(_), Value::TimestampTz(t)) => {
                Value::TimestampTz(t + delta * 3_600_000_000)
            }
            (Value::Timestamp(_), Value::Timestamp(t)) => {
                Value::Timestamp(t + delta * 3_600_000_000)
            }
            (Value::Date(_), Value::Date(t)) => Value::Date(t + delta),
            (Value::Time(_), Value::Time(t)) => Value::Time(t + delta * 1_000_000),
            (Value::Float(_), Value::Float(t)) => {
                Value::Float(t + f64::from(i32::try_from(delta).unwrap_or(0)))
            }
            (Value::Decimal { scale, .. }, Value::Decimal { units, scale: ts }) if scale == ts => {
                Value::Decimal {
                    units: units + i128::from(delta) * 10i128.pow(*scale),
                    scale: *scale,
                }
            }
            _ => return None,
        })
    }

    /// Appends the value as PostgreSQL's text input form (no COPY
    /// escaping).
    pub(crate) fn write_text(&self, out: &mut String) {
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Float(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Decimal { units, scale } => write_decimal(out, *units, *scale),
            Value::Text(s) => out.push_str(s),
            Value::TimestampTz(us) => {
                write_timestamp(out, *us);
                out.push_str("+00");
            }
            Value::Timestamp(us) => write_timestamp(out, *us),
            Value::Date(days) => write_date(out, *days),
            Value::Time(us) => write_time(out, us.rem_euclid(DAY_US)),
            Value::Uuid(v) => write_uuid(out, *v),
            Value::Array(items) => {
                out.push('{');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if *item == Value::Null {
                        out.push_str("NULL");
                        continue;
                    }
                    let mut text = String::new();
                    item.write_text(&mut text);
                    let plain = !text.is_empty()
                        && !text.eq_ignore_ascii_case("null")
                        && !text.contains(|c: char| {
                            matches!(c, '{' | '}' | ',' | '"' | '\\' | ' ' | '\t' | '\n' | '\r')
                        });
                    if plain {
                        out.push_str(&text);
                    } else {
                        out.push('"');
                        for c in text.chars() {
                            if c == '"' || c == '\\' {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                        out.push('"');
                    }
                }
                out.push('}');
            }
        }
    }
}

/// Appends one field of a COPY text row: `\N` for NULL, backslash, tab,
/// newline and carriage return escaped.
pub(crate) fn write_copy_field(value: &Value, scratch: &mut String, out: &mut Vec<u8>) {
    if *value == Value::Null {
        out.extend_from_slice(b"\\N");
        return;
    }
    scratch.clear();
    value.write_text(scratch);
    if !scratch
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(scratch.as_bytes());
        return;
    }
    for b in scratch.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn write_decimal(out: &mut String, units: i128, scale: u32) {
    if scale == 0 {
        let _ = write!(out, "{units}");
        return;
    }
    let div = 10i128.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let div = div.unsigned_abs();
    let _ = write!(
        out,
        "{sign}{}.{:0width$}",
        abs / div,
        abs % div,
        width = scale as usize
    );
}

/// Year, month, day of a day number (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "day and month are in 1..=31 and 1..=12 by construction"
    )]
    (y, m as u32, d as u32)
}

/// The day number of a date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn write_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

fn write_time(out: &mut String, us: i64) {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

fn write_timestamp(out: &mut String, us: i64) {
    write_date(out, us.div_euclid(DAY_US));
    out.push(' ');
    write_time(out, us.rem_euclid(DAY_US));
}

fn write_uuid(out: &mut String, v: u128) {
    let hex = format!("{v:032x}");
    let _ = write!(
        out,
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        let mut s = String::new();
        v.write_text(&mut s);
        s
    }

    #[test]
    fn dates_round_trip() {
        for days in [-1_000_000, -1, 0, 1, 19_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(text(&Value::Date(0)), "1970-01-01");
        assert_eq!(
            text(&Value::TimestampTz(
                days_from_civil(2024, 2, 29) * DAY_US + 3_723_000_001
            )),
            "2024-02-29 01:02:03.000001+00"
        );
    }

    #[test]
    fn numbers_uuids_and_arrays() {
        assert_eq!(
            text(&Value::Decimal {
                units: -1205,
                scale: 2
            }),
            "-12.05"
        );
        assert_eq!(
            text(&Value::Uuid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        let array = Value::Array(vec![
            Value::Text("read".into()),
            Value::Text("a b".into()),
            Value::Text("q\"uote".into()),
            Value::Null,
        ]);
        assert_eq!(text(&array), r#"{read,"a b","q\"uote",NULL}"#);
    }

    #[test]
    fn copy_fields_are_escaped() {
        let mut out = Vec::new();
        let mut scratch = String::new();
        write_copy_field(&Value::Text("a\tb\\c\nd".into()), &mut scratch, &mut out);
        out.push(b'|');
        write_copy_field(&Value::Null, &mut scratch, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\\tb\\\\c\\nd|\\N");
    }
}
