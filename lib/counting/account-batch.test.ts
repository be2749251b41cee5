import { describe, expect, it } from 'vitest'
import { CountLayoutError } from '../../domain/count-vector.ts'
import { isDatabaseFault, isTransient } from './account-batch.ts'

describe('whose fault a failed batch is', () => {
  it('takes a count layout that does not fit its definition for the database’s fault: retried, no ballot rejected', () => {
    expect(isDatabaseFault(new CountLayoutError('no stored count layout for style s1'))).toBe(true)
  })
  it('takes vec_add refusing vectors of two lengths (XX000) for the database’s fault too', () => {
    const err = Object.assign(new Error('vec_add: vectors of 2 and 1 elements'), { name: 'PostgresError', code: 'XX000' })
    expect(isDatabaseFault(err)).toBe(true)
  })
  it('takes a count past its column’s range (22003) for the database’s fault: a stored count overflowed, not a ballot', () => {
    const err = Object.assign(new Error('integer out of range'), { name: 'PostgresError', code: '22003' })
    expect(isDatabaseFault(err)).toBe(true)
    // Other data exceptions stay the message's (a value the database refuses).
    expect(isDatabaseFault(Object.assign(new Error('invalid input syntax'), { name: 'PostgresError', code: '22P02' }))).toBe(false)
  })
  it('takes a plain error for the message’s fault (the batch is split to find it)', () => {
    const err = new Error('something about this message')
    expect(isDatabaseFault(err)).toBe(false)
    expect(isTransient(err)).toBe(false)
  })
  it('takes a lock wait past lock_timeout (55P03) for a transient one', () => {
    expect(isTransient(Object.assign(new Error('canceling statement due to lock timeout'), { name: 'PostgresError', code: '55P03' }))).toBe(
      true,
    )
  })
})
