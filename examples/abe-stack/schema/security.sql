-- Security audit trail: sign-ins, lockouts, token reuse, role changes.

CREATE TYPE security_severity AS ENUM ('low', 'medium', 'high', 'critical');

CREATE TABLE security_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    email text,
    event_type varchar(64) NOT NULL,
    severity security_severity NOT NULL DEFAULT 'low',
    ip_address inet,
    user_agent text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX security_events_user_created_idx ON security_events (user_id, created_at DESC);
CREATE INDEX security_events_type_idx ON security_events (event_type, created_at DESC);
CREATE INDEX security_events_severe_idx ON security_events (created_at DESC) WHERE severity IN ('high', 'critical');
