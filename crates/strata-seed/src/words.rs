//! Word lists for realistic values. Small on purpose: variety comes from
//! combining them; every domain is a reserved example domain (RFC 2606).

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Carlos", "Chen", "Chloe", "Dmitri",
    "Elena", "Emeka", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana",
    "Jonas", "Kai", "Kenji", "Lara", "Leila", "Liam", "Lucia", "Mai", "Marco", "Maya", "Mei",
    "Mohammed", "Nadia", "Noah", "Nora", "Olga", "Omar", "Pablo", "Priya", "Rafael", "Rosa",
    "Sami", "Sara", "Sofia", "Tariq", "Tomas", "Uma", "Yara", "Zoe",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Abe", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Chen", "Costa", "Dubois",
    "Eriksen", "Fischer", "Garcia", "Gupta", "Haddad", "Hansen", "Ibrahim", "Ito", "Jensen",
    "Khan", "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura",
    "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Suzuki", "Tanaka", "Torres", "Varga", "Wagner", "Wang", "Weber", "Yilmaz",
    "Zhang", "Zimmer",
];

pub(crate) const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];

pub(crate) const WORDS: &[&str] = &[
    "amber", "anchor", "apple", "arrow", "atlas", "autumn", "beacon", "birch", "bloom", "breeze",
    "bridge", "canyon", "cedar", "cloud", "comet", "coral", "crystal", "dawn", "delta", "ember",
    "falcon", "fern", "field", "forest", "garden", "glacier", "harbor", "hazel", "horizon",
    "island", "jade", "lagoon", "lantern", "maple", "meadow", "mesa", "mist", "moss", "nova",
    "oak", "ocean", "orbit", "pebble", "pine", "prairie", "quartz", "rain", "raven", "reef",
    "ridge", "river", "sage", "shadow", "sierra", "slate", "spark", "spruce", "stone", "summit",
    "sun", "thunder", "tide", "timber", "valley", "willow", "wind", "winter", "zephyr",
];

pub(crate) const SENTENCE_WORDS: &[&str] = &[
    "the", "a", "quick", "small", "team", "update", "review", "report", "new", "project", "plan",
    "release", "notes", "for", "with", "and", "about", "our", "weekly", "customer", "feedback",
    "design", "draft", "final", "summary", "meeting", "idea", "issue", "fix", "feature", "launch",
    "improve", "check", "order", "service", "account", "data",
];

pub(crate) const CITIES: &[&str] = &[
    "Amsterdam",
    "Austin",
    "Barcelona",
    "Berlin",
    "Bogota",
    "Cape Town",
    "Chicago",
    "Copenhagen",
    "Dublin",
    "Helsinki",
    "Istanbul",
    "Kyoto",
    "Lagos",
    "Lisbon",
    "London",
    "Lyon",
    "Melbourne",
    "Montreal",
    "Mumbai",
    "Nairobi",
    "Osaka",
    "Oslo",
    "Prague",
    "Santiago",
    "Seoul",
    "Singapore",
    "Toronto",
    "Vienna",
    "Warsaw",
    "Zurich",
];

pub(crate) const COUNTRIES: &[(&str, &str)] = &[
    ("Argentina", "AR"),
    ("Australia", "AU"),
    ("Brazil", "BR"),
    ("Canada", "CA"),
    ("Chile", "CL"),
    ("Denmark", "DK"),
    ("France", "FR"),
    ("Germany", "DE"),
    ("India", "IN"),
    ("Ireland", "IE"),
    ("Italy", "IT"),
    ("Japan", "JP"),
    ("Kenya", "KE"),
    ("Mexico", "MX"),
    ("Netherlands", "NL"),
    ("Nigeria", "NG"),
    ("Norway", "NO"),
    ("Poland", "PL"),
    ("Portugal", "PT"),
    ("South Korea", "KR"),
    ("Spain", "ES"),
    ("Sweden", "SE"),
    ("Switzerland", "CH"),
    ("United Kingdom", "GB"),
    ("United States", "US"),
];

pub(crate) const REGIONS: &[&str] = &[
    "Bavaria",
    "California",
    "Catalonia",
    "Ontario",
    "Queensland",
    "Texas",
    "Tuscany",
    "Quebec",
    "Victoria",
    "Hokkaido",
];

pub(crate) const STREETS: &[&str] = &[
    "Main Street",
    "High Street",
    "Oak Avenue",
    "Maple Road",
    "Station Road",
    "Park Lane",
    "Church Street",
    "Mill Lane",
    "River Road",
    "Hill Street",
    "Elm Street",
    "Market Square",
];

pub(crate) const COMPANY_SUFFIXES: &[&str] = &[
    "Labs", "Systems", "Works", "Group", "Studio", "Co", "Partners",
];

pub(crate) const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK"];

pub(crate) const LOCALES: &[&str] = &[
    "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "nl-NL",
];

pub(crate) const TIMEZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
];

pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "curl/8.5.0",
];

pub(crate) const STATUSES: &[&str] = &["active", "pending", "inactive", "archived"];

pub(crate) const EVENT_TYPES: &[&str] = &[
    "login.success",
    "login.failure",
    "logout",
    "password.changed",
    "password.reset",
    "email.verified",
    "session.revoked",
    "token.reused",
    "account.locked",
    "role.changed",
];

pub(crate) const PROVIDERS: &[&str] = &["google", "github", "apple", "microsoft"];

pub(crate) const SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "read",
    "write",
    "offline_access",
];

pub(crate) const MIME_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "application/pdf",
    "text/plain",
    "application/json",
    "text/csv",
];
