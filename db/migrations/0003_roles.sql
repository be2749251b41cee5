-- The roles of a deployment. Whoever runs the migrations owns the schema (in
-- docker-compose.yml, POSTGRES_USER). The services connect as `votestream_app`: rows
-- only, no DDL, no roles. Grafana connects as `votestream_grafana`: SELECT on what the
-- dashboards read (grafana/dashboards.ts), nothing else.
--
-- Roles belong to the cluster, not the database: they are created once, NOLOGIN and
-- without a password. The deployment lets them log in with passwords of its own
-- (stack/compose/migrate.ts), so no password lives in the repository.

do $$
begin
  if not exists (select from pg_roles where rolname = 'votestream_app') then
    create role votestream_app nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'votestream_grafana') then
    create role votestream_grafana nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  end if;
exception when duplicate_object then
  null; -- created meanwhile by the migration of another database in the same cluster
end $$;

grant usage on schema public to votestream_app, votestream_grafana;

-- The application: read and write rows and draw from sequences, today and in every table
-- or sequence that later migrations (run by the same owner) create.
grant select, insert, update, delete on all tables in schema public to votestream_app;
grant usage, update on all sequences in schema public to votestream_app;
alter default privileges in schema public grant select, insert, update, delete on tables to votestream_app;
alter default privileges in schema public grant usage, update on sequences to votestream_app;
-- Services check that migrations are applied; only the owner records one.
revoke insert, update, delete on schema_migrations from votestream_app;

-- Grafana: the relations the dashboards' queries read, no default privileges (a table a
-- new panel reads is granted by the migration that adds it). Of `ballots` and
-- `rejected_ballots`, only the columns the panels use: no voter ids, choices or raw bytes.
grant select on tallies, turnout to votestream_grafana;
grant select on elections, candidates, regions, tally_counts, trend_buckets, race_calls, reconciliation_reports
  to votestream_grafana;
grant select (election_id, cast_at, counted_at) on ballots to votestream_grafana;
grant select (election_id, reason) on rejected_ballots to votestream_grafana;
