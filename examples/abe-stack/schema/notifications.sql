-- Web push subscriptions and per-user notification preferences.

CREATE TABLE push_subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint text NOT NULL UNIQUE,
    p256dh_key text NOT NULL,
    auth_key text NOT NULL,
    expiration_time timestamptz,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

CREATE INDEX push_subscriptions_user_id_idx ON push_subscriptions (user_id);

CREATE TABLE notification_preferences (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled boolean NOT NULL DEFAULT true,
    quiet_hours jsonb,
    types jsonb NOT NULL DEFAULT '{"security": true, "marketing": false}',
    updated_at timestamptz NOT NULL DEFAULT now()
);
