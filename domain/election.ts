/** An election's lifecycle: draft → open → closing → closed → certified. */
export const ELECTION_STATUSES = ['draft', 'open', 'closing', 'closed', 'certified'] as const
export type ElectionStatus = (typeof ELECTION_STATUSES)[number]

const NEXT: Record<ElectionStatus, ElectionStatus[]> = {
  draft: ['open'],
  open: ['closing'],
  closing: ['closed'],
  closed: ['certified'],
  certified: [],
}

export function canTransition(from: ElectionStatus, to: ElectionStatus): boolean {
  return NEXT[from].includes(to)
}

/** The status in the words results reporters use. */
export const REPORTING_STATUSES = ['not-started', 'unofficial-partial', 'unofficial-complete', 'certified'] as const
export type ReportingStatus = (typeof REPORTING_STATUSES)[number]

export function reportingStatus(status: ElectionStatus): ReportingStatus {
  switch (status) {
    case 'draft':
      return 'not-started'
    case 'open':
    case 'closing':
      return 'unofficial-partial'
    case 'closed':
      return 'unofficial-complete'
    case 'certified':
      return 'certified'
  }
}

export interface Candidate {
  id: string
  name: string
  party?: string
}

export interface Region {
  id: string
  name: string
  state: string
  /** The county a simulated precinct lies in; not stored (the name carries it: "Oakfield Co. P3"). */
  county?: string
  registeredVoters: number
  lat?: number
  lon?: number
}
