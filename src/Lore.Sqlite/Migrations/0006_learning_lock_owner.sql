-- The learning lock names the process that holds it (host and process id) and when it last renewed it, so a lock left
-- by a process that died (kill -9, power loss) is recognised at once on the same host, rather than after its lease.
ALTER TABLE learning_locks ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_locks ADD COLUMN owner_pid  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learning_locks ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;   -- UTC ticks of the last renewal
