//! Value generators: what a column holds, guessed from its type and name,
//! narrowed by its constraints and by the configuration.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    reason = "generators turn random u64s into small indexes, offsets and floats whose ranges are bounded by construction"
)]

use std::fmt::Write as _;

use crate::rng::Rng;
use crate::value::{DAY_US, Value, days_from_civil};
use crate::words;

/// The reference instant for generated timestamps: 2025-01-01 00:00 UTC.
/// Fixed, so that the same seed gives the same rows on any day; past
/// timestamps fall in the two years before it, future ones after it.
pub(crate) fn reference_us() -> i64 {
    days_from_civil(2025, 1, 1) * DAY_US
}

/// The storage side of a column: what PostgreSQL accepts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Base {
    Bool,
    Int { min: i64, max: i64 },
    Decimal { scale: u32, max_units: Option<i128> },
    Float,
    Text { max_len: Option<usize>, fixed: bool },
    Uuid,
    TimestampTz,
    Timestamp,
    Date,
    Time { zone: bool },
    Interval,
    Json,
    Inet,
    Cidr,
    Macaddr,
    Bytea,
    Enum(Vec<String>),
    Array(Box<Base>),
    Xml,
    TsVector,
    Point,
    Bit { len: usize, varying: bool },
    Money,
}

impl Base {
    /// Reads a type as `format_type` prints it; enums are resolved by the
    /// caller. `None`: a type the seeder has no generator for.
    pub(crate) fn parse(data_type: &str) -> Option<Base> {
        if let Some(element) = data_type.strip_suffix("[]") {
            return Some(Base::Array(Box::new(Base::parse(element)?)));
        }
        let (name, args) = match data_type.find('(') {
            Some(open) if data_type.ends_with(')') || data_type.contains(") ") => {
                let close = data_type[open..].find(')')? + open;
                let name = format!("{}{}", &data_type[..open], &data_type[close + 1..]);
                (name, Some(&data_type[open + 1..close]))
            }
            _ => (data_type.to_owned(), None),
        };
        let number = |i: usize| -> Option<u32> {
            args.and_then(|a| a.split(',').nth(i))
                .and_then(|n| n.trim().parse().ok())
        };
        Some(match name.trim() {
            "smallint" => Base::Int {
                min: i64::from(i16::MIN),
                max: i64::from(i16::MAX),
            },
            "integer" => Base::Int {
                min: i64::from(i32::MIN),
                max: i64::from(i32::MAX),
            },
            "bigint" => Base::Int {
                min: i64::MIN,
                max: i64::MAX,
            },
            "numeric" => {
                let precision = number(0);
                let scale = number(1).unwrap_or(if precision.is_some() { 0 } else { 2 });
                Base::Decimal {
                    scale,
                    max_units: precision.map(|p| 10i128.pow(p.min(38)) - 1),
                }
            }
            "real" | "double precision" => Base::Float,
            "boolean" => Base::Bool,
            "text" | "citext" | "public.citext" | "name" => Base::Text {
                max_len: None,
                fixed: false,
            },
            "character varying" => Base::Text {
                max_len: number(0).map(|n| n as usize),
                fixed: false,
            },
            "character" => Base::Text {
                max_len: Some(number(0).unwrap_or(1) as usize),
                fixed: true,
            },
            "\"char\"" => Base::Text {
                max_len: Some(1),
                fixed: true,
            },
            "uuid" => Base::Uuid,
            "timestamp with time zone" => Base::TimestampTz,
            "timestamp without time zone" => Base::Timestamp,
            "date" => Base::Date,
            "time without time zone" => Base::Time { zone: false },
            "time with time zone" => Base::Time { zone: true },
            "interval" => Base::Interval,
            "json" | "jsonb" => Base::Json,
            "inet" => Base::Inet,
            "cidr" => Base::Cidr,
            "macaddr" | "macaddr8" => Base::Macaddr,
            "bytea" => Base::Bytea,
            "xml" => Base::Xml,
            "tsvector" => Base::TsVector,
            "point" => Base::Point,
            "bit" => Base::Bit {
                len: number(0).unwrap_or(1) as usize,
                varying: false,
            },
            "bit varying" => Base::Bit {
                len: number(0).unwrap_or(8) as usize,
                varying: true,
            },
            "money" => Base::Money,
            _ => return None,
        })
    }

    /// Whether distinct values can be made from the row number.
    pub(crate) fn can_be_distinct(&self) -> bool {
        !matches!(
            self,
            Base::Bool | Base::Enum(_) | Base::Bit { .. } | Base::Array(_)
        )
    }
}

