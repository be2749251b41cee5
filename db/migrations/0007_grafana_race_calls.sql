-- 0004 recreated race_calls after 0003 had granted it to Grafana (on a database migrated
-- from nothing): grant it again, with the view of the ledger the dashboards may show.
grant select on race_calls to votestream_grafana;
