//! Maps keyed by an object's own name are stored as plain lists, so the
//! serialized form has no composite keys and no redundancy.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    CompositeType, Domain, EnumType, Extension, Function, Ident, QualifiedName, RoutineName,
    Schema, Sequence, Table, View,
};

/// An object that knows the key it is stored under.
pub(crate) trait Named {
    type Key: Ord;
    fn key(&self) -> Self::Key;
}

macro_rules! named {
    ($($ty:ty => $key:ty : $field:ident),* $(,)?) => {$(
        impl Named for $ty {
            type Key = $key;
            fn key(&self) -> $key {
                self.$field.clone()
            }
        }
    )*};
}

named! {
    Schema => Ident: name,
    Extension => Ident: name,
    EnumType => QualifiedName: name,
    Sequence => QualifiedName: name,
    Table => QualifiedName: name,
    Domain => QualifiedName: name,
    CompositeType => QualifiedName: name,
    View => QualifiedName: name,
    Function => RoutineName: name,
}

pub(crate) mod map {
    use super::{BTreeMap, Deserialize, Deserializer, Named, Serialize, Serializer};

    pub(crate) fn serialize<S, T>(
        map: &BTreeMap<T::Key, T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Named + Serialize,
    {
        serializer.collect_seq(map.values())
    }

    pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<BTreeMap<T::Key, T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Named + Deserialize<'de>,
    {
        let items = Vec::<T>::deserialize(deserializer)?;
        Ok(items.into_iter().map(|item| (item.key(), item)).collect())
    }
}
