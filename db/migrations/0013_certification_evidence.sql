-- Certification checks its own evidence (issue 23).

-- Positions of the log the broker did not hand to the tally: transaction markers (control
-- records) and the records of aborted transactions. They advance the fence like a
-- message, and are counted apart, so that per partition
--   next_offset = messages + skipped + gapped
-- holds from offset 0: a position is a message, a skipped record, or a recorded gap.
alter table consumer_offsets add column skipped bigint not null default 0;
alter table consumer_offsets add column gapped bigint not null default 0;

-- Positions of the log that were never read: deleted by retention before the tally read
-- them (`missing`), or a log whose end lies below the stored offset (`log_truncated`: the
-- topic was re-created or truncated, so new messages sit below the fence). Recorded when
-- seen (at assignment, while counting, at the close); a gap detected after an election
-- opened blocks its certification. [from_offset, to_offset) is the range.
create table log_gaps (
  id               bigserial primary key,
  group_id         text not null,
  topic            text not null,
  kafka_partition  integer not null,
  from_offset      bigint not null,
  to_offset        bigint not null,
  kind             text not null check (kind in ('missing', 'log_truncated')),
  detail           text not null,
  detected_at      timestamptz not null default now(),
  unique (group_id, topic, kafka_partition, kind, from_offset, to_offset)
);

drop view message_ledger;
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
         o.skipped, o.gapped,
         o.messages = coalesce(c.n, 0) + coalesce(r.n, 0) + coalesce(d.n, 0) as balanced,
         o.next_offset = o.messages + o.skipped + o.gapped as contiguous
  from consumer_offsets o
  left join counted c on c.topic = o.topic and c.partition = o.partition
  left join rejected r on r.topic = o.topic and r.partition = o.partition
  left join duplicates d on d.topic = o.topic and d.partition = o.partition;

-- The certification checklist, one row per run: every item with its verdict and evidence.
-- An election certifies only after a run whose items all pass; a failing run leaves it
-- `closed`, and an operator re-runs the checks after a fix.
create table certification_checks (
  id           bigserial primary key,
  election_id  text not null references elections (id) on delete cascade,
  checked_at   timestamptz not null default now(),
  passed       boolean not null,
  items        jsonb not null
);
create index certification_checks_by_election on certification_checks (election_id, id desc);

-- Grafana shows the latest checklist of each election, item by item.
create view certification_checklist as
  select c.election_id, c.checked_at, c.passed as certifiable, i.ordinality::int as position,
         i.item ->> 'id' as item, i.item ->> 'title' as title, (i.item ->> 'passed')::boolean as passed, i.item ->> 'detail' as detail
  from (select distinct on (election_id) * from certification_checks order by election_id, id desc) c
  cross join lateral jsonb_array_elements(c.items) with ordinality as i(item, ordinality);
grant select on certification_checklist to votestream_grafana;

-- A closed count is frozen: the results version at which counting finished. Rejections
-- and duplicates recorded after it (junk naming the election in a header, a late
-- re-send) stay in the ledger but change no figure of the closed or certified result.
alter table elections add column counted_version bigint;
-- Duplicates take a results version like rejections do: a batch of only duplicates
-- changes the expected ballots, so it must show as a new version.
alter table duplicate_ballots add column version bigint not null default 0;
