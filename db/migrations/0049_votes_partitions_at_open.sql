-- The partition count of `votes` when the polls opened (issue #25: fixed for an election's
-- life). Ballots are keyed by voter, so all of one voter's ballots lie on one partition and
-- the first of them in the log is the one that counts; partitions added while an election is
-- open send a voter's later ballots elsewhere, and which of two counts is then no longer
-- the log's order. Written by the workflow's open (activities/ballots.ts) and compared with
-- the close marks by certification, which also counts the voters whose ballots lie on two
-- partitions (a ballot rejected as duplicate_voter against the poll book's). Null for elections opened before,
-- or opened without the workflow.
alter table elections add column votes_partitions integer
  constraint elections_votes_partitions_positive check (votes_partitions > 0);
