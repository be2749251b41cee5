import { AppError } from '../../domain/errors.ts'

/** A failed validation throws, so one error handler writes every problem document. */
export function validationHook(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) {
  if (!result.success) {
    const errors = (result.error?.issues ?? []).map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }))
    throw new AppError('invalid_input', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors)
  }
}
