-- Running totals per election and partition, kept by the tally in the transaction that
-- counts (one writer). They answer "how many so far" in one index lookup, where counting
-- the raw ballots of a 2,000,000-ballot election took seconds and slowed the simulation
-- that asked after every one-second chunk. Certification still counts the raw ballots.
create table election_totals (
  election_id      text not null,
  kafka_partition  int not null,
  counted          bigint not null default 0,
  rejected         bigint not null default 0,
  primary key (election_id, kafka_partition)
);

insert into election_totals (election_id, kafka_partition, counted, rejected)
select election_id, kafka_partition, sum(counted), sum(rejected) from (
  select election_id, kafka_partition, count(*) as counted, 0 as rejected from ballots group by 1, 2
  union all
  select election_id, kafka_partition, 0, count(*) from rejected_ballots where election_id is not null group by 1, 2
) t group by 1, 2;
