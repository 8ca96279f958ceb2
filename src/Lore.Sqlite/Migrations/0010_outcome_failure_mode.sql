-- The failure mode an episode was judged with (issue 13): when a failure classifier labels a failed episode as its
-- outcome is recorded, the mode is stored with that outcome, so evaluation, diffs and the dashboard count the episode
-- under the mode the rollout monitor decided on. Null for outcomes no classifier labelled (the built-in signature applies).
ALTER TABLE outcomes ADD COLUMN failure_mode TEXT;