/// What a column means, guessed from its name (or configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Url,
    ImageUrl,
    Phone,
    Hash,
    Secret,
    Ip,
    UserAgent,
    Title,
    Sentence,
    Paragraph,
    Slug,
    City,
    Country,
    CountryCode,
    Region,
    Street,
    PostalCode,
    Company,
    Currency,
    Locale,
    Timezone,
    Color,
    Status,
    EventType,
    Provider,
    Identifier,
    Code,
    MimeType,
    Version,
    FilePath,
    Word,
    // Numbers.
    Age,
    Year,
    Rating,
    Percent,
    Count,
    Attempts,
    Position,
    Port,
    Duration,
    Money,
    Bytes,
    Latitude,
    Longitude,
    Ratio,
    // Times.
    Past,
    Future,
    BirthDate,
    // JSON shapes.
    JsonMeta,
    JsonSettings,
    JsonHours,
    JsonAddress,
    JsonList,
    // Arrays.
    Scopes,
    Tags,
    // Booleans.
    MostlyTrue,
    MostlyFalse,
    /// No particular meaning: plain values of the type.
    Plain,
}

impl Style {
    /// The names accepted in `strata.toml` (`email = "email"`).
    pub(crate) fn from_name(name: &str) -> Option<Style> {
        Some(match name {
            "email" => Style::Email,
            "first_name" => Style::FirstName,
            "last_name" => Style::LastName,
            "name" | "full_name" => Style::FullName,
            "username" => Style::Username,
            "url" => Style::Url,
            "image_url" => Style::ImageUrl,
            "phone" => Style::Phone,
            "hash" => Style::Hash,
            "token" | "secret" => Style::Secret,
            "ip" => Style::Ip,
            "user_agent" => Style::UserAgent,
            "title" => Style::Title,
            "sentence" => Style::Sentence,
            "paragraph" => Style::Paragraph,
            "slug" => Style::Slug,
            "city" => Style::City,
            "country" => Style::Country,
            "country_code" => Style::CountryCode,
            "region" => Style::Region,
            "street" => Style::Street,
            "postal_code" => Style::PostalCode,
            "company" => Style::Company,
            "currency" => Style::Currency,
            "locale" => Style::Locale,
            "timezone" => Style::Timezone,
            "color" => Style::Color,
            "status" => Style::Status,
            "word" => Style::Word,
            "age" => Style::Age,
            "year" => Style::Year,
            "rating" => Style::Rating,
            "percent" => Style::Percent,
            "count" => Style::Count,
            "price" | "money" => Style::Money,
            "latitude" => Style::Latitude,
            "longitude" => Style::Longitude,
            "past" => Style::Past,
            "future" => Style::Future,
            "birth_date" => Style::BirthDate,
            "json" => Style::JsonMeta,
            "plain" => Style::Plain,
            _ => return None,
        })
    }

    /// The names listed in error messages.
    pub(crate) const NAMES: &'static str = "email, first_name, last_name, name, username, url, image_url, phone, hash, token, ip, user_agent, title, sentence, paragraph, slug, city, country, country_code, region, street, postal_code, company, currency, locale, timezone, color, status, word, age, year, rating, percent, count, price, latitude, longitude, past, future, birth_date, json, plain";

