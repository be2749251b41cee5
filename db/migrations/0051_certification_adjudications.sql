-- An adjudication of a failing certification item (issue #25; helper-37's review): the one
-- a board can decide and the system cannot. Today only `one_partition_per_voter`: a voter
-- whose ballots lay on two partitions was counted once, exactly, but which of the ballots
-- counted was not the log's order — nothing in the database can settle that (the ballot
-- box does not know whose ballot is whose), so without a recorded decision the election
-- stayed closed for ever. The decision is the admin's, with its reason, public in the
-- certification check; it can be added, never changed or removed. Items the system can
-- prove (the ledger, the recount, the close marks…) cannot be adjudicated.
create table certification_adjudications (
  id             bigint generated always as identity primary key,
  election_id    text not null references elections (id) on delete cascade,
  item           text not null check (item in ('one_partition_per_voter')),
  reason         text not null check (char_length(reason) between 10 and 2000),
  adjudicated_at timestamptz not null default now()
);
create index certification_adjudications_by_election on certification_adjudications (election_id);

-- The API records them (POST /elections/{id}/certification/adjudications) and serves them;
-- the worker's role reads them for the checklist (0003's default privileges give it more:
-- it writes none).
grant select, insert (election_id, item, reason) on certification_adjudications to votestream_api;
