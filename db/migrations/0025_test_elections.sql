-- Test elections (issue 28 item 4): an election created as a test — and every simulation —
-- says so on every page (a TEST banner) and in every export (IsTest). Fixed at creation:
-- a test election never becomes a live one, so no test ballot can be carried into a count.
alter table elections add column test boolean not null default false;
update elections set test = true where simulated;
alter table elections add constraint simulations_are_tests check (test or not simulated);
