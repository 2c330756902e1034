//! Identity status and its allowed changes (spec §6.7).

/// Where an identity stands in onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Created, nothing verified yet.
    Pending,
    /// Waiting for the email to be confirmed.
    PendingEmailValidation,
    /// Waiting for the phone to be confirmed.
    PendingPhoneValidation,
    /// Under compliance screening.
    Screening,
    /// Fully onboarded.
    Active,
    /// Not allowed to operate.
    Blocked,
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// `BLOCKED` cannot be the first status.
    #[error("status BLOCKED is not allowed at creation")]
    BlockedAtCreation,
    /// The change is not in the allowed graph.
    #[error("status cannot change from {from} to {to}")]
    IllegalChange {
        /// Current status.
        from: &'static str,
        /// Requested status.
        to: &'static str,
    },
}

impl Status {
    /// Every status, in onboarding order.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::PendingEmailValidation,
        Status::PendingPhoneValidation,
        Status::Screening,
        Status::Active,
        Status::Blocked,
    ];

    /// Parses the wire name (exact, upper case).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::PendingEmailValidation => "PENDING_EMAIL_VALIDATION",
            Status::PendingPhoneValidation => "PENDING_PHONE_VALIDATION",
            Status::Screening => "SCREENING",
            Status::Active => "ACTIVE",
            Status::Blocked => "BLOCKED",
        }
    }

    /// Checks a status given at creation; `BLOCKED` is refused.
    pub fn for_creation(requested: Option<Status>) -> Result<Status, StatusError> {
        match requested {
            Some(Status::Blocked) => Err(StatusError::BlockedAtCreation),
            Some(s) => Ok(s),
            None => Ok(Status::Active),
        }
    }

    /// Checks a change: forward through onboarding (steps may be skipped), `ACTIVE` ⇄ `BLOCKED`,
    /// anything to `BLOCKED`; the same status again is a no-op.
    pub fn change_to(self, to: Status) -> Result<Status, StatusError> {
        let allowed = self == to
            || to == Status::Blocked
            || (self == Status::Blocked && to == Status::Active)
            || (self < Status::Active && to <= Status::Active && to > self);
        if allowed {
            Ok(to)
        } else {
            Err(StatusError::IllegalChange {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[test]
    fn creation_defaults_to_active_and_refuses_blocked() {
        assert_eq!(Status::for_creation(None), Ok(Active));
        assert_eq!(Status::for_creation(Some(Screening)), Ok(Screening));
        assert!(Status::for_creation(Some(Blocked)).is_err());
    }

    #[test]
    fn changes_follow_the_onboarding_graph() {
        let allowed = [
            (Pending, PendingEmailValidation),
            (Pending, Active),
            (PendingEmailValidation, Screening),
            (PendingPhoneValidation, Active),
            (Screening, Active),
            (Active, Blocked),
            (Blocked, Active),
            (Pending, Blocked),
            (Screening, Blocked),
            (Active, Active),
            (Pending, Pending),
        ];
        for (from, to) in allowed {
            assert_eq!(from.change_to(to), Ok(to), "{from:?} -> {to:?}");
        }
        let refused = [
            (Active, Pending),
            (Active, Screening),
            (Screening, Pending),
            (PendingPhoneValidation, PendingEmailValidation),
            (Blocked, Pending),
            (Blocked, Screening),
        ];
        for (from, to) in refused {
            assert!(from.change_to(to).is_err(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("active"), None);
    }
}
