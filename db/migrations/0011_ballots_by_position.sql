-- Counted ballots by their position in the log. The message ledger counts them per topic
-- and partition; without this index that was a scan of every ballot ever counted (seconds
-- at millions of rows, for a topic of a few hundred messages). Not unique: the benchmark's
-- PostgreSQL-alone step counts the same positions of a made-up topic once per run, each run
-- as a consumer group of its own.
create index if not exists ballots_by_position on ballots (kafka_topic, kafka_partition);
