use std::fmt;

use serde::{Deserialize, Serialize};

/// An identifier exactly as the database stores it (case kept, unquoted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ident(String);

impl Ident {
    /// Wraps a stored identifier.
    pub fn new(name: impl Into<String>) -> Ident {
        Ident(name.into())
    }

    /// The identifier's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Ident {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Ident {
    fn from(s: &str) -> Ident {
        Ident(s.to_owned())
    }
}

impl From<String> for Ident {
    fn from(s: String) -> Ident {
        Ident(s)
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Ident {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A schema-qualified object name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QualifiedName {
    /// The schema.
    pub schema: Ident,
    /// The object's name within the schema.
    pub name: Ident,
}

impl QualifiedName {
    /// `schema.name`.
    pub fn new(schema: impl Into<Ident>, name: impl Into<Ident>) -> QualifiedName {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The same name in the same schema with a different object name.
    #[must_use]
    pub fn with_name(&self, name: impl Into<Ident>) -> QualifiedName {
        QualifiedName {
            schema: self.schema.clone(),
            name: name.into(),
        }
    }
}

/// Prints `schema.name` for people (not for SQL: nothing is quoted).
impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}
