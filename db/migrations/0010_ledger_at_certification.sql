-- The message ledger counts every ballot, rejection and duplicate ever recorded, per
-- partition: seconds of scanning once the tables hold millions of rows. Periodic
-- reconciliations no longer take it (null: not checked in this run); the final one, at
-- certification, always does.
alter table reconciliation_reports alter column ledger drop not null;
alter table reconciliation_reports alter column ledger drop default;
alter table reconciliation_reports alter column ledger_balanced drop not null;
alter table reconciliation_reports alter column ledger_balanced drop default;
