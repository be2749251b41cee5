-- A simulation's ground truth per candidate, region AND channel, so the certified count can
-- be compared cell by cell (early and mail ballots lean differently; a swap between channels
-- must not hide behind an equal total). Rows stored before this migration hold all channels
-- together: their channel is '*', and they are compared per candidate and region.
alter table simulation_truth add column channel text not null default '*';
alter table simulation_truth drop constraint simulation_truth_pkey;
alter table simulation_truth add primary key (election_id, candidate_id, region_id, channel);
alter table simulation_truth alter column channel drop default;
