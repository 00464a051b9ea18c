//! Custom scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::store::Timestamp;

/// An instant as an RFC 3339 string. Output is always UTC with six fractional digits and
/// `Z` (`2026-11-24T10:15:30.123456Z`); input takes any offset and keeps microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub Timestamp);

#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Timestamp::parse("DateTime", text)
                .map(DateTime)
                .map_err(|e| InputValueError::custom(e.reason)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<Timestamp> for DateTime {
    fn from(t: Timestamp) -> Self {
        DateTime(t)
    }
}
