-- Ballot-comparison audits (issue #28 item 3). A paper ballot's imprint — the id its scanner
-- printed on it, random, carried by the ballot message (domain/ballot.ts) — goes with its
-- marks into the pending box and the box: it is what puts a drawn paper beside the cast vote
-- record counted for it (the record's BallotAuditId). Never in the poll book (`ballots`).
-- Null for ballots with no paper (cast through the API) and for ballots boxed before this.
alter table ballot_box_pending add column imprint text;
alter table ballot_box add column imprint text;

-- An audit compares its sampled papers with their cast vote records, or polls them.
alter table audits drop constraint audits_method_check;
alter table audits add constraint audits_method_check check (method in ('ballot-polling', 'ballot-comparison'));

-- The cast vote record each draw of a comparison audit was compared with (its interpretation of
-- the audited contests; null when the drawn place holds no record with an imprint). Null for polling.
alter table audit_ballots add column cvr jsonb;
-- A comparison audit records a drawn place whose paper is not found as such (null): the worst discrepancy.
alter table audit_ballots alter column paper drop not null;
