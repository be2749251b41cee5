import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common'

/** Registered by the dev server at start (see lib/local-stack.ts); the Web UI filters on them. */
export const electionIdKey = defineSearchAttributeKey('ElectionId', SearchAttributeType.KEYWORD)
export const electionStatusKey = defineSearchAttributeKey('ElectionStatus', SearchAttributeType.KEYWORD)
