//! What requests of the Admin API share beyond their extractors.

use serde::Deserialize;

/// For PATCH bodies: tells a field sent as `null` (`Some(None)`) from one left out (`None`).
/// Use with `#[serde(default, deserialize_with = "crate::http::present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
