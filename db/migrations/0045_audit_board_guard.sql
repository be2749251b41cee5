-- What the API checks before it takes an audit board's entry (lib/db/audits.ts enterPaper,
-- storeHandCount), held by the database too: a role that can write a paper's reading or a
-- hand count (votestream_api, or anyone with psql) cannot change a paper of a decided round,
-- a paper of an audit that is over or not read by a board, nor a hand count the audit does
-- not ask for. A comparison re-reads every earlier round's papers: changing one after its
-- round was decided would change what the next rounds test.
create function audit_board_entry_guard() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'audit_ballots' then
    if (new.paper is distinct from old.paper or new.paper_state is distinct from old.paper_state)
       and (exists (select from audit_rounds r where r.audit_id = old.audit_id and r.round = old.round)
            or not exists (select from audits a where a.id = old.audit_id and a.status = 'running' and a.papers = 'board')) then
      raise exception 'audit %: the paper of draw % is not open to entry (its round is decided, or the audit is over or not a board''s)',
        old.audit_id, old.draw using errcode = 'check_violation';
    end if;
  elsif new.hand_count is distinct from old.hand_count
        and not (old.status = 'running' and old.papers = 'board'
                 and exists (select from audit_rounds r where r.audit_id = old.id
                             and r.round = (select max(round) from audit_rounds where audit_id = old.id)
                             and r.contests @> '[{"status": "full-hand-count-needed"}]')) then
    raise exception 'audit %: no full hand count is asked for', old.id using errcode = 'check_violation';
  end if;
  return new;
end $$;

create trigger audit_ballots_board_entry before update on audit_ballots
  for each row execute function audit_board_entry_guard();
create trigger audits_hand_count_entry before update of hand_count on audits
  for each row execute function audit_board_entry_guard();
