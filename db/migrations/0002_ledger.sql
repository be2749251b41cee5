-- The message ledger: every message consumed from a topic ends as exactly one of counted
-- (a row in `ballots`), rejected (a row in `rejected_ballots`) or a duplicate of a ballot
-- already counted (a row in `duplicate_ballots`), each keyed by its position in the log.
-- Per partition, the three add up to `consumer_offsets.messages`.

-- Counted ballots remember the topic they came from, so a position names one message.
alter table ballots add column kafka_topic text not null default 'votes';

-- Rejections are keyed by position, not by bytes: two distinct messages with the same
-- bytes are two rejections; a redelivered position is still one.
alter table rejected_ballots drop constraint rejected_ballots_pkey;
delete from rejected_ballots a using rejected_ballots b
  where a.topic = b.topic and a.kafka_partition = b.kafka_partition and a.kafka_offset = b.kafka_offset
    and a.ctid > b.ctid;
alter table rejected_ballots drop column dedupe_key;
alter table rejected_ballots add primary key (topic, kafka_partition, kafka_offset);

-- A ballot that repeats one already counted (same ballot id, election and voter): a
-- redelivery by a producer that retried. Recorded with the position of the one it repeats.
create table duplicate_ballots (
  topic               text not null,
  kafka_partition     integer not null,
  kafka_offset        bigint not null,
  election_id         text not null,
  voter_id            text not null,
  ballot_id           uuid not null,
  original_topic      text not null,
  original_partition  integer not null,
  original_offset     bigint not null,
  recorded_at         timestamptz not null default now(),
  primary key (topic, kafka_partition, kafka_offset)
);
create index duplicate_by_election on duplicate_ballots (election_id);

-- How many messages each group has accounted for per partition (offsets need not be
-- contiguous, so this is counted, not derived from the offset). Rows that predate the
-- ledger assume a log that started at offset 0.
alter table consumer_offsets add column messages bigint;
update consumer_offsets set messages = next_offset;
alter table consumer_offsets alter column messages set not null, alter column messages set default 0;

-- The end of every partition when the polls closed: a ballot for a closing election is
-- accepted only if it lies below the mark of its partition. The position in the log is
-- something the producer cannot write, unlike `castAt`.
create table poll_close_marks (
  election_id      text not null references elections (id) on delete cascade,
  topic            text not null,
  kafka_partition  integer not null,
  high_offset      bigint not null,
  primary key (election_id, topic, kafka_partition)
);

-- The ledger per partition: what was consumed against what it became.
create view message_ledger as
  with counted as (
    select kafka_topic as topic, kafka_partition as partition, count(*) as n from ballots group by 1, 2
  ), rejected as (
    select topic, kafka_partition as partition, count(*) as n from rejected_ballots group by 1, 2
  ), duplicates as (
    select topic, kafka_partition as partition, count(*) as n from duplicate_ballots group by 1, 2
  )
  select o.group_id, o.topic, o.partition, o.next_offset, o.messages,
         coalesce(c.n, 0)::bigint as counted, coalesce(r.n, 0)::bigint as rejected, coalesce(d.n, 0)::bigint as duplicates,
         o.messages = coalesce(c.n, 0) + coalesce(r.n, 0) + coalesce(d.n, 0) as balanced
  from consumer_offsets o
  left join counted c on c.topic = o.topic and c.partition = o.partition
  left join rejected r on r.topic = o.topic and r.partition = o.partition
  left join duplicates d on d.topic = o.topic and d.partition = o.partition;
