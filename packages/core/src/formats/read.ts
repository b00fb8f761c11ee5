import { CheckpointFormatError } from '../errors.js';
import { CHECKPOINT_FORMAT, type Checkpoint, CheckpointSchema } from '../model/schema.js';
import { canonicalReader } from './canonical.js';
import { MAX_DEPTH, tooDeep } from './depth.js';
import { describeIssue } from './issues.js';
import { seed000Reader } from './seed-000.js';
import { seed002V2Reader } from './seed-002.js';
import { seed002V1Reader } from './seed-002-v1.js';
import { seed003Reader } from './seed-003.js';
import type { DocumentFormat, FormatReader, ReadContext, ReadOptions } from './shared.js';
import { unknownFields, withUnknownFields } from './unknown-fields.js';

/** What {@link readCheckpointDocument} found: the document's format and its canonical checkpoint. */
export interface ReadResult {
  format: DocumentFormat;
  checkpoint: Checkpoint;
}

/** One reader, its document type hidden: try it on a document. */
interface Candidate {
  reader: Pick<FormatReader<unknown>, 'format' | 'label' | 'affinity'>;
  attempt(doc: Record<string, unknown>, context: ReadContext): ReturnType<typeof attemptWith>;
}

function attemptWith<T>(
  reader: FormatReader<T>,
  raw: Record<string, unknown>,
  context: ReadContext,
) {
  reader.check?.(raw, context);
  const parsed = reader.schema.safeParse(raw);
  if (!parsed.success) return { ok: false as const, issue: parsed.error.issues[0] };
  const checkpoint = reader.toCheckpoint(parsed.data, context);
  if (!reader.known) return { ok: true as const, checkpoint };
  const unmapped = reader.unmapped?.({ doc: parsed.data, raw, checkpoint, context }) ?? [];
  return {
    ok: true as const,
    checkpoint: withUnknownFields(checkpoint, unknownFields(raw, reader.known, unmapped)),
  };
}

function candidate<T>(reader: FormatReader<T>): Candidate {
  return { reader, attempt: (doc, context) => attemptWith(reader, doc, context) };
}

/** In the order ties are broken. */
const CANDIDATES: readonly Candidate[] = [
  candidate(canonicalReader),
  candidate(seed000Reader),
  candidate(seed002V1Reader),
  candidate(seed002V2Reader),
  candidate(seed003Reader),
];

/** The `version` values of the seed formats. */
const KNOWN_VERSIONS = ['1.0', '2.0'];

/**
 * Reads a parsed JSON document in any format CheckpointKit knows: a canonical checkpoint
 * (`checkpointkit/1`) or a seed checkpoint (seed 000's migration checkpoint 1.0, seed 002's v1.0
 * and v2.0, seed 003's checkpoint.json), recognised by its content, never by the file name. A seed
 * document is mapped into the canonical model (see each format's `...ToCheckpoint` and the
 * formats README); the result is always a valid {@link Checkpoint}, and one that
 * {@link checkpointToChanges} can write (short of its limits: 100 000 saves or attempts, names
 * such as `constructor`).
 *
 * @throws CheckpointFormatError naming the file and the cause: the format the document looks
 *   closest to and its first wrong field (`progress.json: not a checkpoint: looks like seed 002
 *   v2.0 but metadata.save_count: expected number, received string`), an unknown version or
 *   format, a document that is not a JSON object, or one nested deeper than 1000 levels. Its
 *   subclass `UnknownMemberError` for a canonical document with a member `checkpointkit/1` does
 *   not have (a seed document's unknown members are kept in `meta.user.unknownFields` instead).
 */
export function readCheckpointDocument(data: unknown, options: ReadOptions = {}): ReadResult {
  const { file } = options;
  const fail = (cause: string) => new CheckpointFormatError(file, cause);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw fail(`not a checkpoint: expected a JSON object, found ${typeName(data)}`);
  }
  const deep = tooDeep(data);
  if (deep !== null) throw fail(`${deep}: nested more than ${MAX_DEPTH} levels deep`);
  const doc = data as Record<string, unknown>;
  const context: ReadContext = { file, id: options.id };
  const ranked = CANDIDATES.map((entry) => ({ entry, score: entry.reader.affinity(doc) }))
    .filter(({ score }) => score > 0)
    .sort((a, b) => b.score - a.score);
  let closest: { label: string; issue: string } | undefined;
  for (const { entry } of ranked) {
    const attempt = entry.attempt(doc, context);
    if (!attempt.ok) {
      closest ??= {
        label: entry.reader.label,
        issue: attempt.issue ? describeIssue(attempt.issue) : 'invalid',
      };
      continue;
    }
    // A guard: the mappings give valid checkpoints, but an `options.id` of "" would not be one.
    const valid = CheckpointSchema.safeParse(attempt.checkpoint);
    if (!valid.success) {
      const issue = valid.error.issues[0];
      throw fail(
        `not a checkpoint: a ${entry.reader.label} that maps to no valid checkpoint: ${issue ? describeIssue(issue) : 'invalid'}`,
      );
    }
    return { format: entry.reader.format, checkpoint: valid.data };
  }
  if ('format' in doc && doc['format'] !== CHECKPOINT_FORMAT) {
    throw fail(`unknown format ${quote(doc['format'])} (known: "${CHECKPOINT_FORMAT}")`);
  }
  if ('version' in doc && !KNOWN_VERSIONS.includes(doc['version'] as string)) {
    throw fail(`unknown version ${quote(doc['version'])} (known: "1.0", "2.0")`);
  }
  if (closest) throw fail(`not a checkpoint: looks like ${closest.label} but ${closest.issue}`);
  throw fail(
    'not a checkpoint: none of its fields belongs to a known format (CheckpointKit checkpointkit/1, ' +
      'seed 000 migration checkpoint 1.0, seed 002 v1.0 or v2.0, seed 003 checkpoint.json)',
  );
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function quote(value: unknown): string {
  if (typeof value !== 'string') {
    return typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : typeName(value);
  }
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 36)}..."` : text;
}
