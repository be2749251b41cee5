/**
 * The dashboards, as code, built with Grafana's foundation SDK (typed builders kept by
 * Grafana). `bun run grafana:build` writes them to grafana/dashboards/*.json (what Grafana's
 * provisioning loads); a test fails when the committed JSON and this file disagree, and
 * another runs every panel's SQL against the real schema.
 */

import * as barchart from '@grafana/grafana-foundation-sdk/barchart'
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge'
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import * as common from '@grafana/grafana-foundation-sdk/common'
import {
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  FieldColorBuilder,
  FieldColorModeId,
  type Panel,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import * as gauge from '@grafana/grafana-foundation-sdk/gauge'
import * as geomap from '@grafana/grafana-foundation-sdk/geomap'
import * as piechart from '@grafana/grafana-foundation-sdk/piechart'
import * as stat from '@grafana/grafana-foundation-sdk/stat'
import * as table from '@grafana/grafana-foundation-sdk/table'
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'

export const DATASOURCE = { type: 'grafana-postgresql-datasource', uid: 'votestream-pg' } as const

/** What a panel's query must return for the panel to draw: column kinds, in any order. */
export type ColumnKind = 'text' | 'number' | 'time'

/** What every panel builder of the SDK offers; each panel type adds its own options. */
interface SdkPanelBuilder extends cog.Builder<Panel> {
  title(title: string): this
  description(description: string): this
  datasource(datasource: typeof DATASOURCE): this
  gridPos(gridPos: { x: number; y: number; w: number; h: number }): this
  withTarget(target: cog.Builder<cog.Dataquery>): this
}

export interface PanelSpec {
  title: string
  /** The SDK builder of the panel's type, with its options; title, grid and query are added. */
  panel: () => SdkPanelBuilder
  sql: string
  format: 'table' | 'time_series'
  /** Columns the panel needs, checked against the query's real result. */
  needs: Partial<Record<string, ColumnKind>>
  /** Of those, the ones that are NULL where a small cell is suppressed (or nothing is counted yet). */
  nullable?: string[]
  /** A panel of the chosen contest that has rows only when that contest is a measure. */
  onlyMeasures?: boolean
  /** A panel of the chosen contest that has rows only when that contest is ranked-choice. */
  onlyRanked?: boolean
  /** Shown in the panel's header (the ⓘ). */
  description?: string
  w?: number
  h?: number
}

export interface DashboardSpec {
  uid: string
  title: string
  description: string
  /** Adds the `state` variable; panels filter with `inState`. */
  byState?: boolean
  /** Adds the `contest` variable (elections with contests); panels filter with `CONTEST`. */
  byContest?: boolean
  panels: PanelSpec[]
}

/**
 * A query of Grafana's PostgreSQL datasource, in code mode. The SDK has no builder for the
 * SQL datasources' query type, so this one implements the SDK's builder interface.
 */
class SqlQueryBuilder implements cog.Builder<cog.Dataquery> {
  constructor(
    private readonly sql: string,
    private readonly format: PanelSpec['format'],
  ) {}
  build(): cog.Dataquery {
    return {
      _implementsDataqueryVariant() {},
      refId: 'A',
      datasource: DATASOURCE,
      editorMode: 'code',
      format: this.format,
      rawQuery: true,
      rawSql: this.sql,
    } as cog.Dataquery
  }
}

/**
 * How a query takes a variable: always `${name:sqlstring}`, which Grafana renders as one SQL
 * string literal with ' doubled ('Hawai''i'). Left to the PostgreSQL datasource's default, a
 * variable is quoted only when it is multi-value or has "All" and left bare otherwise, so
 * `'${state}'` came out ''Ohio'' (issue 23) while `'${election}'` happened to work.
 * `:sqlstring` also turns " into \" (not SQL, but harmless under standard_conforming_strings):
 * no name here holds one. test/grafana.test.ts refuses any other form.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, expanded by Grafana
export const ELECTION = '${election:sqlstring}'
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, expanded by Grafana
export const STATE = '${state:sqlstring}'
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, expanded by Grafana
export const CONTEST = '${contest:sqlstring}'

/** The election shown, chosen from the newest first. */
const electionVariable = () =>
  new QueryVariableBuilder('election')
    .label('Election')
    .datasource(DATASOURCE)
    .query("select id as __value, name || ' (' || status || ')' as __text from elections order by created_at desc")
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.Disabled)

