-- Ranked-choice contests (issue 27). A candidate contest may carry ranked-choice rules
-- (domain/rcv/rules.ts, stored as given after defaults): its marks in the ballot box are
-- rankings, and its rounds are tabulated from the distinct rankings below.
alter table contests add column rcv jsonb check (rcv is null or (jsonb_typeof(rcv) = 'object' and votes_allowed = 1));

-- Per ranked contest, each distinct ranking (its canonical form, as stored in the box's
-- marks: the text of `marks -> contest`, '[]' when the contest was left blank) and the
-- ballots that carry it. One writer: the ballot box's mixer, in the transaction that moves
-- the ballots from pending into the box, so a ranking is counted exactly once and its row
-- shares a transaction with the whole mixing window, never with a counting batch (and so
-- never with the poll book rows of a batch). No region, no channel, no time: rankings
-- per precinct are read from the box itself, on request.
create table rcv_rankings (
  election_id  text not null,
  contest_id   text not null,
  ranking      text not null,
  ballots      bigint not null check (ballots > 0),
  primary key (election_id, contest_id, ranking),
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade
);
