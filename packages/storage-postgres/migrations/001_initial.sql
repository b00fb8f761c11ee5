-- 001: the tables of a CheckpointKit store. Every statement can run again without harm.
-- {{schema}} is the store's schema, quoted. Rollback: DROP SCHEMA {{schema}} CASCADE.

-- One row per checkpoint. created_at and changed_at are the model's createdAt and updatedAt
-- (the time of its latest change); updated_at is when the row was last written (a trigger).
CREATE TABLE IF NOT EXISTS {{schema}}.checkpoints (
  id text PRIMARY KEY,
  format text NOT NULL DEFAULT 'checkpointkit/1',
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  config_digest text,
  meta jsonb NOT NULL DEFAULT '{}',
  save_count integer NOT NULL DEFAULT 0,
  last_save_reason text,
  created_at timestamptz NOT NULL,
  changed_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per unit; seq keeps plan order. lease_owner/lease_expires_at: the worker that claimed it.
-- updated_at is set by the store's own statements (a per-row trigger would cost every flush).
-- Few indexes, and room on each page, keep a flush's updates cheap (progress updates are HOT).
CREATE TABLE IF NOT EXISTS {{schema}}.units (
  checkpoint text NOT NULL REFERENCES {{schema}}.checkpoints (id) ON DELETE CASCADE,
  key text NOT NULL,
  seq bigserial NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'in_progress', 'complete', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  cursor jsonb,
  done double precision NOT NULL DEFAULT 0,
  total double precision,
  error jsonb,
  started_at timestamptz,
  completed_at timestamptz,
  lease_owner text,
  lease_expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (checkpoint, key)
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS units_open ON {{schema}}.units (checkpoint, seq) WHERE status <> 'complete';
CREATE INDEX IF NOT EXISTS units_leased ON {{schema}}.units (checkpoint, lease_expires_at)
  WHERE lease_owner IS NOT NULL;

-- Id maps: namespace (the map's name), source id -> target id (a JSON string or number).
CREATE TABLE IF NOT EXISTS {{schema}}.id_maps (
  checkpoint text NOT NULL REFERENCES {{schema}}.checkpoints (id) ON DELETE CASCADE,
  namespace text NOT NULL,
  source_id text NOT NULL,
  target_id jsonb NOT NULL,
  seq bigserial NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (checkpoint, namespace, source_id)
);

CREATE TABLE IF NOT EXISTS {{schema}}.counters (
  checkpoint text NOT NULL REFERENCES {{schema}}.checkpoints (id) ON DELETE CASCADE,
  name text NOT NULL,
  value double precision NOT NULL DEFAULT 0,
  seq bigserial NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (checkpoint, name)
);

-- One row per run (seed 004's crawl_session): who ran it, how it ended, what it did. Kept when
-- its checkpoint is deleted.
CREATE TABLE IF NOT EXISTS {{schema}}.sessions (
  session_id text PRIMARY KEY,
  checkpoint text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('exclusive', 'worker')),
  worker text,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'stopped', 'failed')),
  units_completed integer NOT NULL DEFAULT 0,
  units_failed integer NOT NULL DEFAULT 0,
  items_processed double precision NOT NULL DEFAULT 0,
  flushes integer NOT NULL DEFAULT 0,
  options jsonb NOT NULL DEFAULT '{}',
  error text,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sessions_by_checkpoint ON {{schema}}.sessions (checkpoint, started_at);

-- The flushes that committed, by id: a flush retried after a broken connection is applied once.
CREATE TABLE IF NOT EXISTS {{schema}}.flushes (
  batch_id uuid PRIMARY KEY,
  checkpoint text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS flushes_by_time ON {{schema}}.flushes (at);

CREATE OR REPLACE FUNCTION {{schema}}.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS touch_updated_at ON {{schema}}.checkpoints;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON {{schema}}.checkpoints
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.touch_updated_at();
DROP TRIGGER IF EXISTS touch_updated_at ON {{schema}}.counters;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON {{schema}}.counters
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.touch_updated_at();
DROP TRIGGER IF EXISTS touch_updated_at ON {{schema}}.sessions;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON {{schema}}.sessions
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.touch_updated_at();
