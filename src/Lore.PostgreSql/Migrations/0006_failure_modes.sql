-- Failure modes (issue 13): an outcome may name the kind of failure (category) and why (reason), and the shared rollout
-- tally records each judged canary episode's failure mode (null for a success), so every host measures how the mix
-- of failures moved between the arms from the same rows.
ALTER TABLE outcomes ADD COLUMN category text;
ALTER TABLE outcomes ADD COLUMN reason text;
ALTER TABLE rollout_outcomes ADD COLUMN failure_mode text;
