-- Whether the latest poll came sooner than the interval, set by the same UPDATE that records
-- the poll, so one statement both applies the slow_down rule and reports its outcome.
ALTER TABLE device_grants ADD COLUMN last_poll_early INTEGER NOT NULL DEFAULT 0;
