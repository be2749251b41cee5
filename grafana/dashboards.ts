/**
 * The dashboards, as code. `bun run grafana:build` writes them to grafana/dashboards/*.json
 * (what Grafana's provisioning loads); a test fails when the committed JSON and this file
 * disagree, and another runs every panel's SQL against the real schema.
 */

export const DATASOURCE = { type: 'grafana-postgresql-datasource', uid: 'votestream-pg' } as const

/** What a panel's query must return for the panel to draw: column kinds, in any order. */
export type ColumnKind = 'text' | 'number' | 'time'

export interface PanelSpec {
  title: string
  type: 'barchart' | 'piechart' | 'gauge' | 'stat' | 'table' | 'geomap' | 'timeseries' | 'bargauge'
  sql: string
  format: 'table' | 'time_series'
  /** Columns the panel needs, checked against the query's real result. */
  needs: Partial<Record<string, ColumnKind>>
  w?: number
  h?: number
  options?: Record<string, unknown>
  fieldConfig?: Record<string, unknown>
}

export interface DashboardSpec {
  uid: string
  title: string
  description: string
  panels: PanelSpec[]
}

const electionVariable = {
  name: 'election',
  label: 'Election',
  type: 'query',
  datasource: DATASOURCE,
  query: "select id as __value, name || ' (' || status || ')' as __text from elections order by created_at desc",
  refresh: 2,
  sort: 0,
}

const candidateVotes = `select c.name as candidate, coalesce(t.votes, 0)::bigint as votes
from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
where c.election_id = '\${election}' order by c.position`

