-- Accounts linked through OAuth providers.

CREATE TYPE oauth_provider AS ENUM ('google', 'github', 'apple');

CREATE TABLE oauth_connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider oauth_provider NOT NULL,
    provider_user_id text NOT NULL,
    provider_email text,
    access_token_encrypted text,
    refresh_token_encrypted text,
    token_expires_at timestamptz,
    scopes text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_connections_provider_account_key UNIQUE (provider, provider_user_id)
);

CREATE INDEX oauth_connections_user_id_idx ON oauth_connections (user_id);
