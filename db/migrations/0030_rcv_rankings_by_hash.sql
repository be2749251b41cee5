-- A ranking is keyed by its SHA-256, not by its text (review of issue 27): an index entry
-- holds at most ~2.7 kB, and a ranking whose ranks list many long candidate ids is longer,
-- so one such ballot made every later mix fail — for every election, as the mixer moves
-- them all in one statement. The text stays, unindexed, for the rounds to read.
alter table rcv_rankings drop constraint rcv_rankings_pkey;
alter table rcv_rankings add column ranking_sha256 bytea;
update rcv_rankings set ranking_sha256 = sha256(convert_to(ranking, 'UTF8'));
alter table rcv_rankings alter column ranking_sha256 set not null;
alter table rcv_rankings add constraint rcv_rankings_pkey primary key (election_id, contest_id, ranking_sha256);