export const dashboards: DashboardSpec[] = [
  {
    uid: 'votestream-results',
    title: 'Election results',
    description: 'Votes per candidate, share, share counted, status and the leader.',
    panels: [
      {
        title: 'Votes per candidate',
        type: 'barchart',
        format: 'table',
        sql: candidateVotes,
        needs: { candidate: 'text', votes: 'number' },
        w: 16,
        h: 10,
      },
      {
        title: 'Share',
        type: 'piechart',
        format: 'table',
        sql: candidateVotes,
        needs: { candidate: 'text', votes: 'number' },
        w: 8,
        h: 10,
        options: {
          reduceOptions: { values: true, calcs: [] },
          pieType: 'donut',
          legend: { displayMode: 'table', placement: 'right', values: ['percent'] },
        },
      },
      {
        title: 'Share of the expected vote counted',
        type: 'gauge',
        format: 'table',
        sql: `select case when expected > 0 then least(1.0, counted::float8 / expected) else 0 end as "share counted"
from (
  select (select coalesce(sum(votes), 0) from tally_counts where election_id = e.id) as counted,
         coalesce(e.produced_ballots - (select count(*) from rejected_ballots r where r.election_id = e.id),
                  floor((e.settings->'simulation'->>'voters')::float8 * (e.settings->'simulation'->>'turnout')::float8),
                  (select sum(registered_voters) from regions where election_id = e.id)) as expected
  from elections e where e.id = '\${election}'
) x`,
        needs: { 'share counted': 'number' },
        w: 6,
        h: 7,
        fieldConfig: { defaults: { unit: 'percentunit', min: 0, max: 1 } },
      },
      {
        title: 'Status',
        type: 'stat',
        format: 'table',
        sql: `select status, case when status = 'certified' then 'certified' else 'not certified' end as certified
from elections where id = '\${election}'`,
        needs: { status: 'text', certified: 'text' },
        w: 6,
        h: 7,
        options: { reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '/.*/' }, colorMode: 'none' },
      },
      {
        title: 'Leader and margin',
        type: 'stat',
        format: 'table',
        sql: `with ranked as (
  select c.name, coalesce(t.votes, 0) as votes, row_number() over (order by coalesce(t.votes, 0) desc) as rank
  from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
  where c.election_id = '\${election}'
)
select (select name from ranked where rank = 1) as leader,
       ((select votes from ranked where rank = 1) - coalesce((select votes from ranked where rank = 2), 0))::bigint as margin`,
        needs: { leader: 'text', margin: 'number' },
        w: 12,
        h: 7,
        options: { reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '/.*/' } },
      },
      {
        title: 'Race call',
        type: 'stat',
        format: 'table',
        sql: `select coalesce(c.name, 'not called yet') as "called for", coalesce(r.rule, 'a lead larger than every ballot still to come') as rule
from elections e left join race_calls r on r.election_id = e.id and r.region_id is null and r.retracted_at is null
left join candidates c on c.election_id = r.election_id and c.id = r.candidate_id
where e.id = '\${election}'`,
        needs: { 'called for': 'text', rule: 'text' },
        w: 12,
        h: 7,
        options: { reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '/.*/' }, colorMode: 'none' },
      },
      {
        title: 'Race calls by region, and retractions',
        type: 'table',
        format: 'table',
        sql: `select coalesce(g.name, 'whole election') as region, c.name as "called for",
       case when r.retracted_at is null then 'standing' else 'RETRACTED: ' || r.retraction_reason end as status,
       r.rule, r.called_at as "called at"
from race_calls r
join candidates c on c.election_id = r.election_id and c.id = r.candidate_id
left join regions g on g.election_id = r.election_id and g.id = r.region_id
where r.election_id = '\${election}'
order by r.region_id nulls first, r.id desc`,
        needs: { region: 'text', 'called for': 'text', status: 'text', rule: 'text', 'called at': 'time' },
        w: 24,
        h: 8,
        options: {},
      },
    ],
  },
  {
    uid: 'votestream-turnout',
    title: 'Turnout',
    description: 'Turnout by region, as a table and on a map.',
    panels: [
      {
        title: 'Turnout by region',
        type: 'table',
        format: 'table',
        sql: `select name as region, state, registered_voters as "registered voters", ballots, percent::float8 as "turnout %"
from turnout where election_id = '\${election}' order by state, name`,
        needs: { region: 'text', state: 'text', 'registered voters': 'number', ballots: 'number', 'turnout %': 'number' },
        w: 12,
        h: 14,
      },
      {
        title: 'Turnout map',
        type: 'geomap',
        format: 'table',
        sql: `select name as region, lat as latitude, lon as longitude, ballots, percent::float8 as "turnout %"
from turnout where election_id = '\${election}' and lat is not null and lon is not null`,
        needs: { region: 'text', latitude: 'number', longitude: 'number', 'turnout %': 'number' },
        w: 12,
        h: 14,
        options: {
          view: { id: 'coords', lat: 38, lon: -100, zoom: 3.2 },
          layers: [
            {
              type: 'markers',
              config: { size: { field: 'turnout %', min: 5, max: 25 }, showLegend: true },
              location: { mode: 'coords', latitude: 'latitude', longitude: 'longitude' },
            },
          ],
        },
      },
    ],
  },
  {
    uid: 'votestream-trends',
    title: 'Trends',
    description: 'Votes over time per candidate, and ballots per second.',
    panels: [
      {
        title: 'Votes per minute, by candidate',
        type: 'timeseries',
        format: 'time_series',
        sql: `select $__timeGroupAlias(b.minute, '1m'), c.name as metric, sum(b.votes)::bigint as votes
from trend_buckets b join candidates c on c.election_id = b.election_id and c.id = b.candidate_id
where b.election_id = '\${election}' and $__timeFilter(b.minute)
group by 1, 2 order by 1`,
        needs: { time: 'number', metric: 'text', votes: 'number' },
        w: 24,
        h: 10,
      },
      {
        title: 'Ballots counted per second',
        type: 'timeseries',
        format: 'time_series',
        sql: `select $__timeGroupAlias(counted_at, '5s'), count(*) / 5.0 as "ballots/s"
from ballots where election_id = '\${election}' and $__timeFilter(counted_at)
group by 1 order by 1`,
        needs: { time: 'number', 'ballots/s': 'number' },
        w: 24,
        h: 9,
      },
    ],
  },
  {
    uid: 'votestream-pipeline',
    title: 'Pipeline health',
    description: 'Ingest rate, end-to-end latency, rejections by reason and reconciliation reports.',
    panels: [
      {
        title: 'Ingest rate (last minute)',
        type: 'stat',
        format: 'table',
        sql: `select count(*) / 60.0 as "ballots/s" from ballots where counted_at > now() - interval '1 minute'`,
        needs: { 'ballots/s': 'number' },
        w: 6,
        h: 6,
      },
      {
        title: 'End-to-end latency (cast to counted)',
        type: 'timeseries',
        format: 'time_series',
        sql: `select $__timeGroupAlias(counted_at, '10s'),
       percentile_cont(0.5) within group (order by extract(epoch from counted_at - cast_at) * 1000) as "p50 ms",
       percentile_cont(0.99) within group (order by extract(epoch from counted_at - cast_at) * 1000) as "p99 ms"
from ballots where election_id = '\${election}' and $__timeFilter(counted_at)
group by 1 order by 1`,
        needs: { time: 'number', 'p50 ms': 'number', 'p99 ms': 'number' },
        w: 18,
        h: 9,
        fieldConfig: { defaults: { unit: 'ms' } },
      },
      {
        title: 'Rejections by reason',
        type: 'bargauge',
        format: 'table',
        sql: `select reason, count(*)::bigint as ballots from rejected_ballots where election_id = '\${election}' group by 1 order by 2 desc`,
        needs: { reason: 'text', ballots: 'number' },
        w: 10,
        h: 9,
        options: { reduceOptions: { values: true, calcs: [] }, displayMode: 'basic', orientation: 'horizontal' },
      },
      {
        title: 'Reconciliation reports',
        type: 'table',
        format: 'table',
        sql: `select ran_at as "ran at", final, ballots, tallied, verdict, jsonb_array_length(differences)::int as differences, repaired
from reconciliation_reports where election_id = '\${election}' order by ran_at desc limit 50`,
        needs: { 'ran at': 'time', ballots: 'number', tallied: 'number', verdict: 'text', differences: 'number' },
        w: 14,
        h: 9,
      },
    ],
  },
]

/** The JSON Grafana loads for one dashboard. */
export function toGrafanaJson(d: DashboardSpec): Record<string, unknown> {
  let x = 0
  let y = 0
  let rowHeight = 0
  const panels = d.panels.map((p, i) => {
    const w = p.w ?? 12
    const h = p.h ?? 8
    if (x + w > 24) {
      x = 0
      y += rowHeight
      rowHeight = 0
    }
    const gridPos = { x, y, w, h }
    x += w
    rowHeight = Math.max(rowHeight, h)
    return {
      id: i + 1,
      title: p.title,
      type: p.type,
      datasource: DATASOURCE,
      gridPos,
      targets: [{ refId: 'A', datasource: DATASOURCE, editorMode: 'code', format: p.format, rawQuery: true, rawSql: p.sql }],
      options: p.options ?? {},
      fieldConfig: { defaults: {}, overrides: [], ...(p.fieldConfig ?? {}) },
    }
  })
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['votestream'],
    timezone: 'browser',
    refresh: '5s',
    time: { from: 'now-1h', to: 'now' },
    schemaVersion: 41,
    editable: false,
    templating: { list: [electionVariable] },
    links: [{ title: 'VoteStream', type: 'dashboards', tags: ['votestream'], asDropdown: true }],
    panels,
  }
}

export const fileName = (d: DashboardSpec) => `${d.uid.replace(/^votestream-/, '')}.json`