    /// Guesses from the column's and table's names and the base type.
    pub(crate) fn guess(column: &str, table: &str, base: &Base) -> Style {
        let c = column.to_ascii_lowercase();
        let has = |s: &str| c.contains(s);
        let is = |names: &[&str]| names.contains(&c.as_str());
        let ends = |s: &str| c.ends_with(s);
        match base {
            Base::Text { .. } => {
                if has("email") {
                    Style::Email
                } else if is(&["first_name", "firstname", "given_name"]) {
                    Style::FirstName
                } else if is(&["last_name", "lastname", "surname", "family_name"]) {
                    Style::LastName
                } else if is(&[
                    "username",
                    "user_name",
                    "login",
                    "handle",
                    "nickname",
                    "screen_name",
                ]) {
                    Style::Username
                } else if is(&[
                    "full_name",
                    "display_name",
                    "contact_name",
                    "author",
                    "author_name",
                    "owner_name",
                ]) || (c == "name" && is_person_table(table))
                {
                    Style::FullName
                } else if has("avatar")
                    || has("image")
                    || has("photo")
                    || has("picture")
                    || has("logo")
                    || has("icon")
                {
                    Style::ImageUrl
                } else if has("url")
                    || has("uri")
                    || has("link")
                    || is(&[
                        "website",
                        "homepage",
                        "endpoint",
                        "redirect_to",
                        "href",
                        "callback",
                    ])
                {
                    Style::Url
                } else if has("phone") || has("mobile") || is(&["tel", "fax"]) {
                    Style::Phone
                } else if has("hash") || has("digest") || has("checksum") {
                    Style::Hash
                } else if has("token")
                    || has("secret")
                    || has("key")
                    || has("encrypted")
                    || has("salt")
                    || has("nonce")
                    || has("signature")
                {
                    Style::Secret
                } else if is(&["ip", "ip_address", "ip_addr", "remote_addr", "client_ip"]) {
                    Style::Ip
                } else if has("user_agent") || has("useragent") {
                    Style::UserAgent
                } else if is(&["title", "subject", "headline", "caption", "label"]) {
                    Style::Title
                } else if is(&["summary", "excerpt", "reason", "tagline"]) {
                    Style::Sentence
                } else if is(&[
                    "description",
                    "body",
                    "content",
                    "bio",
                    "notes",
                    "note",
                    "comment",
                    "message",
                    "text",
                    "about",
                    "details",
                ]) {
                    Style::Paragraph
                } else if has("slug") {
                    Style::Slug
                } else if has("city") || c == "town" {
                    Style::City
                } else if is(&["country_code", "country_iso", "iso_country"]) {
                    Style::CountryCode
                } else if has("country") {
                    Style::Country
                } else if is(&["state", "region", "province", "county"]) {
                    Style::Region
                } else if has("street") || is(&["address", "address_line1", "address1", "line1"]) {
                    Style::Street
                } else if has("zip") || has("postal") || has("postcode") {
                    Style::PostalCode
                } else if has("company")
                    || has("organization")
                    || has("organisation")
                    || c == "employer"
                {
                    Style::Company
                } else if has("currency") {
                    Style::Currency
                } else if is(&["locale", "language", "lang"]) {
                    Style::Locale
                } else if has("timezone") || is(&["time_zone", "tz"]) {
                    Style::Timezone
                } else if has("color") || has("colour") {
                    Style::Color
                } else if c == "status" || ends("_status") || c == "state" {
                    Style::Status
                } else if is(&["event_type", "event", "action", "event_name", "activity"]) {
                    Style::EventType
                } else if has("provider") && !ends("_id") {
                    Style::Provider
                } else if ends("_id") || c == "id" || c == "external_id" || c == "uid" {
                    Style::Identifier
                } else if is(&["sku", "code", "coupon", "reference", "ref"]) || ends("_code") {
                    Style::Code
                } else if has("mime") || c == "content_type" {
                    Style::MimeType
                } else if has("version") {
                    Style::Version
                } else if has("file") || has("path") {
                    Style::FilePath
                } else if c == "name" {
                    Style::Title
                } else {
                    Style::Word
                }
            }
            Base::Int { .. } | Base::Decimal { .. } | Base::Float | Base::Money => {
                if c == "age" || ends("_age") {
                    Style::Age
                } else if has("year") {
                    Style::Year
                } else if has("rating") || has("stars") {
                    Style::Rating
                } else if has("percent") || has("pct") {
                    Style::Percent
                } else if has("attempt") || has("retries") || has("retry") || has("failures") {
                    Style::Attempts
                } else if has("count")
                    || has("quantity")
                    || has("qty")
                    || has("views")
                    || has("likes")
                    || has("number_of")
                    || has("num_")
                {
                    Style::Count
                } else if is(&[
                    "position",
                    "sort_order",
                    "order",
                    "rank",
                    "priority",
                    "index",
                    "ordinal",
                    "sequence",
                ]) {
                    Style::Position
                } else if c == "port" {
                    Style::Port
                } else if has("duration")
                    || has("seconds")
                    || ends("_ms")
                    || has("timeout")
                    || has("ttl")
                {
                    Style::Duration
                } else if has("price")
                    || has("amount")
                    || has("cost")
                    || has("total")
                    || has("balance")
                    || has("salary")
                    || has("fee")
                {
                    Style::Money
                } else if has("size") || has("bytes") || has("length") {
                    Style::Bytes
                } else if c == "lat" || has("latitude") {
                    Style::Latitude
                } else if c == "lng" || c == "lon" || has("longitude") {
                    Style::Longitude
                } else if has("rate") || has("ratio") || has("weight") || has("score") {
                    Style::Ratio
                } else {
                    Style::Plain
                }
            }
            Base::TimestampTz | Base::Timestamp | Base::Date => {
                if has("birth") || c == "dob" {
                    Style::BirthDate
                } else if has("expire")
                    || has("expiry")
                    || has("expiration")
                    || has("until")
                    || has("due")
                    || has("deadline")
                    || has("valid_to")
                    || has("ends_at")
                    || has("end_at")
                    || has("scheduled")
                {
                    Style::Future
                } else {
                    Style::Past
                }
            }
            Base::Json => {
                if has("setting")
                    || has("preference")
                    || has("config")
                    || has("option")
                    || c == "types"
                    || has("flags")
                {
                    Style::JsonSettings
                } else if has("hours") || has("schedule") {
                    Style::JsonHours
                } else if has("address") || has("location") {
                    Style::JsonAddress
                } else if has("tags") || has("items") || has("list") || has("labels") {
                    Style::JsonList
                } else {
                    Style::JsonMeta
                }
            }
            Base::Array(_) => {
                if has("scope") || has("permission") {
                    Style::Scopes
                } else {
                    Style::Tags
                }
            }
            Base::Bool => {
                if has("enabled")
                    || has("active")
                    || has("visible")
                    || has("published")
                    || has("verified")
                    || has("confirmed")
                    || has("allow")
                {
                    Style::MostlyTrue
                } else if has("deleted")
                    || has("banned")
                    || has("locked")
                    || has("archived")
                    || has("blocked")
                    || has("suspended")
                    || has("admin")
                {
                    Style::MostlyFalse
                } else {
                    Style::Plain
                }
            }
            Base::Inet => Style::Ip,
            _ => Style::Plain,
        }
    }
}

