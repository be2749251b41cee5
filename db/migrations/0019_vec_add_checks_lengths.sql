-- vec_add (0017) padded the shorter of two vectors with NULLs, and x + NULL is NULL: a vector
-- written with another length than its row's (a layout that changed under a running
-- counter) would have lost every count past the shorter end, silently and for good. Now
-- such an upsert fails, and the counter retries the batch as a database fault until an
-- operator has looked. A loop in PL/pgSQL costs what unnest + array_agg did (~25 µs for
-- 120 elements).
create or replace function vec_add(a integer[], b integer[]) returns integer[]
  language plpgsql immutable strict parallel safe
  as $$
declare
  r integer[] := a;
begin
  if cardinality(a) <> cardinality(b) then
    raise exception 'vec_add: vectors of % and % elements', cardinality(a), cardinality(b)
      using errcode = 'XX000'; -- a database fault (services/tally/account-batch.ts): retried, no ballot rejected
  end if;
  for i in 1 .. cardinality(a) loop
    r[i] := a[i] + b[i];
  end loop;
  return r;
end
$$;
