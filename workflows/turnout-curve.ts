/**
 * The election day compressed: turnout peaks in the morning and the evening. The factor
 * averages 1 over the day, so the mean rate is the configured one.
 * `dayFraction` runs from 0 (polls open) to 1 (everyone who will vote has voted).
 */
export function turnoutFactor(dayFraction: number): number {
  const p = Math.min(1, Math.max(0, dayFraction))
  return 0.6 + 0.8 * Math.sin(2 * Math.PI * p) ** 2
}