fn is_person_table(table: &str) -> bool {
    let t = table.to_ascii_lowercase();
    [
        "user", "person", "people", "customer", "member", "author", "employee", "contact",
        "account", "profile", "staff", "student", "patient", "client",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// How often a nullable column is NULL, by its name: events that have not
/// happened yet (`deleted_at`, `revoked_at`) mostly are.
pub(crate) fn null_rate(column: &str) -> f64 {
    let c = column.to_ascii_lowercase();
    if [
        "deleted",
        "revoked",
        "used_at",
        "locked",
        "archived",
        "cancel",
        "banned",
        "suspended",
        "ended",
        "failed",
        "error",
    ]
    .iter()
    .any(|w| c.contains(w))
    {
        0.8
    } else {
        0.1
    }
}

/// Letter case a CHECK asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Case {
    #[default]
    Any,
    Lower,
    Upper,
}

/// Everything needed to make one column's values.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    pub(crate) base: Base,
    pub(crate) style: Style,
    /// Inclusive numeric bounds (timestamps in microseconds, dates in
    /// days), from CHECKs or configuration.
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    /// The only values allowed (CHECK `IN`, configuration).
    pub(crate) one_of: Option<Vec<String>>,
    pub(crate) not_equal: Vec<String>,
    pub(crate) case: Case,
    pub(crate) min_len: usize,
    pub(crate) null_rate: f64,
    /// Every row gets a different value.
    pub(crate) distinct: bool,
    /// A password hash column: PHC-shaped text.
    pub(crate) password: bool,
}

impl Generator {
    pub(crate) fn new(base: Base, style: Style) -> Generator {
        Generator {
            base,
            style,
            min: None,
            max: None,
            one_of: None,
            not_equal: Vec::new(),
            case: Case::Any,
            min_len: 0,
            null_rate: 0.0,
            distinct: false,
            password: false,
        }
    }

    /// The value for one row (`row` counts from 0 over the whole table,
    /// rows already there included).
    pub(crate) fn value(&self, rng: &mut Rng, row: u64) -> Value {
        if self.null_rate > 0.0 && rng.chance(self.null_rate) {
            return Value::Null;
        }
        if let Some(values) = &self.one_of {
            let text = if self.distinct {
                values[usize::try_from(row).unwrap_or(usize::MAX) % values.len().max(1)].clone()
            } else {
                rng.pick(values).clone()
            };
            return Value::Text(text);
        }
        for _ in 0..8 {
            let value = self.fresh(rng, row);
            let rejected = !self.not_equal.is_empty() && {
                let mut text = String::new();
                value.write_text(&mut text);
                self.not_equal.contains(&text)
            };
            if !rejected {
                return value;
            }
        }
        self.fresh(rng, row)
    }

