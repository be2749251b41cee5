-- The counting rate and its latency, for Grafana (issue 25 item 3: "Grafana panels never scan
-- `ballots`"): three panels read `ballots` by `counted_at`, which has no index, every 5 s.
-- The counting transaction now adds, per election and partition, the ballots it counted in
-- the current 5-second bucket and a histogram of their latency (castAt to counting, in ms),
-- so the panels read a few rows per bucket. One row per partition: instances never share one.
create table count_rate (
  election_id     text not null,
  at              timestamptz not null,  -- the 5-second bucket of the counting transaction's time
  kafka_partition integer not null,
  ballots         bigint not null,
  -- ballots per latency bucket, upper edges in ms: 10, 25, 50, 100, 250, 500, 1000, 2500,
  -- 5000, 10000, 30000, 60000, and above (lib/db/counting.ts LATENCY_EDGES_MS)
  latency         integer[] not null check (cardinality(latency) = 13),
  primary key (election_id, at, kafka_partition)
);
create index count_rate_by_time on count_rate (at);

-- Histograms added cell by cell (vec_add, 0019), over many rows.
create aggregate vec_sum(integer[]) (sfunc = vec_add, stype = integer[]);

-- The q-quantile of a latency histogram in ms, interpolated inside its bucket (as
-- Prometheus's histogram_quantile does); null for an empty histogram; the last edge for the
-- open bucket above it.
create function latency_quantile(h integer[], q float8) returns float8
  language sql immutable strict parallel safe as $$
  with edges as (select array[0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 60000]::float8[] as e),
  b as (select x, i, sum(x) over (order by i) as cum, sum(x) over () as total from unnest(h) with ordinality as t(x, i))
  select e[i] + (e[i + 1] - e[i]) * case when x > 0 then (q * total - (cum - x)) / x else 1 end
  from b, edges where total > 0 and cum >= q * total order by i limit 1
$$;

grant select on count_rate to votestream_grafana;
-- What the panels read of `ballots` (its times) they now read here.
revoke select on ballots from votestream_grafana;
