-- The audit files of a closed election (issue 28 item 2): the cast vote records (NIST SP
-- 1500-103), the ballot manifest and each contest's batch tallies are produced from the
-- ballot box, which no longer changes once counting has finished; what is stored is each
-- file's SHA-256 and the commitment over the set, published before an audit draws its
-- seed. The files themselves are regenerated on request from the box, byte for byte the
-- same (their only time is generated_at, stored here), so anyone can check them against
-- the commitment. Written once, by the election workflow's activity.
create table audit_commitments (
  election_id     text primary key references elections (id) on delete cascade,
  generated_at    timestamptz not null,
  container_size  integer not null check (container_size between 1 and 1000000),
  ballots         bigint not null,
  files           jsonb not null,   -- [{ name, sha256, bytes }], sorted by name
  list            text not null,    -- the files in sha256sum's format: "<hex>  <name>\n" per file
  commitment      text not null,    -- SHA-256 of `list`
  created_at      timestamptz not null default now()
);