    fn fresh(&self, rng: &mut Rng, row: u64) -> Value {
        match &self.base {
            Base::Bool => Value::Bool(match self.style {
                Style::MostlyTrue => rng.chance(0.85),
                Style::MostlyFalse => rng.chance(0.05),
                _ => rng.chance(0.5),
            }),
            Base::Int { min, max } => self.int(rng, row, *min, *max),
            Base::Decimal { scale, max_units } => self.decimal(rng, row, *scale, *max_units),
            Base::Money => self.decimal(rng, row, 2, Some(99_999_999_999)),
            Base::Float => {
                let (lo, hi) = self.bounds(number_range(self.style), f64::MIN, f64::MAX);
                if self.distinct {
                    return Value::Float(lo + row as f64 / 1000.0);
                }
                Value::Float(round3(lo + rng.unit() * (hi - lo)))
            }
            Base::Text { max_len, fixed } => {
                let mut text = self.text(rng, row);
                match self.case {
                    Case::Lower => text = text.to_lowercase(),
                    Case::Upper => text = text.to_uppercase(),
                    Case::Any => {}
                }
                while text.chars().count() < self.min_len {
                    text.push('x');
                }
                if let Some(max) = max_len {
                    if self.distinct {
                        text = fit_distinct(&text, *max, row);
                    } else if text.chars().count() > *max {
                        text = text.chars().take(*max).collect();
                    }
                    if *fixed {
                        while text.chars().count() < *max {
                            text.push(' ');
                        }
                    }
                }
                Value::Text(text)
            }
            Base::Uuid => {
                // Version 4 layout, from the column's stream.
                let v = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                let v = (v & !(0xF000u128 << 64)) | (0x4000u128 << 64);
                let v = (v & !(0xC000u128 << 48)) | (0x8000u128 << 48);
                Value::Uuid(v)
            }
            Base::TimestampTz | Base::Timestamp => {
                let us = self.time_us(rng, row);
                if self.base == Base::TimestampTz {
                    Value::TimestampTz(us)
                } else {
                    Value::Timestamp(us)
                }
            }
            Base::Date => {
                let (lo, hi) = match self.style {
                    Style::BirthDate => {
                        (days_from_civil(1950, 1, 1), days_from_civil(2006, 12, 31))
                    }
                    Style::Future => {
                        let today = reference_us() / DAY_US;
                        (today + 1, today + 365)
                    }
                    _ => {
                        let today = reference_us() / DAY_US;
                        (today - 730, today)
                    }
                };
                let (lo, hi) = self.bounds((lo as f64, hi as f64), lo as f64, hi as f64);
                let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
                if self.distinct {
                    return Value::Date(lo + i64::try_from(row).unwrap_or(0));
                }
                Value::Date(rng.range_i64(lo, hi.max(lo)))
            }
            Base::Time { zone } => {
                let us = rng.range_i64(0, DAY_US / 60_000_000 - 1) * 60_000_000;
                if *zone {
                    let mut text = String::new();
                    Value::Time(us).write_text(&mut text);
                    text.push_str("+00");
                    Value::Text(text)
                } else {
                    Value::Time(us)
                }
            }
            Base::Interval => {
                let units = ["minutes", "hours", "days"];
                Value::Text(format!("{} {}", rng.range_i64(1, 90), rng.pick(&units)))
            }
            Base::Json => Value::Text(self.json(rng)),
            Base::Inet => Value::Text(ipv4(rng)),
            Base::Cidr => Value::Text(format!("10.{}.{}.0/24", rng.below(256), rng.below(256))),
            Base::Macaddr => {
                let mut text = String::new();
                for i in 0..6 {
                    if i > 0 {
                        text.push(':');
                    }
                    let _ = write!(text, "{:02x}", rng.below(256));
                }
                Value::Text(text)
            }
            Base::Bytea => {
                let mut text = String::from("\\x");
                for _ in 0..16 {
                    let _ = write!(text, "{:02x}", rng.below(256));
                }
                Value::Text(text)
            }
            Base::Enum(labels) => {
                // The first label (often the default, like `user`) most often.
                if labels.len() > 1 && !rng.chance(0.5) {
                    Value::Text(labels[1 + rng.below(labels.len() as u64 - 1) as usize].clone())
                } else {
                    Value::Text(labels.first().cloned().unwrap_or_default())
                }
            }
            Base::Array(element) => self.array(rng, element),
            Base::Xml => Value::Text(format!("<note>{}</note>", rng.pick(words::WORDS))),
            Base::TsVector => Value::Text(format!(
                "'{}' '{}'",
                rng.pick(words::WORDS),
                rng.pick(words::WORDS)
            )),
            Base::Point => Value::Text(format!(
                "({:.4},{:.4})",
                rng.unit() * 360.0 - 180.0,
                rng.unit() * 180.0 - 90.0
            )),
            Base::Bit { len, varying } => {
                let len = if *varying {
                    1 + rng.below(*len as u64) as usize
                } else {
                    *len
                };
                Value::Text(
                    (0..len)
                        .map(|_| if rng.chance(0.5) { '1' } else { '0' })
                        .collect(),
                )
            }
        }
    }

    /// Narrows a range by the configured or checked bounds.
    fn bounds(&self, (lo, hi): (f64, f64), floor: f64, ceiling: f64) -> (f64, f64) {
        let lo = self
            .min
            .map_or(lo, |m| if self.max.is_some() || m > lo { m } else { lo });
        let hi = self
            .max
            .map_or(hi, |m| if self.min.is_some() || m < hi { m } else { hi });
        // A bound from a CHECK that lies outside the style's range wins.
        let (lo, hi) = if lo > hi {
            match (self.min, self.max) {
                (Some(m), None) => (m, m.max(hi) + (hi - lo).abs().max(100.0)),
                (None, Some(m)) => (m.min(lo) - (hi - lo).abs().max(100.0), m),
                _ => (lo, lo),
            }
        } else {
            (lo, hi)
        };
        (lo.max(floor), hi.min(ceiling))
    }
    fn int(&self, rng: &mut Rng, row: u64, min: i64, max: i64) -> Value {
        let (lo, hi) = self.bounds(number_range(self.style), min as f64, max as f64);
        let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
        if self.distinct {
            let start = if self.min.is_some() { lo } else { lo.max(1) };
            return Value::Int(start.saturating_add(i64::try_from(row).unwrap_or(i64::MAX)));
        }
        Value::Int(rng.range_i64(lo, hi.max(lo)))
    }
    fn decimal(&self, rng: &mut Rng, row: u64, scale: u32, max_units: Option<i128>) -> Value {
        let unit = 10f64.powi(scale as i32);
        let limit = max_units.map_or(1e15, |m| m as f64 / unit);
        let (lo, hi) = self.bounds(number_range(self.style), -limit, limit);
        let (lo_units, hi_units) = ((lo * unit).ceil() as i64, (hi * unit).floor() as i64);
        let units = if self.distinct {
            lo_units.saturating_add(i64::try_from(row).unwrap_or(i64::MAX))
        } else {
            rng.range_i64(lo_units, hi_units.max(lo_units))
        };
        // Strict bounds (`> 0`) were turned into inclusive ones by the
        // caller; nudge off an excluded bound.
        Value::Decimal {
            units: i128::from(units),
            scale,
        }
    }
    fn time_us(&self, rng: &mut Rng, row: u64) -> i64 {
        let now = reference_us();
        let (lo, hi) = match self.style {
            Style::Future => (now + 3_600_000_000, now + 90 * DAY_US),
            Style::BirthDate => (
                days_from_civil(1950, 1, 1) * DAY_US,
                days_from_civil(2006, 12, 31) * DAY_US,
            ),
            _ => (now - 730 * DAY_US, now),
        };
        let (lo, hi) = self.bounds((lo as f64, hi as f64), i64::MIN as f64, i64::MAX as f64);
        let (lo, hi) = (lo as i64, hi as i64);
        if self.distinct {
            return lo + i64::try_from(row).unwrap_or(0) * 1_000_000;
        }
        // Whole seconds read better and compare reliably.
        rng.range_i64(lo / 1_000_000, hi.max(lo) / 1_000_000) * 1_000_000
    }

