-- Rejected messages' raw bytes (up to 1 MB each) are evidence while an election can still
-- be examined, and a liability after: the tally replaces them, once the election is
-- certified + TALLY_REJECTED_RAW_KEEP_DAYS (or, for a message of no known election, that
-- long after it was rejected), by their SHA-256 and size. `raw` becomes empty.
alter table rejected_ballots add column raw_sha256 bytea;
alter table rejected_ballots add column raw_bytes integer;
alter table rejected_ballots add column raw_purged_at timestamptz;
create index rejected_raw_kept on rejected_ballots (rejected_at) where raw_purged_at is null;
