//! Typed, time-ordered (UUID v7) identifiers, one newtype per entity so ids cannot be mixed up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The 16 big-endian bytes, which sort in creation order.
            pub fn to_bytes(&self) -> [u8; 16] {
                *self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        /// Parsing an id a user sent: anything that is not a UUID is `NotFound`, so a malformed or
        /// path-like id (`../x`, `%2e%2e`) reads exactly like an id that does not exist.
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::try_parse(s).map(Self).map_err(|_| Error::not_found($what))
            }
        }
    };
}

entity_id!(
    /// Identifies a [`crate::User`].
    UserId, "user"
);
entity_id!(
    /// Identifies a [`crate::Dataset`].
    DatasetId, "dataset"
);
entity_id!(
    /// Identifies a [`crate::Model`].
    ModelId, "model"
);
entity_id!(
    /// Identifies a [`crate::TrainingRun`].
    RunId, "run"
);
entity_id!(
    /// Identifies a [`crate::Notification`].
    NotificationId, "notification"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_created_later_sort_later() {
        let a = RunId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = RunId::new();
        assert!(a < b);
        assert!(a.to_bytes() < b.to_bytes());
    }

    #[test]
    fn a_path_like_id_is_not_found() {
        for bad in ["../etc/passwd", "%2e%2e%2f", "", "..\\x", "0190-zz"] {
            assert_eq!(bad.parse::<DatasetId>().unwrap_err().code(), "NOT_FOUND", "{bad}");
        }
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = ModelId::new();
        assert_eq!(id.to_string().parse::<ModelId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ModelId>(&json).unwrap(), id);
    }
}