    fn text(&self, rng: &mut Rng, row: u64) -> String {
        let first = *rng.pick(words::FIRST_NAMES);
        let last = *rng.pick(words::LAST_NAMES);
        let suffix = |distinct: bool| {
            if distinct {
                format!("{row}")
            } else {
                String::new()
            }
        };
        match self.style {
            Style::Email => {
                let n = if self.distinct {
                    format!(".{row}")
                } else if rng.chance(0.5) {
                    format!("{}", rng.below(100))
                } else {
                    String::new()
                };
                format!(
                    "{}.{}{n}@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    rng.pick(words::EMAIL_DOMAINS)
                )
            }
            Style::FirstName => format!("{first}{}", suffix(self.distinct)),
            Style::LastName => format!("{last}{}", suffix(self.distinct)),
            Style::FullName => {
                if self.distinct {
                    format!("{first} {last} {row}")
                } else {
                    format!("{first} {last}")
                }
            }
            Style::Username => format!(
                "{}{}{}",
                first.to_lowercase(),
                last.chars().next().unwrap_or('x').to_ascii_lowercase(),
                if self.distinct { row } else { rng.below(1000) }
            ),
            Style::Url => {
                let host = rng.pick(&[
                    "app.example.com",
                    "www.example.org",
                    "push.example.net",
                    "example.com",
                ]);
                format!(
                    "https://{host}/{}/{}{}",
                    rng.pick(words::WORDS),
                    rng.pick(words::WORDS),
                    if self.distinct {
                        format!("-{row}")
                    } else {
                        String::new()
                    }
                )
            }
            Style::ImageUrl => format!(
                "https://cdn.example.com/images/{}{}.png",
                hex(rng, 8),
                suffix(self.distinct)
            ),
            Style::Phone => {
                if self.distinct {
                    format!("+1 555 {:07}", row % 10_000_000)
                } else {
                    format!("+1 555 {:03} {:04}", rng.below(1000), rng.below(10_000))
                }
            }
            Style::Hash if self.password => {
                // The shape of a real password hash (argon2id PHC), not one
                // that verifies.
                format!(
                    "$argon2id$v=19$m=19456,t=2,p=1${}${}",
                    base64url(rng, 16).replace(['-', '_'], "A"),
                    base64url(rng, 32).replace(['-', '_'], "B")
                )
            }
            Style::Hash => {
                let mut text = hex(rng, 64);
                if self.distinct {
                    let tail = format!("{row:x}");
                    text.truncate(64 - tail.len());
                    text.push_str(&tail);
                }
                text
            }
            Style::Secret => {
                let mut text = base64url(rng, 32);
                if self.distinct {
                    let _ = write!(text, "{row:x}");
                }
                text
            }
            Style::Ip => ipv4(rng),
            Style::UserAgent => (*rng.pick(words::USER_AGENTS)).to_owned(),
            Style::Title => {
                let n = 2 + rng.below(3) as usize;
                let text = capitalize(&words_joined(rng, n, " "));
                if self.distinct {
                    format!("{text} {row}")
                } else {
                    text
                }
            }
            Style::Sentence => {
                let n = 6 + rng.below(8) as usize;
                let text = sentence(rng, n);
                if self.distinct {
                    format!("{text} ({row})")
                } else {
                    text
                }
            }
            Style::Paragraph => {
                let count = 2 + rng.below(3);
                let text = (0..count)
                    .map(|_| {
                        let n = 6 + rng.below(10) as usize;
                        sentence(rng, n)
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                if self.distinct {
                    format!("{text} ({row})")
                } else {
                    text
                }
            }
            Style::Slug => {
                let text = words_joined(rng, 3, "-");
                if self.distinct {
                    format!("{text}-{row}")
                } else {
                    text
                }
            }
            Style::City => format!("{}{}", rng.pick(words::CITIES), suffix(self.distinct)),
            Style::Country => format!("{}{}", rng.pick(words::COUNTRIES).0, suffix(self.distinct)),
            Style::CountryCode => {
                if self.distinct {
                    two_letters(row)
                } else {
                    rng.pick(words::COUNTRIES).1.to_owned()
                }
            }
            Style::Region => format!("{}{}", rng.pick(words::REGIONS), suffix(self.distinct)),
            Style::Street => format!(
                "{} {}",
                if self.distinct {
                    row + 1
                } else {
                    1 + rng.below(250)
                },
                rng.pick(words::STREETS)
            ),
            Style::PostalCode => {
                if self.distinct {
                    format!("{row:05}")
                } else {
                    format!("{:05}", rng.below(100_000))
                }
            }
            Style::Company => format!(
                "{} {}{}",
                capitalize(rng.pick::<&str>(words::WORDS)),
                rng.pick(words::COMPANY_SUFFIXES),
                if self.distinct {
                    format!(" {row}")
                } else {
                    String::new()
                }
            ),
            Style::Currency => pick_or_row(rng, words::CURRENCIES, row, self.distinct),
            Style::Locale => pick_or_row(rng, words::LOCALES, row, self.distinct),
            Style::Timezone => pick_or_row(rng, words::TIMEZONES, row, self.distinct),
            Style::Color => {
                if self.distinct {
                    format!("#{:06x}", row % 0x100_0000)
                } else {
                    format!("#{}", hex(rng, 6))
                }
            }
            Style::Status => pick_or_row(rng, words::STATUSES, row, self.distinct),
            Style::EventType => pick_or_row(rng, words::EVENT_TYPES, row, self.distinct),
            Style::Provider => pick_or_row(rng, words::PROVIDERS, row, self.distinct),
            Style::Identifier => {
                if self.distinct {
                    // A bijection of the row number below 2^39: distinct, not sequential.
                    let mixed = row.wrapping_mul(0x9E37_79B9_7F4A_7C15) & ((1 << 39) - 1);
                    format!("{}", 1_000_000_000_000 + mixed)
                } else {
                    format!("{}", 100_000_000_000 + rng.below(900_000_000_000))
                }
            }
            Style::Code => {
                let mut text: String = (0..8)
                    .map(|_| {
                        char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rng.below(32) as usize])
                    })
                    .collect();
                if self.distinct {
                    let _ = write!(text, "-{row}");
                }
                text
            }
            Style::MimeType => (*rng.pick(words::MIME_TYPES)).to_owned(),
            Style::Version => format!("{}.{}.{}", rng.below(5), rng.below(20), rng.below(50)),
            Style::FilePath => format!(
                "uploads/{}/{}{}.{}",
                rng.pick(words::WORDS),
                rng.pick(words::WORDS),
                if self.distinct {
                    format!("-{row}")
                } else {
                    format!("-{}", rng.below(1000))
                },
                rng.pick(&["pdf", "png", "jpg", "csv", "txt"])
            ),
            _ => {
                let n = 1 + rng.below(2) as usize;
                let text = words_joined(rng, n, " ");
                if self.distinct {
                    format!("{text} {row}")
                } else {
                    text
                }
            }
        }
    }

