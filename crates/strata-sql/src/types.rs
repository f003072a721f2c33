//! What a column type change does to the values and the table, judged from
//! the types as PostgreSQL prints them (`format_type`).

/// The consequences of `ALTER COLUMN … TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "four independent facts about one conversion"
)]
pub(crate) struct TypeChange {
    /// The table and its indexes are rewritten.
    pub(crate) rewrite: bool,
    /// Values can be silently rounded, truncated or changed.
    pub(crate) lossy: bool,
    /// The statement fails when a value does not fit the new type.
    pub(crate) may_fail: bool,
    /// The conversion is not one PostgreSQL knows to be safe.
    pub(crate) unknown: bool,
}

/// A printed type split into its parts: `numeric(12,2)[]` is
/// base `numeric`, modifiers `[12, 2]`, one array dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeName {
    pub(crate) base: String,
    pub(crate) modifiers: Vec<i64>,
    pub(crate) array: usize,
}

impl TypeName {
    pub(crate) fn parse(printed: &str) -> TypeName {
        let mut text = printed.trim();
        let mut array = 0;
        while let Some(stripped) = text.strip_suffix("[]") {
            text = stripped;
            array += 1;
        }
        let mut base = String::with_capacity(text.len());
        let mut modifiers = Vec::new();
        let mut rest = text;
        // Modifiers sit in parentheses, which may be mid-name:
        // `timestamp(3) with time zone`. Quoted names keep theirs.
        while let Some(open) = rest.find('(') {
            if rest[..open].contains('"') {
                break;
            }
            let Some(close) = rest[open..].find(')') else {
                break;
            };
            base.push_str(&rest[..open]);
            modifiers.extend(
                rest[open + 1..open + close]
                    .split(',')
                    .filter_map(|m| m.trim().parse::<i64>().ok()),
            );
            rest = &rest[open + close + 1..];
        }
        base.push_str(rest);
        TypeName {
            base: base.split_whitespace().collect::<Vec<_>>().join(" "),
            modifiers,
            array,
        }
    }
}

fn integer_rank(base: &str) -> Option<u8> {
    match base {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        _ => None,
    }
}

fn is_string(base: &str) -> bool {
    matches!(
        base,
        "text" | "character varying" | "character" | "name" | "citext" | "public.citext"
    )
}

fn is_length_limited(t: &TypeName) -> bool {
    matches!(
        t.base.as_str(),
        "character varying" | "character" | "bit" | "bit varying"
    ) && !t.modifiers.is_empty()
}

fn is_temporal(base: &str) -> bool {
    matches!(
        base,
        "date"
            | "timestamp without time zone"
            | "timestamp with time zone"
            | "time without time zone"
            | "time with time zone"
    )
}

const SAFE: TypeChange = TypeChange {
    rewrite: false,
    lossy: false,
    may_fail: false,
    unknown: false,
};

/// The data hazard `push` gives `ALTER COLUMN … TYPE` from `from` to `to`
/// (both as `format_type` prints them), for checks of hand-written SQL:
/// values rounded or truncated (`lossy-type-change`), or a conversion that
/// fails on values that do not fit (`type-change-may-fail`).
pub fn type_change_hazard(from: &str, to: &str) -> Option<crate::HazardId> {
    if TypeName::parse(from) == TypeName::parse(to) {
        return None;
    }
    let effect = classify(from, to);
    if effect.lossy {
        Some(crate::HazardId::LossyTypeChange)
    } else if effect.may_fail {
        Some(crate::HazardId::TypeChangeMayFail)
    } else {
        None
    }
}

/// Classifies the change from `from` to `to`.
pub(crate) fn classify(from: &str, to: &str) -> TypeChange {
    let a = TypeName::parse(from);
    let b = TypeName::parse(to);
    if a.array != b.array {
        return TypeChange {
            rewrite: true,
            lossy: true,
            may_fail: true,
            unknown: true,
        };
    }
    let rewrite = TypeChange {
        rewrite: true,
        ..SAFE
    };
    let may_fail = TypeChange {
        rewrite: true,
        may_fail: true,
        ..SAFE
    };
    let lossy = TypeChange {
        rewrite: true,
        lossy: true,
        ..SAFE
    };
    if a.base == b.base {
        return same_base(&a, &b);
    }
    let (x, y) = (a.base.as_str(), b.base.as_str());
    if is_string(y) {
        // Everything has a text form.
        if is_length_limited(&b) {
            // text and varchar share a representation: only a length check.
            let checked_only =
                y == "character varying" && matches!(x, "text" | "character varying");
            return TypeChange {
                rewrite: !checked_only,
                ..may_fail
            };
        }
        let binary = matches!(
            (x, y),
            ("character varying", "text") | ("text", "character varying")
        );
        return if binary { SAFE } else { rewrite };
    }
    if let (Some(i), Some(j)) = (integer_rank(x), integer_rank(y)) {
        return if j > i { rewrite } else { may_fail };
    }
    match (x, y) {
        (_, "numeric") if integer_rank(x).is_some() => {
            if b.modifiers.is_empty() {
                rewrite
            } else {
                may_fail
            }
        }
        // Widening conversions keep every value.
        ("smallint", "real" | "double precision")
        | ("integer" | "real", "double precision")
        | ("date", "timestamp without time zone" | "timestamp with time zone")
        | ("timestamp without time zone", "timestamp with time zone")
        | ("timestamp with time zone", "timestamp without time zone")
        | ("json", "jsonb")
        | ("jsonb", "json") => rewrite,
        ("integer" | "bigint" | "double precision", "real") | ("bigint", "double precision") => {
            lossy
        }
        ("numeric" | "real" | "double precision", _) if integer_rank(y).is_some() => lossy,
        ("numeric", "real" | "double precision") => lossy,
        ("real" | "double precision", "numeric") => may_fail,
        (_, "date" | "time without time zone" | "time with time zone") if is_temporal(x) => lossy,
        ("cidr", "inet") => SAFE,
        ("boolean", _) if integer_rank(y).is_some() => rewrite,
        _ if is_string(x) => TypeChange {
            // Text parsed as another type: fails on values that do not parse.
            rewrite: true,
            may_fail: true,
            ..SAFE
        },
        _ => TypeChange {
            rewrite: true,
            lossy: true,
            may_fail: true,
            unknown: true,
        },
    }
}

