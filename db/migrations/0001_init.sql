-- VoteStream schema. Ground truth lives in `ballots` (one row per counted ballot, one
-- ballot per voter per election, enforced here). Running counts are kept per Kafka
-- partition so several tally instances never write the same row; the views sum them.

create table elections (
  id             text primary key,
  name           text not null,
  status         text not null default 'draft'
                 check (status in ('draft', 'open', 'closing', 'closed', 'certified')),
  simulated      boolean not null default false,
  settings       jsonb not null default '{}',
  created_at     timestamptz not null default now(),
  opened_at      timestamptz,
  closed_at      timestamptz,           -- polls closed: ballots cast after this are rejected
  -- Messages sent to `votes` for this election, when the producer knows (set at closing):
  -- once counted + rejected reaches it, everything has been counted.
  produced_ballots bigint,
  -- Bumped (from results_version) by status changes and race calls; with the versions
  -- of the counts and rejections it makes the results version.
  version        bigint not null default 0,
  certified_at   timestamptz
);

create table regions (
  election_id        text not null references elections (id) on delete cascade,
  id                 text not null,
  name               text not null,
  state              text not null,     -- the state or district a region belongs to
  registered_voters  integer not null check (registered_voters >= 0),
  lat                double precision,
  lon                double precision,
  position           integer not null default 0,
  primary key (election_id, id)
);

create table candidates (
  election_id  text not null references elections (id) on delete cascade,
  id           text not null,
  name         text not null,
  party        text,
  position     integer not null default 0,
  primary key (election_id, id)
);

-- The voter roll. Credentials for casting through the API are stored hashed only.
create table voters (
  election_id   text not null,
  id            text not null,
  region_id     text not null,
  token_hash    bytea,
  primary key (election_id, id),
  foreign key (election_id, region_id) references regions (election_id, id) on delete cascade
);
create unique index voters_by_token on voters (election_id, token_hash) where token_hash is not null;

create table ballots (
  election_id      text not null,
  voter_id         text not null,
  ballot_id        uuid not null,
  candidate_id     text not null,
  region_id        text not null,
  channel          text not null check (channel in ('election_day', 'early', 'mail')),
  cast_at          timestamptz not null,
  counted_at       timestamptz not null default now(),
  kafka_partition  integer not null,
  kafka_offset     bigint not null,
  -- one vote per voter per election: a constraint, not a convention
  primary key (election_id, voter_id)
);
create unique index ballots_ballot_id on ballots (ballot_id);

-- Running counts, one row per (election, candidate, region, channel, partition).
create table tally_counts (
  election_id      text not null,
  candidate_id     text not null,
  region_id        text not null,
  channel          text not null,
  kafka_partition  integer not null,
  votes            bigint not null,
  version          bigint not null,     -- results_version of the batch that last changed it
  primary key (election_id, candidate_id, region_id, channel, kafka_partition)
);

-- Per-minute buckets of cast time, for trends.
create table trend_buckets (
  election_id      text not null,
  candidate_id     text not null,
  minute           timestamptz not null,
  kafka_partition  integer not null,
  votes            bigint not null,
  primary key (election_id, candidate_id, minute, kafka_partition)
);

-- Where each consumer group has counted up to: the next offset to read, per partition.
-- Written in the same transaction as the counts it covers.
create table consumer_offsets (
  group_id     text not null,
  topic        text not null,
  partition    integer not null,
  next_offset  bigint not null,
  updated_at   timestamptz not null default now(),
  primary key (group_id, topic, partition)
);

-- Every ballot not counted, with why. A rejection is recorded once: keyed by its ballot
-- id, or by a hash of its bytes when it has none, so a redelivered or re-sent message
-- is not recorded twice.
create table rejected_ballots (
  dedupe_key       text primary key,
  topic            text not null,
  kafka_partition  integer not null,
  kafka_offset     bigint not null,
  election_id      text,
  voter_id         text,
  ballot_id        text,
  reason           text not null,
  detail           text not null,
  raw              bytea not null,
  cast_at          timestamptz,
  rejected_at      timestamptz not null default now(),
  version          bigint not null
);
create index rejected_by_election on rejected_ballots (election_id, reason);
create index rejected_by_version on rejected_ballots (election_id, version);

-- Results versions: every change to what results show takes the next value, so a
-- larger version is a later result and an unchanged result keeps its version.
create sequence results_version;

-- Ballots cast through the API: the receipt is taken before the ballot is published,
-- so a voter's second attempt is refused at once (the tally would reject it anyway).
create table cast_receipts (
  election_id  text not null,
  voter_id     text not null,
  ballot_id    uuid not null,
  cast_at      timestamptz not null default now(),
  primary key (election_id, voter_id)
);

create table reconciliation_reports (
  id              bigserial primary key,
  election_id     text not null references elections (id) on delete cascade,
  ran_at          timestamptz not null default now(),
  final           boolean not null default false,
  ballots         bigint not null,
  tallied         bigint not null,
  differences     jsonb not null,      -- [{candidateId, regionId, channel, ballots, tallied}]
  repaired        boolean not null,
  verdict         text not null check (verdict in ('match', 'repaired'))
);

create table trend_snapshots (
  election_id  text not null references elections (id) on delete cascade,
  taken_at     timestamptz not null default now(),
  candidate_id text not null,
  votes        bigint not null,
  primary key (election_id, taken_at, candidate_id)
);

-- What a simulation generated, to check the count against.
create table simulation_truth (
  election_id   text not null references elections (id) on delete cascade,
  candidate_id  text not null,
  region_id     text not null,
  votes         bigint not null,
  primary key (election_id, candidate_id, region_id)
);

create table simulation_injected (
  election_id  text not null references elections (id) on delete cascade,
  reason       text not null,
  ballots      bigint not null,
  primary key (election_id, reason)
);

create table race_calls (
  election_id   text primary key references elections (id) on delete cascade,
  candidate_id  text not null,
  called_at     timestamptz not null default now(),
  rule          text not null,
  figures       jsonb not null
);

-- Read-side views: the running counts summed over partitions.
create view tallies as
  select election_id, candidate_id, sum(votes)::bigint as votes
  from tally_counts group by election_id, candidate_id;

create view turnout as
  select r.election_id, r.id as region_id, r.name, r.state, r.registered_voters, r.lat, r.lon,
         coalesce(sum(t.votes), 0)::bigint as ballots,
         case when r.registered_voters > 0
              then round(100.0 * coalesce(sum(t.votes), 0) / r.registered_voters, 2) else 0 end as percent
  from regions r left join tally_counts t on t.election_id = r.election_id and t.region_id = r.id
  group by r.election_id, r.id;

-- The two queries of the system VoteStream replaces work verbatim against these:
--   SELECT candidate, COUNT(*) FROM votes GROUP BY candidate;
--   SELECT state, COUNT(*) FROM turnout_by_location GROUP BY state;
create view votes as
  select b.election_id, c.name as candidate, b.candidate_id, b.region_id, b.channel, b.cast_at
  from ballots b join candidates c on c.election_id = b.election_id and c.id = b.candidate_id;

create view turnout_by_location as
  select b.election_id, r.state, r.name as region, b.region_id, b.voter_id, b.cast_at
  from ballots b join regions r on r.election_id = b.election_id and r.id = b.region_id;