    fn json(&self, rng: &mut Rng) -> String {
        match self.style {
            Style::JsonSettings => format!(
                r#"{{"theme": "{}", "notifications": {}, "language": "{}"}}"#,
                rng.pick(&["light", "dark", "system"]),
                rng.chance(0.7),
                rng.pick(&["en", "de", "fr", "es", "ja"])
            ),
            Style::JsonHours => {
                let start = 19 + rng.below(5);
                let end = 5 + rng.below(5);
                format!(
                    r#"{{"start": "{start:02}:00", "end": "{end:02}:00", "timezone": "{}"}}"#,
                    rng.pick(words::TIMEZONES)
                )
            }
            Style::JsonAddress => format!(
                r#"{{"street": "{} {}", "city": "{}", "country": "{}"}}"#,
                1 + rng.below(250),
                rng.pick(words::STREETS),
                rng.pick(words::CITIES),
                rng.pick(words::COUNTRIES).1
            ),
            Style::JsonList => {
                let n = 1 + rng.below(3);
                let items: Vec<String> = (0..n)
                    .map(|_| format!("\"{}\"", rng.pick(words::WORDS)))
                    .collect();
                format!("[{}]", items.join(", "))
            }
            _ => format!(
                r#"{{"source": "{}", "version": {}, "tags": ["{}", "{}"]}}"#,
                rng.pick(&["web", "ios", "android", "api", "cli"]),
                1 + rng.below(9),
                rng.pick(words::WORDS),
                rng.pick(words::WORDS)
            ),
        }
    }

    fn array(&self, rng: &mut Rng, element: &Base) -> Value {
        let n = rng.below(4) as usize;
        let mut items: Vec<Value> = Vec::with_capacity(n);
        for _ in 0..n {
            let item = match (element, self.style) {
                (Base::Text { .. }, Style::Scopes) => {
                    Value::Text((*rng.pick(words::SCOPES)).to_owned())
                }
                (Base::Text { .. }, _) => Value::Text((*rng.pick(words::WORDS)).to_owned()),
                (element, _) => Generator::new(element.clone(), Style::Plain).fresh(rng, 0),
            };
            if !items.contains(&item) {
                items.push(item);
            }
        }
        Value::Array(items)
    }
}

/// The usual range of a numeric style.
fn number_range(style: Style) -> (f64, f64) {
    match style {
        Style::Age => (18.0, 90.0),
        Style::Year => (1970.0, 2025.0),
        Style::Rating => (1.0, 5.0),
        Style::Percent | Style::Position => (0.0, 100.0),
        Style::Count => (0.0, 500.0),
        Style::Attempts => (0.0, 5.0),
        Style::Port => (1024.0, 65535.0),
        Style::Duration => (1.0, 3600.0),
        Style::Money => (1.0, 999.99),
        Style::Bytes => (1.0, 10_000_000.0),
        Style::Latitude => (-90.0, 90.0),
        Style::Longitude => (-180.0, 180.0),
        Style::Ratio => (0.0, 1.0),
        _ => (0.0, 1000.0),
    }
}

