-- Papers read by an audit board (an election with no generator behind it, or a simulated one
-- audited by hand: issue #28): the workflow draws a round and waits for the board to enter
-- each drawn paper through the API, and, for a full hand count, its totals.
alter table audits add column papers text not null default 'simulator' check (papers in ('simulator', 'board'));
alter table audits add column hand_count jsonb;
-- pending: drawn, not entered yet; read: entered by the board (or read from the generator);
-- missing: the paper was not found (the worst discrepancy for a comparison; for polling, a
-- ballot for no one).
alter table audit_ballots add column paper_state text not null default 'read'
  check (paper_state in ('read', 'pending', 'missing'));
-- Comparison audits: the imprint on the paper the board must find (the record's BallotAuditId).
alter table audit_ballots add column imprint text;

-- The API records who reads the papers, and takes the board's readings and hand count: the
-- board's facts, one writer (the workflow writes the draws and the decisions).
grant insert (papers) on audits to votestream_api;
grant update (hand_count) on audits to votestream_api;
grant update (paper, paper_state) on audit_ballots to votestream_api;
