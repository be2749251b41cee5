-- An election's smallest public cell (0048) can be raised, never lowered (helper-36's
-- review): a lower one would show cells hidden until then, and the tallies' and workers'
-- role (votestream_app) has update on `elections` for the lifecycle. Raising it hides more,
-- and is how elections created before 0048 take a deployment's larger minimum. A raise is
-- news for every public reader: it takes a results version (under the election's results
-- lock, as lib/db/versions.ts takes one, after the row lock the update holds: the order
-- every status change takes them in), so the shared documents and `?since=N` followers
-- rebuild with more hidden, and marks the election for the results publisher.
create or replace function elections_min_cell_ballots_never_lowered() returns trigger
language plpgsql as $$
begin
  if new.min_cell_ballots < old.min_cell_ballots then
    raise exception 'election %: its smallest public cell is % and may not be lowered (to %): it would show cells hidden until now',
      old.id, old.min_cell_ballots, new.min_cell_ballots
      using errcode = 'check_violation', column = 'min_cell_ballots';
  end if;
  if new.min_cell_ballots > old.min_cell_ballots then
    perform pg_advisory_xact_lock(hashtextextended('results:' || new.id, 0));
    new.version := nextval('results_version');
    insert into results_dirty (election_id) values (new.id) on conflict (election_id) do update set marked_at = now();
  end if;
  return new;
end
$$;

create trigger elections_min_cell_ballots_never_lowered
  before update of min_cell_ballots on elections
  for each row execute function elections_min_cell_ballots_never_lowered();
