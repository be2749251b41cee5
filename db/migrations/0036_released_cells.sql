-- What a release compares, kept narrow (helper-29's review of 0033): the results publisher
-- asked, every round and for every election it publishes, each region × channel's ballots
-- counted and released by reading the first element of every vector of both copies — at
-- 5,000 precincts × 3 channels × 24 partitions some 700,000 rows of ~1 KB. Counted ballots
-- per cell come from tally_counts' BALLOTS_KEY rows instead (narrow, written in the same
-- transaction as the vectors, and in the order of their primary key), and released ones
-- from this table: one row per cell, the counted ballots the release copied.
create table released_cells (
  election_id  text not null references elections (id) on delete cascade,
  region_id    text not null,
  channel      text not null,
  ballots      bigint not null,
  primary key (election_id, region_id, channel)
);

insert into released_cells (election_id, region_id, channel, ballots)
select election_id, region_id, channel, sum(counts[1]) from released_style_counts group by 1, 2, 3;
