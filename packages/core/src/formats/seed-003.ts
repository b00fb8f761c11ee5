import { z } from 'zod';
import { keyPath } from '../model/keys.js';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type Json,
  ownRecord,
  type RunStatus,
  type Unit,
  type UnitStatus,
} from '../model/schema.js';
import { ownObject } from './own-object.js';
import {
  CountSchema,
  type FormatReader,
  latest,
  type MappedDocument,
  parentName,
  type ReadContext,
  SeedTimestampSchema,
  unit,
  unitTimestamps,
  userMeta,
} from './shared.js';
import { type JsonPath, shapeMembers } from './unknown-fields.js';

/** `CheckpointStatus` as its enum values: the same four words as the canonical unit status. */
export const Seed003StatusSchema = z.enum(['pending', 'in_progress', 'complete', 'failed']);

/** `EndpointProgress`. */
export const Seed003EndpointSchema = z.object({
  status: Seed003StatusSchema,
  pages_collected: CountSchema,
  records_collected: CountSchema,
  /** The last page written; 0 before the first. `get_resume_page` gives this + 1. */
  last_page_written: CountSchema,
});

/** The `error` of a `RepoProgress`: what `mark_repo_endpoint_failed` records. */
export const Seed003ErrorSchema = ownObject({ message: z.string(), retryable: z.boolean() });

/** `RepoProgress`; the datetimes as `isoformat()` strings. */
export const Seed003RepoSchema = z.object({
  status: Seed003StatusSchema,
  started_at: SeedTimestampSchema.nullable(),
  completed_at: SeedTimestampSchema.nullable(),
  endpoints: ownRecord(Seed003EndpointSchema),
  error: Seed003ErrorSchema.nullable(),
});
export type Seed003Repo = z.infer<typeof Seed003RepoSchema>;

/** A phase's status as the seed's methods leave it, in any shape `json.dump` could give it. */
const PhaseStatusSchema = z.union([
  Seed003StatusSchema,
  // `{"status": "complete", "completed_at": ...}`: only the status is read (the other members
  // go to meta.user.unknownFields).
  z.object({ status: Seed003StatusSchema }).transform((phase) => phase.status),
  // `{"complete": true}` or `{"completed": true}`: a flag per phase.
  z
    .object({ complete: z.boolean().optional(), completed: z.boolean().optional() })
    .refine((phase) => phase.complete !== undefined || phase.completed !== undefined, {
      message: 'expected a status string, an object with a status, or a complete flag',
    })
    .transform(
      (phase): Seed003Status => (phase.complete || phase.completed ? 'complete' : 'pending'),
    ),
  z.boolean().transform((done): Seed003Status => (done ? 'complete' : 'pending')),
]);

/**
 * `phases`: the seed documents only `set_current_phase` and `mark_phase_complete`, not the JSON,
 * so every plausible shape is read: name → status string, name → object with a `status` (or a
 * `complete`/`completed` flag, or a boolean), or a list of the names of completed phases.
 */
export const Seed003PhasesSchema = z.union([
  ownRecord(PhaseStatusSchema),
  z
    .array(z.string())
    .transform((names) =>
      Object.fromEntries(names.map((name): [string, Seed003Status] => [name, 'complete'])),
    ),
]);
type Seed003Status = z.infer<typeof Seed003StatusSchema>;

/**
 * Seed 003's `checkpoint.json` (gh_year_end). The seed shows only its dataclasses, so this is
 * the JSON that `json.dump` of them gives, as inferred: snake_case keys, `CheckpointStatus`
 * as its string value, datetimes as ISO strings, and at the top level `created_at`,
 * `updated_at`, `config_digest` (the digest `validate_config` compares), `current_phase` (what
 * `set_current_phase` set; may be absent), `phases` (phase name → status) and `repos` (full name
 * → `RepoProgress`). It has no version field: it is recognised by these fields.
 */
export const Seed003Schema = z.object({
  created_at: SeedTimestampSchema,
  updated_at: SeedTimestampSchema,
  config_digest: z.string().nullable(),
  current_phase: z.string().nullable().default(null),
  phases: Seed003PhasesSchema,
  repos: ownRecord(Seed003RepoSchema).default({}),
});
export type Seed003Document = z.infer<typeof Seed003Schema>;

const NO_MESSAGE = 'failed (no message recorded)';

/**
 * Seed 003 into the canonical model:
 *
 * - each phase is a unit `phases/<name>` with its status; attempts 1 unless pending. Phases have
 *   no times in the file, so a complete phase's completedAt (and a failed one's error time) is the
 *   checkpoint's updated_at, the latest it can have happened. `current_phase` is kept in
 *   `meta.user.currentPhase` (and is an `in_progress` unit if `phases` lacks it).
 * - each repo endpoint is a unit `repos/<owner>/<repo>/<endpoint>`: status as is, attempts 1
 *   unless pending, done = records_collected, cursor `{ page: last_page_written + 1 }` (null
 *   before the first page), startedAt = the repo's started_at, completedAt (when complete) = the
 *   repo's completed_at, else updated_at. A failed endpoint gets the repo's error (message and
 *   retryable kept, at = the repo's completed_at, else updated_at).
 * - a repo with no endpoints yet is one unit `repos/<owner>/<repo>` with the repo's status.
 * - `meta.user.repos` keeps every repo's own status, started_at, completed_at and error.
 * - stats: pages = Σ pages_collected, records = Σ records_collected.
 * - configDigest = config_digest; createdAt = created_at; updatedAt = the latest timestamp.
 * - status `completed` when every unit is complete, `failed` when the rest failed, else `running`.
 */
