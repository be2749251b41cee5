-- Casting through the API: the receipt (this voter has voted) and the ballot are written
-- in one transaction, the ballot into this outbox. A relay publishes the outbox to
-- `votes` and deletes what it published; a re-publish after a crash carries the same
-- ballot id, so the tally records it as a duplicate and counts nothing twice. A 202 from
-- the API therefore means "will be counted": closing the polls drains the outbox first.
create table ballot_outbox (
  id           bigserial primary key,
  election_id  text not null,
  voter_id     text not null,
  ballot_id    uuid not null,
  payload      bytea not null,
  created_at   timestamptz not null default now()
);
create index ballot_outbox_by_election on ballot_outbox (election_id, id);
