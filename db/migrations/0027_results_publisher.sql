-- One results publisher for all tally instances (issue 25 item 1): N instances used to
-- publish N snapshots of every election they counted for. The instance holding the lease
-- publishes; the others hand it the elections they changed. A lease, not an advisory lock:
-- a frozen instance (SIGSTOP, a long pause) keeps its connection and any session lock, but
-- its lease runs out within seconds and another instance takes over.
create table results_publisher_lease (
  id         integer primary key check (id = 1),
  holder     text not null,
  expires_at timestamptz not null
);

-- Elections an instance changed and the publisher has not snapshotted yet (written outside
-- the counting transactions, a few rows a second; the publisher takes and deletes them).
create table results_dirty (
  election_id text primary key,
  marked_at   timestamptz not null default now()
);
