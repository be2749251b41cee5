-- Deleting an election no longer takes a minute (found by the benchmark's clean-up).
--
-- Deleting an election cascades to its regions, and each deleted region looks up the voters
-- and the contests that reference it by (election_id, region_id) / (election_id,
-- district_id). Neither key had an index of its own — voters' primary key is (election_id,
-- id) — so every one of 5,000 regions walked all of the election's voters: 38 s per delete
-- of a 5,000-precinct benchmark election with 222,000 voters (pg_stat_statements), 6.0 s with
-- 11,000, and 0.3 s with this index. Rolls are written once per election, so the index
-- costs little where it is paid.

create index voters_by_region on voters (election_id, region_id);
create index contests_by_district on contests (election_id, district_id);
