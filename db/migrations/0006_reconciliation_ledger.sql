-- The reconciliation report includes the message ledger of the counting group: per
-- partition, messages consumed against counted + rejected + duplicates.
alter table reconciliation_reports add column ledger jsonb not null default '[]';
alter table reconciliation_reports add column ledger_balanced boolean not null default true;
