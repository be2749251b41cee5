-- A ranked contest's public rounds move at least 10 ranking ballots at a time (issue #24,
-- the secret ballot: public outputs never reveal a single new ballot's choice).
--
-- The mixer adds each window's rankings to `rcv_rankings` (0029), which the public rounds
-- read. In a quiet hour a window can hold one ballot of a small ranked contest, and the
-- rounds then move by that voter's ranking. Now a window's rankings of a contest wait here
-- until the contest's waiting rankings reach the floor (the mixer's, 10 by default), and
-- then move to `rcv_rankings` together; an election's final mix (its certification's
-- recount) moves what is left, so the certified rounds are exact. Counts of rankings only:
-- no ballot, region, channel or time. The race calls read `rcv_rankings`, these and what is
-- still pending (every counted ballot); the public reads `rcv_rankings` only.
create table rcv_rankings_held (
  election_id    text not null,
  contest_id     text not null,
  ranking        text not null,
  ranking_sha256 bytea not null,
  ballots        bigint not null check (ballots > 0),
  primary key (election_id, contest_id, ranking_sha256),
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade
);