export function seed003ToCheckpoint(doc: Seed003Document, context: ReadContext): Checkpoint {
  const updated = latest(doc.created_at, doc.updated_at);
  const units: Record<string, Unit> = {};
  for (const [name, status] of Object.entries(doc.phases)) {
    units[keyPath('phases', name)] = phaseUnit(status, updated);
  }
  if (doc.current_phase !== null && !(doc.current_phase in doc.phases)) {
    units[keyPath('phases', doc.current_phase)] = phaseUnit('in_progress', updated);
  }
  const repos = new Map<string, Json>();
  let pages = 0;
  let records = 0;
  for (const [name, repo] of Object.entries(doc.repos)) {
    repos.set(name, {
      status: repo.status,
      started_at: repo.started_at,
      completed_at: repo.completed_at,
      error: repo.error,
    });
    const endpoints = Object.entries(repo.endpoints);
    if (endpoints.length === 0) {
      units[keyPath('repos', name)] = repoUnit(repo, repo.status, updated);
    }
    for (const [endpoint, progress] of endpoints) {
      pages += progress.pages_collected;
      records += progress.records_collected;
      units[keyPath('repos', name, endpoint)] = {
        ...repoUnit(repo, progress.status, updated),
        done: progress.records_collected,
        cursor: progress.last_page_written > 0 ? { page: progress.last_page_written + 1 } : null,
      };
    }
  }
  return {
    format: CHECKPOINT_FORMAT,
    id: context.id ?? defaultId(context.file),
    status: runStatus(units),
    createdAt: doc.created_at,
    updatedAt: latest(updated, ...unitTimestamps(units)),
    configDigest: doc.config_digest,
    units,
    idMaps: {},
    stats: { pages, records },
    meta: {
      saveCount: 0,
      lastSaveReason: null,
      user: userMeta({
        migratedFrom: 'seed-003',
        currentPhase: doc.current_phase ?? undefined,
        repos: Object.fromEntries(repos),
      }),
    },
  };
}

function phaseUnit(status: UnitStatus, updated: string): Unit {
  return unit({
    status,
    attempts: status === 'pending' ? 0 : 1,
    completedAt: status === 'complete' ? updated : null,
    error:
      status === 'failed' ? { message: `phase ${NO_MESSAGE}`, retryable: true, at: updated } : null,
  });
}

function repoUnit(repo: Seed003Repo, status: UnitStatus, updated: string): Unit {
  const ended = repo.completed_at ?? updated;
  return unit({
    status,
    attempts: status === 'pending' ? 0 : 1,
    startedAt: status === 'pending' ? null : repo.started_at,
    completedAt: status === 'complete' ? ended : null,
    error:
      status === 'failed'
        ? {
            message: repo.error?.message ?? NO_MESSAGE,
            retryable: repo.error?.retryable ?? true,
            at: ended,
          }
        : null,
  });
}

function runStatus(units: Record<string, Unit>): RunStatus {
  const all = Object.values(units);
  if (all.length === 0 || all.some((u) => u.status === 'pending' || u.status === 'in_progress')) {
    return 'running';
  }
  return all.some((u) => u.status === 'failed') ? 'failed' : 'completed';
}

function defaultId(file: string | undefined): string {
  const parent = file === undefined ? undefined : parentName(file);
  return parent ? `gh_year_end:${parent}` : 'gh_year_end';
}

/**
 * What the mapping leaves out of a seed 003 document: an `updated_at` that is neither createdAt
 * nor updatedAt (created_at or a repository's time overrules it), an endpoint's
 * `pages_collected` where it differs from `last_page_written` (the cursor holds that one; the
 * pages are only summed in stats), and the `complete`/`completed` flags of a phase object that
 * has a `status` (the status is read).
 */
function unmappedSeed003({ doc, raw, checkpoint }: MappedDocument<Seed003Document>): JsonPath[] {
  const paths: JsonPath[] = [];
  if (![checkpoint.createdAt, checkpoint.updatedAt].includes(doc.updated_at)) {
    paths.push(['updated_at']);
  }
  for (const [name, repo] of Object.entries(doc.repos)) {
    for (const [endpoint, progress] of Object.entries(repo.endpoints)) {
      if (progress.pages_collected !== progress.last_page_written) {
        paths.push(['repos', name, 'endpoints', endpoint, 'pages_collected']);
      }
    }
  }
  const phases = raw['phases'];
  if (isRecord(phases)) {
    for (const [name, phase] of Object.entries(phases)) {
      if (!isRecord(phase) || !Object.hasOwn(phase, 'status')) continue;
      for (const flag of ['complete', 'completed']) {
        if (Object.hasOwn(phase, flag)) paths.push(['phases', name, flag]);
      }
    }
  }
  return paths;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reader of seed 003's checkpoint.json, recognised by its fields (it has no version). */
export const seed003Reader: FormatReader<Seed003Document> = {
  format: 'seed-003',
  label: 'seed 003 checkpoint.json',
  schema: Seed003Schema,
  // By structure only: a `version` field (which the seed does not write, but a file may carry)
  // neither adds nor takes away.
  affinity: (doc) =>
    ['repos', 'phases', 'config_digest', 'current_phase'].filter((field) => field in doc).length,
  toCheckpoint: seed003ToCheckpoint,
  known: {
    members: {
      ...shapeMembers(Seed003Schema.shape),
      // Of a phase object only `status` or the `complete`/`completed` flag is read.
      phases: { each: { members: { status: true, complete: true, completed: true } } },
      repos: {
        each: {
          members: {
            ...shapeMembers(Seed003RepoSchema.shape),
            endpoints: { each: { members: shapeMembers(Seed003EndpointSchema.shape) } },
          },
        },
      },
    },
  },
  unmapped: unmappedSeed003,
};
