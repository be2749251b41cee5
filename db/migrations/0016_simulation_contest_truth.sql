-- What a simulation with contests generated, per contest × line × region × channel (a line
-- is a selection, the write-in line included, or :ballots, :undervotes, :overvotes), to
-- check the count of every contest against.
create table simulation_contest_truth (
  election_id  text not null references elections (id) on delete cascade,
  contest_id   text not null,
  line         text not null,
  region_id    text not null,
  channel      text not null,
  n            bigint not null,
  primary key (election_id, contest_id, line, region_id, channel)
);
