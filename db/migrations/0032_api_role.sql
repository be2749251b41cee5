-- The API's own role (issue #25 item 5): the API is the process that faces the internet, and
-- until now it connected as `votestream_app`, which may write every row of every table (the
-- counts, the poll book, the ballot box). `votestream_api` gets what the API's code runs and
-- nothing more; the tally and the worker stay `votestream_app`. Created like 0003's roles:
-- NOLOGIN, without a password; the deployment lets it log in (stack/compose/migrate.ts,
-- VOTESTREAM_API_DB_PASSWORD).
--
-- Unlike votestream_app, it has no default privileges: a table, column or view that a later
-- migration adds (or drops and creates again) is out of the API's reach until that migration
-- grants it here-style. The API's first request to it then fails with permission denied
-- (SQLSTATE 42501), which test/api-role.test.ts exercises route by route.
--
-- What the grants cover: the statements of services/api (its routes, the outbox relay, the
-- results feed and documents, /healthz and /metrics) and of the lib/db functions they call,
-- and migrate()'s check at start (SELECT on schema_migrations: the API applies no migration,
-- the owner does, before it starts).

do $$
begin
  if not exists (select from pg_roles where rolname = 'votestream_api') then
    create role votestream_api nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  end if;
exception when duplicate_object then
  null; -- created meanwhile by the migration of another database in the same cluster
end $$;

grant usage on schema public to votestream_api;

-- Start: migrate() reads which migrations are applied.
grant select on schema_migrations to votestream_api;

-- Creating an election (POST /elections): the election with its candidates, regions and
-- definition. Only the columns a new election is given: its status, times, version and
-- counts are the workflow's and the tally's to write.
grant select on elections, candidates, regions, districts, contests, contest_selections, contest_regions,
  ballot_styles, style_contests to votestream_api;
grant insert (id, name, simulated, test, settings) on elections to votestream_api;
grant insert on candidates, regions, districts, contests, contest_selections, contest_regions, ballot_styles,
  style_contests to votestream_api;
-- saveDefinition sets each region's ballot style after inserting the regions; registerVoters
-- also locks the regions it fills `for update` (which needs UPDATE on some column).
grant update (style_id) on regions to votestream_api;
-- Row locks only: castBallot and registerVoters read the election `for share` so that closing
-- the polls waits for them, and PostgreSQL allows FOR SHARE only with UPDATE on at least one
-- column. The API updates no column of `elections`; `name` is the one whose change alters no
-- status, time, version, count or key.
grant update (name) on elections to votestream_api;

-- The voter roll and casting: credentials, receipts and the outbox.
grant select, insert on voters to votestream_api;
grant insert (election_id, voter_id, ballot_id) on cast_receipts to votestream_api;
grant select (ballot_id) on cast_receipts to votestream_api; -- `returning ballot_id`
grant select, delete on ballot_outbox to votestream_api;     -- the relay publishes and deletes
grant insert (election_id, voter_id, ballot_id, payload) on ballot_outbox to votestream_api;
-- Row locks only: the relay claims rows `for update skip locked`; nothing reads created_at.
grant update (created_at) on ballot_outbox to votestream_api;
grant usage on sequence ballot_outbox_id_seq to votestream_api;

-- Public results, contests, rounds, the NIST export: read only.
grant select on tally_counts, planned_ballots, style_counts, contest_ballots_legacy, contest_counts_legacy,
  race_calls, contest_calls, trend_buckets, trend_snapshots, reconciliation_reports, certification_checks,
  simulation_truth, simulation_injected, simulation_contest_truth, rcv_rankings to votestream_api;
grant select on expected_ballots, tallies, contest_ballots, contest_counts to votestream_api;
-- results_version() runs with its caller's rights (no SECURITY DEFINER): it reads elections,
-- tally_counts, race_calls, contest_calls and these columns of the ledger's rejections and
-- duplicates. GET …/simulation also counts rejections by ballot id or a hash of their bytes,
-- hence raw_sha256 and raw. Not voter_id, detail or the log positions.
grant execute on function results_version(text) to votestream_api;
grant select (election_id, reason, version, ballot_id, raw_sha256, raw) on rejected_ballots to votestream_api;
grant select (election_id, version) on duplicate_ballots to votestream_api;
-- A region's ranked-choice rounds (once counting finished) and the audit files (admin) are
-- read from the ballot box: read only.
grant select on ballot_box to votestream_api;

-- Audits: the commitment and the audits are read; a request is recorded (its status, result
-- and rounds are the audit workflow's) and removed again if its workflow could not start.
grant select on audit_commitments, audits, audit_rounds, audit_ballots to votestream_api;
grant insert (id, election_id, contest_ids, risk_limit, seed, method, commitment) on audits to votestream_api;
grant delete on audits to votestream_api;

-- Not granted, so refused: `ballots` (the poll book), `ballot_box_pending`, the tally's
-- bookkeeping (consumer_offsets, poll_close_marks, log_gaps, election_totals, count_rate,
-- results_publisher_lease, results_dirty), rcv_round_tallies, the views over the poll book
-- (votes, turnout_by_location, message_ledger), the results_version sequence; and every
-- write on the counts, the box, the rankings, the calls, the ledger and the reports.
