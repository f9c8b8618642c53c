//! The group's names: what is valid, and what the key-value bucket holds
//! for each.

use serde::{Deserialize, Serialize};

use crate::envelope::VERSION;
use crate::error::Error;

/// The longest group or port name.
const MAX_NAME: usize = 128;

/// A group name becomes a bucket name and a subject token.
pub(crate) fn check_group(name: &str) -> Result<(), Error> {
    check(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        "a group name is 1 to 128 ASCII letters, digits, `_` and `-`",
    )
}

/// A port name becomes a key of the bucket.
pub(crate) fn check_port(name: &str) -> Result<(), Error> {
    check(
        name,
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '=' | '.'),
        "a port name is 1 to 128 ASCII letters, digits, `_`, `-`, `/`, `=` and `.`, and \
         neither starts nor ends with `.`",
    )?;
    if name.starts_with('.') || name.ends_with('.') {
        return Err(Error::InvalidName {
            name: name.to_owned(),
            why: "a port name neither starts nor ends with `.`",
        });
    }
    Ok(())
}

fn check(name: &str, allowed: impl Fn(char) -> bool, why: &'static str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(allowed) {
        return Err(Error::InvalidName {
            name: name.to_owned(),
            why,
        });
    }
    Ok(())
}

/// The bucket that holds a group's names.
pub(crate) fn bucket(group: &str) -> String {
    format!("isolates_{group}")
}

/// What the bucket holds under a port's name: where to send, and what.
///
/// JSON, so that `nats kv get isolates_<group> <name>` shows it to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The envelope version of the member that registered it.
    pub(crate) version: u8,
    /// The member that serves it.
    pub(crate) member: String,
    /// The subject its messages go to.
    pub(crate) subject: String,
    /// The fingerprint of its message type.
    pub(crate) fingerprint: u64,
    /// The name of its message type, for error messages.
    pub(crate) message_type: String,
}

impl Record {
    pub(crate) fn new(member: &str, subject: &str, fingerprint: u64, message_type: &str) -> Self {
        Record {
            version: VERSION,
            member: member.to_owned(),
            subject: subject.to_owned(),
            fingerprint,
            message_type: message_type.to_owned(),
        }
    }

    pub(crate) fn to_bytes(&self) -> bytes::Bytes {
        serde_json::to_vec(self)
            .expect("a record of strings and numbers encodes")
            .into()
    }

    /// The record in `bytes`; `None` for bytes this crate did not write.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_nats_cannot_carry_are_refused() {
        for good in ["counter", "word-count_2", "a/b=c.d"] {
            assert!(check_port(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "end.",
            "with space",
            "wild*",
            "über",
            &"x".repeat(129),
        ] {
            assert!(check_port(bad).is_err(), "{bad}");
        }
        assert!(check_group("cluster-1_a").is_ok());
        for bad in ["", "a.b", "a b", "a>", "a*"] {
            assert!(check_group(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_record_survives_the_bucket() {
        let record = Record::new("m1", "isolates.g.m1.1", 42, "app::CounterMessage");
        assert_eq!(Record::from_bytes(&record.to_bytes()), Some(record));
        assert_eq!(Record::from_bytes(b"not json"), None);
    }
}
