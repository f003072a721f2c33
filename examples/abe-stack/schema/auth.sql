-- Auth: users, refresh-token sessions, one-time tokens.

CREATE TYPE user_role AS ENUM ('user', 'moderator', 'admin');

CREATE TYPE token_purpose AS ENUM ('email_verification', 'password_reset', 'email_change');

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    password_hash text,
    name varchar(100),
    avatar_url text,
    role user_role NOT NULL DEFAULT 'user',
    email_verified boolean NOT NULL DEFAULT false,
    email_verified_at timestamptz,
    failed_login_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_lowercase CHECK (email = lower(email)),
    CONSTRAINT users_failed_login_attempts_check CHECK (failed_login_attempts >= 0)
);

CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_idx ON users (role) WHERE role <> 'user';

COMMENT ON TABLE users IS 'Application accounts';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string; NULL for accounts that only sign in with OAuth or magic links';

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id uuid NOT NULL,
    token_hash text NOT NULL UNIQUE,
    ip_address inet,
    user_agent text,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_family_id_idx ON sessions (family_id);
CREATE INDEX sessions_active_idx ON sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose token_purpose NOT NULL,
    token_hash text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX tokens_user_purpose_idx ON tokens (user_id, purpose) WHERE used_at IS NULL;
