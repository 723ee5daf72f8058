//! Lenient field deserializers matching how Backstage reads values.
//!
//! Substitution always produces strings (`port: ${PORT}` is the string `"5432"`), and
//! Backstage's `getOptionalNumber` accepts numeric strings, so ports must too; likewise a
//! YAML password such as `12345` is a number that must be read as text.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

/// A TCP port given as a number or a numeric string.
pub(crate) struct Port(pub(crate) u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PortVisitor).map(Port)
    }
}

pub(crate) struct PortVisitor;

impl Visitor<'_> for PortVisitor {
    type Value = u16;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Same wording as serde's own u16 so messages read alike whichever path reports.
        f.write_str("u16")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u16, E> {
        u16::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u16, E> {
        u16::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u16, E> {
        if v.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&v) {
            // Lossless: integral and in range, checked just above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(v as u16)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u16, E> {
        let trimmed = v.trim();
        trimmed.parse::<u16>().map_err(|_| {
            if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                E::invalid_value(Unexpected::Str(v), &self)
            } else {
                E::invalid_type(Unexpected::Str(v), &self)
            }
        })
    }
}

/// `deserialize_with` for `Option<u16>` ports.
pub(crate) fn opt_port<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u16>, D::Error> {
    Ok(Option::<Port>::deserialize(deserializer)?.map(|p| p.0))
}

/// A string, also accepting numbers and booleans, which YAML types on its own.
struct Stringish(String);

impl<'de> Deserialize<'de> for Stringish {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StringishVisitor)
            .map(Stringish)
    }
}

struct StringishVisitor;

impl Visitor<'_> for StringishVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// `deserialize_with` for `Option<String>` fields that YAML may type as numbers.
pub(crate) fn opt_stringish<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<Stringish>::deserialize(deserializer)?.map(|s| s.0))
}
