-- Found in review of 0024: a risk limit far below any real one (1e-320 passed) made the
-- round-size search run for ever; and any number of audits of one election could run at once
-- on the shared worker. One running audit per election; a risk limit of at least 0.1 %.
alter table audits drop constraint audits_risk_limit_check;
alter table audits add constraint audits_risk_limit_check check (risk_limit >= 0.001 and risk_limit <= 0.2);
create unique index audits_one_running_per_election on audits (election_id) where status = 'running';
