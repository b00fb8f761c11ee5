-- 002: checkpoints.unit_count, how many units rows the store itself wrote for the checkpoint (its
-- inserts minus its deletes, in the same transactions). A run compares it with the rows there to
-- tell units deleted behind its back (a DBA's DELETE or TRUNCATE) from a job with nothing left.
-- Every statement can run again without harm. Rollback: ALTER TABLE ... DROP COLUMN unit_count.
ALTER TABLE {{schema}}.checkpoints ADD COLUMN IF NOT EXISTS unit_count bigint;
UPDATE {{schema}}.checkpoints c
   SET unit_count = (SELECT count(*) FROM {{schema}}.units u WHERE u.checkpoint = c.id)
 WHERE unit_count IS NULL;
ALTER TABLE {{schema}}.checkpoints ALTER COLUMN unit_count SET DEFAULT 0;
ALTER TABLE {{schema}}.checkpoints ALTER COLUMN unit_count SET NOT NULL;
