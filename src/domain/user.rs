//! Users: parsed at the edge so the rest of the code only sees valid values.

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserInputError {
    #[error("username must be 1 to 150 characters of letters, digits and @.+-_")]
    Username,
    #[error("password must be 8 to 1024 characters")]
    Password,
    #[error("email must look like name@domain and be at most 254 characters")]
    Email,
}

/// Django's username rule (letters, digits and `@.+-_`, at most 150), so imported users fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UserInputError> {
        let ok = !raw.is_empty()
            && raw.chars().count() <= 150
            && raw
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'));
        ok.then(|| Self(raw.to_owned()))
            .ok_or(UserInputError::Username)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password in transit. Never printed: `Debug` is redacted by `SecretString`.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// The bounds protect argon2 from absurd inputs; the lower bound is NIST SP 800-63B's.
    pub fn parse(raw: String) -> Result<Self, UserInputError> {
        let len = raw.chars().count();
        if !(8..=1024).contains(&len) {
            return Err(UserInputError::Password);
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// For a login attempt: any string is checked, only its length is bounded, so a bad
    /// password is just a failed login, never an input error that reveals the rule.
    pub fn for_login(raw: String) -> Self {
        Self(SecretString::from(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, UserInputError> {
        let ok = raw.len() <= 254
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(raw.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        ok.then(|| Self(raw.to_owned()))
            .ok_or(UserInputError::Email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_django_rules() {
        assert!(Username::parse("alice.smith+1@x_y-z").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse("short".into()).is_err());
    }

    #[test]
    fn emails_need_one_at_sign() {
        assert!(Email::parse("a@b.example").is_ok());
        assert!(Email::parse("a@b@c").is_err());
        assert!(Email::parse("nobody").is_err());
    }
}