/// A distinct text that fits `max` characters: the row number replaces
/// the end when the text is too long.
fn fit_distinct(text: &str, max: usize, row: u64) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let tail = format!("{row}");
    if tail.len() >= max {
        return tail
            .chars()
            .rev()
            .take(max)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
    }
    let mut out: String = text.chars().take(max - tail.len()).collect();
    out.push_str(&tail);
    out
}

fn pick_or_row(rng: &mut Rng, items: &[&str], row: u64, distinct: bool) -> String {
    if distinct {
        let i = usize::try_from(row).unwrap_or(0);
        let base = items[i % items.len()];
        if i < items.len() {
            base.to_owned()
        } else {
            format!("{base}-{}", i / items.len())
        }
    } else {
        (*rng.pick(items)).to_owned()
    }
}

fn two_letters(row: u64) -> String {
    let a = char::from(b'A' + u8::try_from(row / 26 % 26).unwrap_or(0));
    let b = char::from(b'A' + u8::try_from(row % 26).unwrap_or(0));
    format!("{a}{b}")
}

fn hex(rng: &mut Rng, len: usize) -> String {
    let mut text = String::with_capacity(len + 16);
    while text.len() < len {
        let _ = write!(text, "{:016x}", rng.next_u64());
    }
    text.truncate(len);
    text
}

fn base64url(rng: &mut Rng, bytes: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..bytes * 4 / 3)
        .map(|_| char::from(ALPHABET[rng.below(64) as usize]))
        .collect()
}

fn ipv4(rng: &mut Rng) -> String {
    let first = loop {
        let octet = 1 + rng.below(223);
        if octet != 10 && octet != 127 {
            break octet;
        }
    };
    format!(
        "{first}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

fn words_joined(rng: &mut Rng, n: usize, separator: &str) -> String {
    (0..n.max(1))
        .map(|_| *rng.pick(words::WORDS))
        .collect::<Vec<_>>()
        .join(separator)
}

fn sentence(rng: &mut Rng, n: usize) -> String {
    let mut text = capitalize(
        &(0..n.max(1))
            .map(|_| *rng.pick(words::SENTENCE_WORDS))
            .collect::<Vec<_>>()
            .join(" "),
    );
    text.push('.');
    text
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read() {
        assert_eq!(
            Base::parse("character varying(100)"),
            Some(Base::Text {
                max_len: Some(100),
                fixed: false
            })
        );
        assert_eq!(
            Base::parse("numeric(10,2)"),
            Some(Base::Decimal {
                scale: 2,
                max_units: Some(9_999_999_999)
            })
        );
        assert_eq!(
            Base::parse("text[]"),
            Some(Base::Array(Box::new(Base::Text {
                max_len: None,
                fixed: false
            })))
        );
        assert_eq!(
            Base::parse("timestamp(3) with time zone"),
            Some(Base::TimestampTz)
        );
        assert_eq!(Base::parse("geometry"), None);
    }

    #[test]
    fn names_guess_meanings() {
        let text = Base::Text {
            max_len: None,
            fixed: false,
        };
        assert_eq!(Style::guess("email", "users", &text), Style::Email);
        assert_eq!(Style::guess("name", "users", &text), Style::FullName);
        assert_eq!(Style::guess("name", "products", &text), Style::Title);
        assert_eq!(Style::guess("avatar_url", "users", &text), Style::ImageUrl);
        assert_eq!(Style::guess("token_hash", "sessions", &text), Style::Hash);
        assert_eq!(
            Style::guess("expires_at", "sessions", &Base::TimestampTz),
            Style::Future
        );
        assert_eq!(
            Style::guess("created_at", "sessions", &Base::TimestampTz),
            Style::Past
        );
    }

    #[test]
    fn distinct_values_differ_and_fit() {
        let mut generator = Generator::new(
            Base::Text {
                max_len: Some(12),
                fixed: false,
            },
            Style::Email,
        );
        generator.distinct = true;
        let mut rng = Rng::new(1, 1);
        let values: std::collections::BTreeSet<String> = (0..2000)
            .map(|row| match generator.value(&mut rng, row) {
                Value::Text(t) => {
                    assert!(t.chars().count() <= 12, "{t}");
                    t
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values.len(), 2000);
    }

    #[test]
    fn check_bounds_win_over_the_style() {
        let mut generator = Generator::new(
            Base::Int {
                min: i64::from(i32::MIN),
                max: i64::from(i32::MAX),
            },
            Style::Age,
        );
        generator.min = Some(100.0);
        let mut rng = Rng::new(3, 3);
        for row in 0..1000 {
            let Value::Int(v) = generator.value(&mut rng, row) else {
                panic!()
            };
            assert!(v >= 100, "{v}");
        }
    }
}
