-- Passwordless sign-in links.

CREATE TABLE magic_link_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    redirect_to text,
    ip_address inet,
    user_agent text,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT magic_link_tokens_expiry_check CHECK (expires_at > created_at)
);

CREATE INDEX magic_link_tokens_email_idx ON magic_link_tokens (lower(email), created_at DESC);