/** The state shown (or all), from the chosen election's regions: the drill-down level. */
const stateVariable = () =>
  new QueryVariableBuilder('state')
    .label('State')
    .datasource(DATASOURCE)
    .query(`select distinct state from regions where election_id = ${ELECTION} order by 1`)
    .includeAll(true)
    .allValue(ALL_STATES)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)

/**
 * The contest shown, from the chosen election's contests in ballot order. Only an election
 * with a ballot definition has contests: for one of a single contest (candidates and
 * tallies) the list is empty and the contest panels show nothing; the panels above them
 * show that election.
 */
const contestVariable = () =>
  new QueryVariableBuilder('contest')
    .label('Contest')
    .description(
      'Elections with a ballot definition (a long ballot): the contest the contest panels show. Empty for an election of one contest.',
    )
    .datasource(DATASOURCE)
    .query(`select id as __value, (position + 1) || '. ' || name as __text from contests where election_id = ${ELECTION} order by position`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.Disabled)

/**
 * The `state` variable's value for "All". Grafana inserts a custom all value as it is, in
 * every SQL format, so it is an SQL literal itself: `STATE = ALL_STATES` holds for "All" only.
 */
export const ALL_STATES = "'__all'"
/** The SQL condition the state panels use. */
const inState = (column = 'state') => `(${STATE} = ${ALL_STATES} or ${column} = ${STATE})`

/** Candidates' colours in ballot order: the live page's palette (services/api/public/live.html, COLORS), colour-blind safe first. */
const CANDIDATE_COLORS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#8c7a00',
  '#1b1f24',
  '#7f3c8d',
  '#11a579',
  '#e73f74',
  '#3969ac',
]
const NO_LEADER_COLOR = '#bbbbbb'

/** Every value of every row: for charts of one row per category. */
const everyValue = () => new common.ReduceDataOptionsBuilder().values(true).calcs([])

/** Every field of the last row: for stat panels that show text columns. */
const everyField = () => new common.ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']).fields('/.*/')

/**
 * The contest panels read `contest_totals` and `contest_results` (db/migrations/0048), which
 * suppress small cells themselves, at the election's own minimum: a panel cannot show what
 * the view does not give.
 */
const CONTEST_NOTE =
  "Elections with a ballot definition: the contest chosen above (empty for an election of one contest). N below is the election's smallest public cell (10 unless it was created with another). A region with fewer than N ballots in the contest, or fewer than N (but some) in one voting channel, is suppressed (shown empty, not zero), and so are the next smallest regions until the suppressed ones are two or more adding up to N ballots or more, with 0 or N or more in each channel, so that the totals minus the regions shown do not give one back; a contest with fewer than N ballots in all shows no counts."
/** What a contest panel shows without a value: no contest chosen, or a suppressed count. */
const NO_CONTEST_VALUE = "– (no contest, or fewer ballots than the election's minimum)"

const candidateVotes = `select c.name as candidate, coalesce(t.votes, 0)::bigint as votes
from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
where c.election_id = ${ELECTION} order by c.position`

