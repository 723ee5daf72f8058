//! JavaScript-compatible string conversions, so that search rows, filter values and parsed
//! parameters come out exactly as Backstage's Node code produces them.

use serde_json::{Number, Value};

/// Largest integer a JavaScript number holds exactly; larger JSON integers lose precision in
/// Node, and so must here too for `String(n)` to agree.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// `String(n)` for a JSON number as Node parses and prints it.
pub(crate) fn number_to_string(number: &Number) -> String {
    if let Some(unsigned) = number.as_u64() {
        if unsigned <= MAX_SAFE_INTEGER {
            return unsigned.to_string();
        }
    } else if let Some(signed) = number.as_i64() {
        if signed.unsigned_abs() <= MAX_SAFE_INTEGER {
            return signed.to_string();
        }
    }
    match number.as_f64() {
        Some(float) => f64_to_string(float),
        None => number.to_string(),
    }
}

/// `Number.prototype.toString()` for a double: shortest round-trip digits, fixed notation for
/// magnitudes in [1e-6, 1e21), exponent notation (with an explicit `+`) otherwise.
pub(crate) fn f64_to_string(float: f64) -> String {
    if float.is_nan() {
        return "NaN".to_owned();
    }
    if float.is_infinite() {
        return if float > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if float == 0.0 {
        // Covers -0, which JavaScript prints as "0".
        return "0".to_owned();
    }
    if (1e-6..1e21).contains(&float.abs()) {
        // Rust's Display prints the shortest round-trip digits without an exponent.
        return format!("{float}");
    }
    let exponential = format!("{float:e}");
    match exponential.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => exponential,
    }
}

/// `String(v)` for a scalar (string, number, boolean); `None` for anything else.
pub(crate) fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number_to_string(number)),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `String(v)` (or a template literal) for any JSON value, as JavaScript converts it.
pub(crate) fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                // Array.prototype.join prints null and undefined items as empty strings.
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
        scalar => scalar_to_string(scalar).unwrap_or_default(),
    }
}

/// JavaScript truthiness of a JSON value (missing values are `None`, which is falsy).
pub(crate) fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// Length in UTF-16 code units, which is what JavaScript's `.length` counts.
pub(crate) fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Whether `String.prototype.trim` removes this character. JavaScript's set differs from
/// Unicode `White_Space`: it includes U+FEFF and excludes U+0085.
fn is_js_whitespace(character: char) -> bool {
    (character.is_whitespace() && character != '\u{85}') || character == '\u{feff}'
}

/// `String.prototype.trim`.
pub(crate) fn js_trim(text: &str) -> &str {
    text.trim_matches(is_js_whitespace)
}

/// Whether a JavaScript regular expression's `.` refuses this character.
pub(crate) fn is_line_terminator(character: char) -> bool {
    matches!(character, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// lodash's `isIndex` for a path segment: a canonical non-negative integer below 2^53 - 1.
pub(crate) fn parse_index(segment: &str) -> Option<usize> {
    let canonical = segment == "0"
        || (!segment.is_empty()
            && !segment.starts_with('0')
            && segment.bytes().all(|byte| byte.is_ascii_digit()));
    if !canonical {
        return None;
    }
    let index: u64 = segment.parse().ok()?;
    if index >= MAX_SAFE_INTEGER {
        return None;
    }
    usize::try_from(index).ok()
}

/// A JSON rendering of a value for error messages, as `JSON.stringify` would print it.
pub(crate) fn json_for_message(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (json!(1), "1"),
            (json!(-7), "-7"),
            (json!(1.0), "1"),
            (json!(1.5), "1.5"),
            (json!(0.1), "0.1"),
            (json!(-0.0), "0"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(1e20), "100000000000000000000"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
            (json!(1.2345e-7), "1.2345e-7"),
            (json!(12345678901234567890_u64), "12345678901234567000"),
            (json!(9007199254740991_u64), "9007199254740991"),
        ];
        for (value, expected) in cases {
            assert_eq!(scalar_to_string(&value).unwrap(), expected, "{value}");
        }
    }

    #[test]
    fn string_conversion_of_compound_values() {
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_string(&json!(["a", null, 2, true])), "a,,2,true");
        assert_eq!(js_string(&json!(null)), "null");
        assert_eq!(js_string(&json!(false)), "false");
    }

    #[test]
    fn truthiness() {
        assert!(!is_truthy(None));
        assert!(!is_truthy(Some(&json!(""))));
        assert!(!is_truthy(Some(&json!(0))));
        assert!(!is_truthy(Some(&json!(false))));
        assert!(!is_truthy(Some(&json!(null))));
        assert!(is_truthy(Some(&json!("x"))));
        assert!(is_truthy(Some(&json!([]))));
        assert!(is_truthy(Some(&json!({}))));
    }

    #[test]
    fn trim_matches_javascript() {
        assert_eq!(js_trim(" \t\n a b \u{feff}"), "a b");
        assert_eq!(js_trim("\u{85}x\u{85}"), "\u{85}x\u{85}");
        assert_eq!(js_trim("\u{a0}x\u{3000}"), "x");
    }

    #[test]
    fn index_segments() {
        assert_eq!(parse_index("0"), Some(0));
        assert_eq!(parse_index("12"), Some(12));
        assert_eq!(parse_index("01"), None);
        assert_eq!(parse_index("-1"), None);
        assert_eq!(parse_index(""), None);
        assert_eq!(parse_index("1a"), None);
        assert_eq!(parse_index("99999999999999999999999"), None);
    }

    #[test]
    fn utf16_length() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("😀"), 2);
    }
}