fn same_base(a: &TypeName, b: &TypeName) -> TypeChange {
    let rewrite = TypeChange {
        rewrite: true,
        ..SAFE
    };
    match a.base.as_str() {
        "character varying" | "bit varying" => match (a.modifiers.first(), b.modifiers.first()) {
            (_, None) => SAFE,
            (Some(n), Some(m)) if m >= n => SAFE,
            _ => TypeChange {
                may_fail: true,
                ..SAFE
            },
        },
        "numeric" => match (a.modifiers.as_slice(), b.modifiers.as_slice()) {
            (_, []) => SAFE,
            ([p, s], [p2, s2]) if s2 == s && p2 >= p => SAFE,
            ([p], [p2]) if p2 >= p => SAFE,
            (m, n) if n.get(1).copied().unwrap_or(0) < m.get(1).copied().unwrap_or(0) => {
                TypeChange {
                    rewrite: true,
                    lossy: true,
                    may_fail: true,
                    unknown: false,
                }
            }
            _ => TypeChange {
                may_fail: true,
                ..rewrite
            },
        },
        "timestamp without time zone"
        | "timestamp with time zone"
        | "time without time zone"
        | "time with time zone"
        | "interval" => match (a.modifiers.first(), b.modifiers.first()) {
            (_, None) => SAFE,
            (Some(n), Some(m)) if m >= n => SAFE,
            _ => TypeChange {
                lossy: true,
                ..rewrite
            },
        },
        "character" | "bit" => match (a.modifiers.first(), b.modifiers.first()) {
            (Some(n), Some(m)) if m >= n => rewrite,
            _ => TypeChange {
                may_fail: true,
                ..rewrite
            },
        },
        _ => TypeChange {
            may_fail: true,
            ..rewrite
        },
    }
}

/// Whether `ALTER COLUMN … TYPE` needs `USING col::type`: when no
/// assignment cast exists. Length-limited targets never get one, because an
/// explicit cast to `varchar(n)` silently truncates where the assignment
/// cast fails.
pub(crate) fn needs_using(from: &str, to: &str) -> bool {
    let a = TypeName::parse(from);
    let b = TypeName::parse(to);
    if is_length_limited(&b) || is_string(&b.base) && a.array == b.array {
        return false;
    }
    if a.base == b.base {
        return false;
    }
    let numeric =
        |t: &str| integer_rank(t).is_some() || matches!(t, "numeric" | "real" | "double precision");
    let implicit = (numeric(&a.base) && numeric(&b.base))
        || (is_temporal(&a.base) && is_temporal(&b.base))
        || matches!(
            (a.base.as_str(), b.base.as_str()),
            ("cidr", "inet") | ("json", "jsonb") | ("jsonb", "json")
        );
    !(implicit && a.array == b.array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_printed_types() {
        assert_eq!(
            TypeName::parse("timestamp(3) with time zone[]"),
            TypeName {
                base: "timestamp with time zone".into(),
                modifiers: vec![3],
                array: 1
            }
        );
        assert_eq!(TypeName::parse("numeric(12,2)").modifiers, vec![12, 2]);
        assert_eq!(
            TypeName::parse("public.\"My(Type)\"").base,
            "public.\"My(Type)\""
        );
    }

    #[test]
    fn widening_is_safe_and_narrowing_is_not() {
        assert_eq!(
            classify("character varying(10)", "character varying(20)"),
            SAFE
        );
        assert_eq!(classify("character varying(10)", "text"), SAFE);
        assert!(classify("text", "character varying(5)").may_fail);
        assert!(!classify("text", "character varying(5)").lossy);
        assert!(classify("integer", "bigint").rewrite);
        assert!(!classify("integer", "bigint").lossy);
        assert!(classify("numeric(12,2)", "numeric(12,0)").lossy);
        assert_eq!(classify("numeric(10,2)", "numeric(12,2)"), SAFE);
        assert!(classify("numeric(12,2)", "integer").lossy);
        assert!(classify("timestamp with time zone", "date").lossy);
        assert!(classify("text", "integer").may_fail && !classify("text", "integer").lossy);
        assert!(classify("integer", "integer[]").unknown);
        assert!(classify("point", "box").lossy);
    }

    #[test]
    fn using_only_where_no_assignment_cast_exists() {
        assert!(needs_using("text", "integer"));
        assert!(needs_using("text", "uuid"));
        assert!(!needs_using("integer", "bigint"));
        assert!(!needs_using("text", "character varying(5)"));
        assert!(!needs_using("integer", "text"));
        assert!(!needs_using("date", "timestamp with time zone"));
    }
}