export const dashboards: DashboardSpec[] = [
  {
    uid: 'votestream-results',
    title: 'Election results',
    description:
      'Votes per candidate, share, share counted, status and the leader; for an election with a ballot definition, the contest chosen: its selections, ballots, results by state and a measure against its threshold.',
    byContest: true,
    panels: [
      {
        title: 'Votes per candidate',
        panel: () => new barchart.PanelBuilder(),
        format: 'table',
        sql: candidateVotes,
        needs: { candidate: 'text', votes: 'number' },
        w: 16,
        h: 10,
      },
      {
        title: 'Share',
        panel: () =>
          new piechart.PanelBuilder()
            .reduceOptions(everyValue())
            .pieType(piechart.PieChartType.Donut)
            .legend(
              new piechart.PieChartLegendOptionsBuilder()
                .displayMode(common.LegendDisplayMode.Table)
                .placement(common.LegendPlacement.Right)
                .values([piechart.PieChartLegendValues.Percent])
                .showLegend(true),
            ),
        format: 'table',
        sql: candidateVotes,
        needs: { candidate: 'text', votes: 'number' },
        w: 8,
        h: 10,
      },
      {
        title: 'Share of the expected vote counted',
        panel: () => new gauge.PanelBuilder().unit('percentunit').min(0).max(1),
        format: 'table',
        // The expected ballots are the API's (lib/db/results.ts): one rule, the expected_ballots view (db/migrations/0020).
        sql: `select case when expected > 0 then least(1.0, counted::float8 / expected) else 0 end as "share counted"
from (
  select (select coalesce(sum(votes), 0) from tally_counts where election_id = x.election_id) as counted, x.expected
  from expected_ballots x where x.election_id = ${ELECTION}
) s`,
        needs: { 'share counted': 'number' },
        w: 6,
        h: 7,
      },
      {
        title: 'Status',
        panel: () => new stat.PanelBuilder().reduceOptions(everyField()).colorMode(common.BigValueColorMode.None),
        format: 'table',
        // A test election (every simulation is one) says so here, as on every page of the API.
        sql: `select case when test then 'TEST: not an election''s results' else 'live election' end as election, status,
       case when status = 'certified' then 'certified' else 'not certified' end as certified
from elections where id = ${ELECTION}`,
        needs: { election: 'text', status: 'text', certified: 'text' },
        w: 6,
        h: 7,
      },
      {
        title: 'Leader and margin',
        panel: () => new stat.PanelBuilder().reduceOptions(everyField()),
        format: 'table',
        sql: `with ranked as (
  select c.name, coalesce(t.votes, 0) as votes, row_number() over (order by coalesce(t.votes, 0) desc) as rank
  from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
  where c.election_id = ${ELECTION}
)
select (select name from ranked where rank = 1) as leader,
       ((select votes from ranked where rank = 1) - coalesce((select votes from ranked where rank = 2), 0))::bigint as margin`,
        needs: { leader: 'text', margin: 'number' },
        w: 12,
        h: 7,
      },
      {
        title: 'Race call',
        panel: () => new stat.PanelBuilder().reduceOptions(everyField()).colorMode(common.BigValueColorMode.None),
        format: 'table',
        sql: `select coalesce(c.name, 'not called yet') as "called for", coalesce(r.rule, 'a lead larger than every ballot still to come') as rule
from elections e left join race_calls r on r.election_id = e.id and r.region_id is null and r.retracted_at is null
left join candidates c on c.election_id = r.election_id and c.id = r.candidate_id
where e.id = ${ELECTION}`,
        needs: { 'called for': 'text', rule: 'text' },
        w: 12,
        h: 7,
      },
      {
        title: 'Race calls by region, and retractions',
        panel: () => new table.PanelBuilder(),
        format: 'table',
        sql: `select coalesce(g.name, 'whole election') as region, c.name as "called for",
       case when r.retracted_at is null then 'standing' else 'RETRACTED: ' || r.retraction_reason end as status,
       r.rule, r.called_at as "called at"
from race_calls r
join candidates c on c.election_id = r.election_id and c.id = r.candidate_id
left join regions g on g.election_id = r.election_id and g.id = r.region_id
where r.election_id = ${ELECTION}
order by r.region_id nulls first, r.id desc`,
        needs: { region: 'text', 'called for': 'text', status: 'text', rule: 'text', 'called at': 'time' },
        w: 24,
        h: 8,
      },
      {
        title: 'Contest: votes per selection, and share',
        description: CONTEST_NOTE,
        panel: () =>
          new bargauge.PanelBuilder()
            .reduceOptions(everyValue().fields('/^votes$/'))
            .displayMode(common.BarGaugeDisplayMode.Basic)
            .orientation(common.VizOrientation.Horizontal)
            .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.PaletteClassic))
            .noValue(NO_CONTEST_VALUE),
        format: 'table',
        // The share in the label: the bars are the votes.
        sql: `select selection || coalesce(' · ' || to_char(100 * share, 'FM990.0') || ' %', '') as selection, votes, share
from (
  select selection || coalesce(' (' || party || ')', '') as selection, selection_position, votes,
         votes::float8 / nullif(sum(votes) over (), 0) as share
  from contest_totals where election_id = ${ELECTION} and contest_id = ${CONTEST}
) t order by selection_position`,
        needs: { selection: 'text', votes: 'number', share: 'number' },
        nullable: ['votes', 'share'],
        w: 10,
        h: 10,
      },
      {
        title: 'Contest: ballots, undervotes, overvotes',
        description: CONTEST_NOTE,
        panel: () => new stat.PanelBuilder().reduceOptions(everyField()).colorMode(common.BigValueColorMode.None).noValue(NO_CONTEST_VALUE),
        format: 'table',
        sql: `select ballots, undervotes, overvotes from contest_totals where election_id = ${ELECTION} and contest_id = ${CONTEST} limit 1`,
        needs: { ballots: 'number', undervotes: 'number', overvotes: 'number' },
        nullable: ['ballots', 'undervotes', 'overvotes'],
        w: 7,
        h: 10,
      },
      {
        title: 'Measure: yes share against its threshold (votes counted so far)',
        description: `${CONTEST_NOTE} Yes passes when its share of yes + no exceeds a simple majority (1/2), or reaches any other threshold (2/3, 55 %), as the API decides (domain/contests.ts, measurePasses). Candidate contests: nothing to show.`,
        panel: () =>
          new stat.PanelBuilder()
            .reduceOptions(everyField())
            .colorMode(common.BigValueColorMode.None)
            .unit('percentunit')
            .decimals(1)
            .noValue("– (not a measure, or fewer ballots than the election's minimum)"),
        format: 'table',
        sql: `select case when yes + no > 0 then yes::float8 / (yes + no) end as "yes share",
       num::float8 / den as threshold,
       case when num * 2 = den then 'more than ' else 'at least ' end || num || '/' || den as rule,
       case when suppressed then 'suppressed: fewer than ' || (select min_cell_ballots from elections where id = ${ELECTION}) || ' ballots'
            when yes + no = 0 then 'no votes yet'
            when (num * 2 = den and yes * den > (yes + no) * num) or (num * 2 <> den and yes * den >= (yes + no) * num) then 'passing'
            else 'failing' end as outcome
from (
  select coalesce(threshold_numerator, 1) as num, coalesce(threshold_denominator, 2) as den, bool_or(suppressed) as suppressed,
         coalesce(sum(votes) filter (where selection_id = 'yes'), 0) as yes, coalesce(sum(votes) filter (where selection_id = 'no'), 0) as no
  from contest_totals where election_id = ${ELECTION} and contest_id = ${CONTEST} and kind = 'measure'
  group by 1, 2
) m`,
        needs: { 'yes share': 'number', threshold: 'number', rule: 'text', outcome: 'text' },
        nullable: ['yes share'],
        onlyMeasures: true,
        w: 7,
        h: 10,
      },
      {
        title: 'Contest by state (regions shown only)',
        description: `${CONTEST_NOTE} A state's votes are those of its regions shown; "regions suppressed" counts the others.`,
        panel: () => new table.PanelBuilder().noValue('–'),
        format: 'table',
        sql: `select state, selection, sum(votes)::bigint as votes,
       round(100.0 * sum(votes) / nullif(sum(sum(votes)) over (partition by state), 0), 2)::float8 as "share %",
       count(*) filter (where not suppressed)::bigint as "regions shown",
       count(*) filter (where suppressed)::bigint as "regions suppressed"
from contest_results where election_id = ${ELECTION} and contest_id = ${CONTEST}
group by state, selection, selection_position order by state, selection_position`,
        needs: {
          state: 'text',
          selection: 'text',
          votes: 'number',
          'share %': 'number',
          'regions shown': 'number',
          'regions suppressed': 'number',
        },
        nullable: ['votes', 'share %'],
        w: 24,
        h: 12,
      },
      {
        title: 'Ranked choice: the rounds (unofficial until certified)',
        description:
          "A ranked contest's instant-runoff rounds, as the API serves them (GET /elections/{id}/contests/{contestId}/rounds): each round's continuing candidates, their votes and share of the round's continuing votes, and who was eliminated or elected. Stored by the election workflow when it decides the contests' calls (every few seconds while a simulation produces; at the close and the final count for every election), from the ballots mixed into the ballot box: between those moments the API's rounds are fresher; nothing for a contest with fewer ballots ranking anyone than the election's smallest public cell (10 unless it was created with another). Other contests: nothing to show.",
        panel: () => new table.PanelBuilder().noValue("– (not a ranked contest, or fewer ranking ballots than the election's minimum)"),
        format: 'table',
        sql: `select round, candidate, votes,
       round(100.0 * votes / nullif(sum(votes) over (partition by round), 0), 2)::float8 as "share %",
       status
from rcv_rounds where election_id = ${ELECTION} and contest_id = ${CONTEST}
order by round, votes desc, candidate_position`,
        needs: { round: 'number', candidate: 'text', votes: 'number', 'share %': 'number', status: 'text' },
        nullable: ['share %'],
        onlyRanked: true,
        w: 24,
        h: 12,
      },
    ],
  },
  {
    uid: 'votestream-turnout',
    title: 'Turnout',
    description:
      'States, then the regions of the state chosen (click a state to drill down): turnout, leader and margin, as tables and on a map.',
    byState: true,
    panels: [
      {
        title: 'States (click one to see its regions)',
        panel: () =>
          new table.PanelBuilder().dataLinks([
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's data link variables
            new DashboardLinkBuilder('Regions of ${__data.fields.state}')
              .type(DashboardLinkType.Link)
              // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's data link variables
              .url('/d/votestream-turnout?var-election=${election}&var-state=${__data.fields.state}'),
          ]),
        format: 'table',
        sql: `select state, count(*)::bigint as regions, sum(registered_voters)::bigint as "registered voters", sum(ballots)::bigint as ballots,
       case when sum(registered_voters) > 0 then round(100.0 * sum(ballots) / sum(registered_voters), 2)::float8 else 0 end as "turnout %"
from turnout where election_id = ${ELECTION} group by state order by state`,
        needs: { state: 'text', regions: 'number', 'registered voters': 'number', ballots: 'number', 'turnout %': 'number' },
        w: 10,
        h: 10,
      },
      {
        title: 'Regions of the state: leader and margin',
        panel: () => new table.PanelBuilder(),
        format: 'table',
        sql: `with votes as (
  select t.region_id, c.name as candidate, sum(t.votes) as n
  from tally_counts t join candidates c on c.election_id = t.election_id and c.id = t.candidate_id
  where t.election_id = ${ELECTION} group by 1, 2
), ranked as (
  select region_id, candidate, n, row_number() over (partition by region_id order by n desc, candidate) as rank from votes
)
select g.name as region, g.state, coalesce(first.candidate, '-') as leader,
       coalesce(first.n - coalesce(second.n, 0), 0)::bigint as margin, coalesce(tr.ballots, 0)::bigint as ballots
from regions g
left join ranked first on first.region_id = g.id and first.rank = 1
left join ranked second on second.region_id = g.id and second.rank = 2
left join turnout tr on tr.election_id = g.election_id and tr.region_id = g.id
where g.election_id = ${ELECTION} and ${inState('g.state')}
order by margin asc, g.name limit 500`,
        needs: { region: 'text', state: 'text', leader: 'text', margin: 'number', ballots: 'number' },
        w: 14,
        h: 10,
      },
      {
        title: 'Turnout by region',
        panel: () => new table.PanelBuilder(),
        format: 'table',
        sql: `select name as region, state, registered_voters as "registered voters", ballots, percent::float8 as "turnout %"
from turnout where election_id = ${ELECTION} and ${inState()} order by state, name`,
        needs: { region: 'text', state: 'text', 'registered voters': 'number', ballots: 'number', 'turnout %': 'number' },
        w: 12,
        h: 14,
      },
      {
        title: 'Map: leader by region, sized by turnout',
        panel: () =>
          new geomap.PanelBuilder()
            .view(new geomap.MapViewConfigBuilder().id('coords').lat(38).lon(-100).zoom(3.2))
            .basemap(new common.MapLayerOptionsBuilder().type('default').name('Basemap'))
            .layers([
              new common.MapLayerOptionsBuilder()
                .type('markers')
                .config({ size: { field: 'turnout %', min: 5, max: 25 }, color: { field: 'leader index' }, showLegend: true })
                .location(
                  new common.FrameGeometrySourceBuilder()
                    .mode(common.FrameGeometrySourceMode.Coords)
                    .latitude('latitude')
                    .longitude('longitude'),
                ),
            ])
            // The leader's colour: thresholds on the candidate's index, in the live page's palette.
            .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds))
            .thresholds(
              new ThresholdsConfigBuilder()
                .mode(ThresholdsMode.Absolute)
                .steps([{ value: null, color: NO_LEADER_COLOR }, ...CANDIDATE_COLORS.map((color, i) => ({ value: i, color }))]),
            ),
        format: 'table',
        sql: `with votes as (
  select region_id, candidate_id, sum(votes) as n from tally_counts where election_id = ${ELECTION} group by 1, 2
), ranked as (
  select region_id, candidate_id, row_number() over (partition by region_id order by n desc, candidate_id) as rank from votes
), indexed as (
  select id, name, (row_number() over (order by position) - 1)::float8 as idx from candidates where election_id = ${ELECTION}
)
select g.name as region, g.lat as latitude, g.lon as longitude, coalesce(t.ballots, 0)::bigint as ballots,
       coalesce(t.percent, 0)::float8 as "turnout %", coalesce(c.name, '-') as leader, coalesce(c.idx, -1)::float8 as "leader index"
from regions g
left join ranked r on r.region_id = g.id and r.rank = 1
left join indexed c on c.id = r.candidate_id
left join turnout t on t.election_id = g.election_id and t.region_id = g.id
where g.election_id = ${ELECTION} and ${inState('g.state')} and g.lat is not null and g.lon is not null`,
        needs: {
          region: 'text',
          latitude: 'number',
          longitude: 'number',
          'turnout %': 'number',
          leader: 'text',
          'leader index': 'number',
        },
        w: 12,
        h: 14,
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
        panel: () => new timeseries.PanelBuilder(),
        format: 'time_series',
        sql: `select $__timeGroupAlias(b.minute, '1m'), c.name as metric, sum(b.votes)::bigint as votes
from trend_buckets b join candidates c on c.election_id = b.election_id and c.id = b.candidate_id
where b.election_id = ${ELECTION} and $__timeFilter(b.minute)
group by 1, 2 order by 1`,
        needs: { time: 'number', metric: 'text', votes: 'number' },
        w: 24,
        h: 10,
      },
      {
        title: 'Ballots counted per second',
        panel: () => new timeseries.PanelBuilder(),
        format: 'time_series',
        sql: `select $__timeGroupAlias(at, '5s'), sum(ballots) / 5.0 as "ballots/s"
from count_rate where election_id = ${ELECTION} and $__timeFilter(at)
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
        panel: () => new stat.PanelBuilder(),
        format: 'table',
        sql: `select coalesce(sum(ballots), 0) / 60.0 as "ballots/s" from count_rate where at > now() - interval '1 minute'`,
        needs: { 'ballots/s': 'number' },
        w: 6,
        h: 6,
      },
      {
        title: 'End-to-end latency (cast to counted)',
        panel: () => new timeseries.PanelBuilder().unit('ms'),
        format: 'time_series',
        sql: `select $__timeGroupAlias(at, '10s'),
       latency_quantile(vec_sum(latency), 0.5) as "p50 ms", latency_quantile(vec_sum(latency), 0.99) as "p99 ms"
from count_rate where election_id = ${ELECTION} and $__timeFilter(at)
group by 1 order by 1`,
        needs: { time: 'number', 'p50 ms': 'number', 'p99 ms': 'number' },
        w: 18,
        h: 9,
      },
      {
        title: 'Rejections by reason',
        panel: () =>
          new bargauge.PanelBuilder()
            .reduceOptions(everyValue())
            .displayMode(common.BarGaugeDisplayMode.Basic)
            .orientation(common.VizOrientation.Horizontal),
        format: 'table',
        sql: `select reason, count(*)::bigint as ballots from rejected_ballots where election_id = ${ELECTION} group by 1 order by 2 desc`,
        needs: { reason: 'text', ballots: 'number' },
        w: 10,
        h: 9,
      },
      {
        title: 'Reconciliation reports',
        panel: () => new table.PanelBuilder(),
        format: 'table',
        sql: `select ran_at as "ran at", final, ballots, tallied, verdict, jsonb_array_length(differences)::int as differences, repaired
from reconciliation_reports where election_id = ${ELECTION} order by ran_at desc limit 50`,
        needs: { 'ran at': 'time', ballots: 'number', tallied: 'number', verdict: 'text', differences: 'number' },
        w: 14,
        h: 9,
      },
      {
        title: 'Certification checklist (latest run): an election certifies only when every item passes',
        panel: () => new table.PanelBuilder(),
        format: 'table',
        sql: `select case when passed then 'pass' else 'FAIL' end as verdict, title as item, detail as evidence, checked_at as "checked at"
from certification_checklist where election_id = ${ELECTION} order by position`,
        needs: { verdict: 'text', item: 'text', evidence: 'text', 'checked at': 'time' },
        w: 24,
        h: 8,
      },
    ],
  },
]

/** The JSON Grafana loads for one dashboard. */
export function toGrafanaJson(d: DashboardSpec): Record<string, unknown> {
  const dashboard = new DashboardBuilder(d.title)
    .uid(d.uid)
    .description(d.description)
    .tags(['votestream'])
    .timezone('browser')
    .refresh('5s')
    .time({ from: 'now-1h', to: 'now' })
    .readonly()
    .withVariable(electionVariable())
  if (d.byState) dashboard.withVariable(stateVariable())
  if (d.byContest) dashboard.withVariable(contestVariable())
  dashboard.link(new DashboardLinkBuilder('VoteStream').type(DashboardLinkType.Dashboards).tags(['votestream']).asDropdown(true))
  // Left to right, a new row when the next panel does not fit in Grafana's 24 columns.
  let x = 0
  let y = 0
  let rowHeight = 0
  for (const p of d.panels) {
    const w = p.w ?? 12
    const h = p.h ?? 8
    if (x + w > 24) {
      x = 0
      y += rowHeight
      rowHeight = 0
    }
    const panel = p.panel().title(p.title).datasource(DATASOURCE).gridPos({ x, y, w, h }).withTarget(new SqlQueryBuilder(p.sql, p.format))
    if (p.description) panel.description(p.description)
    dashboard.withPanel(panel)
    x += w
    rowHeight = Math.max(rowHeight, h)
  }
  const built = dashboard.build()
  // Panel ids in order, as Grafana would number them.
  built.panels?.forEach((panel, i) => {
    ;(panel as { id?: number }).id = i + 1
  })
  return JSON.parse(JSON.stringify(built)) as Record<string, unknown>
}

export const fileName = (d: DashboardSpec) => `${d.uid.replace(/^votestream-/, '')}.json`
