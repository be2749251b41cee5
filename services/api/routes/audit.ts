import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { stream } from 'hono/streaming'
import { AppError } from '../../../domain/errors.ts'
import { readAuditCommitment } from '../../../lib/db/audit-files.ts'
import { getElection } from '../../../lib/db/elections.ts'
import { readSnapshot, withoutStatementTimeout } from '../../../lib/db/sql.ts'
import {
  auditFileNames,
  auditSource,
  CVR_FILE,
  cvrFile,
  MANIFEST_FILE,
  manifestFile,
  talliesFiles,
} from '../../../lib/exports/audit-files.ts'
import { requireAdmin } from '../auth.ts'
import type { ApiDeps } from '../deps.ts'
import { ElectionIdParam, json, problemResponses } from '../schemas.ts'
import { validationHook } from '../validation.ts'

const commitmentSchema = z.object({
  electionId: z.string(),
  generatedAt: z.string(),
  containerSize: z.number(),
  ballots: z.number(),
  algorithm: z.literal('sha-256'),
  files: z.array(z.object({ name: z.string(), sha256: z.string(), bytes: z.number() })),
  /** The files in sha256sum's format; save it as SHA256SUMS and run `sha256sum -c SHA256SUMS` beside the files. */
  list: z.string(),
  /** SHA-256 of `list`. */
  commitment: z.string(),
})

const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name of the audit set (letters, digits, . _ -)')

/**
 * The audit files of a closed election: the commitment (public, published when counting
 * finished, before any audit draws its seed) and the files themselves (the admin's, for
 * the auditors: cast vote records pair a precinct's ballots with their marks, which in a
 * small precinct is close to a voter's choices).
 */
export function auditRoutes(deps: ApiDeps) {
  const { sql } = deps
  const app = new OpenAPIHono({ defaultHook: validationHook })
  const adminOnly = requireAdmin(deps.config.API_ADMIN_TOKEN)
  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/audit',
        summary: "The audit files' SHA-256 digests and the commitment over the set",
        description:
          'Published once counting has finished, before an audit can draw its seed: the cast vote records (NIST SP 1500-103), the ballot manifest and each contest’s batch tallies (Arlo’s CSV layouts). 404 until then, and for an election without contests.',
        request: { params: ElectionIdParam },
        responses: { 200: json(commitmentSchema, 'the commitment'), ...problemResponses(400, 404) },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        await getElection(sql, id)
        const stored = await readAuditCommitment(sql, id)
        if (!stored) throw new AppError('not_found', `election ${id} has no audit files yet: they are made when counting finishes`)
        return c.json(
          {
            electionId: id,
            generatedAt: stored.generatedAt.toISOString(),
            containerSize: stored.containerSize,
            ballots: stored.ballots,
            algorithm: 'sha-256' as const,
            files: stored.files,
            list: stored.list,
            commitment: stored.commitment,
          },
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/audit/{file}',
        summary: 'One audit file, regenerated from the ballot box byte for byte as committed (admin)',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: ElectionIdParam.extend({ file: fileName.openapi({ param: { name: 'file', in: 'path' } }) }) },
        responses: {
          200: { description: 'the file (JSON or CSV)', content: { 'application/octet-stream': { schema: z.string() } } },
          ...problemResponses(400, 401, 404),
        },
      }),
      async (c) => {
        const { id, file } = c.req.valid('param')
        const stored = await readAuditCommitment(sql, id)
        if (!stored) throw new AppError('not_found', `election ${id} has no audit files yet: they are made when counting finishes`)
        if (!stored.files.some((f) => f.name === file)) throw new AppError('not_found', `election ${id} has no audit file ${file}`)
        const source = await auditSource(sql, id)
        if (!source || !auditFileNames(source).includes(file)) throw new AppError('not_found', `election ${id} has no audit file ${file}`)
        const headers = { 'content-disposition': `attachment; filename="${file}"` }
        if (file === CVR_FILE) {
          c.header('content-type', 'application/json')
          for (const [k, v] of Object.entries(headers)) c.header(k, v)
          // Streamed from the box in one snapshot: a county's records are hundreds of megabytes.
          return stream(c, async (out) => {
            await readSnapshot(sql, async (tx) => {
              await withoutStatementTimeout(tx)
              for await (const chunk of cvrFile(tx, source, stored.generatedAt, stored.containerSize)) {
                if (out.aborted) break
                await out.write(chunk)
              }
            })
          })
        }
        const text =
          file === MANIFEST_FILE
            ? await manifestFile(sql, source, stored.containerSize)
            : (
                await readSnapshot(sql, async (tx) => {
                  // One pass over a county's box: longer than a request's usual limit.
                  await withoutStatementTimeout(tx)
                  return talliesFiles(tx, source, stored.containerSize)
                })
              ).get(file)
        if (text === undefined) throw new AppError('not_found', `election ${id} has no audit file ${file}`)
        return c.body(text, 200, { ...headers, 'content-type': 'text/csv; charset=utf-8' })
      },
    )
}
