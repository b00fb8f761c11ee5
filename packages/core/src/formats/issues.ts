import type { z } from 'zod';

/**
 * A zod issue as one short phrase: `metadata.save_count: expected number, received string`.
 * Names paths and types only, never the values found, so a secret in a file cannot reach the
 * message.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  return where ? `${where}: ${issueText(issue)}` : issueText(issue);
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return `missing (expected ${issue.expected})`;
  }
  if (issue.code === 'invalid_union') {
    const expected = issue.errors
      .map((alternative) => alternative[0])
      .filter((first) => first?.code === 'invalid_type' && first.path.length === 0)
      .map((first) => (first as z.core.$ZodIssueInvalidType).expected);
    if (expected.length === issue.errors.length && expected.length > 0) {
      return `expected ${expected.join(' or ')}`;
    }
    const nested = issue.errors.map((alternative) => alternative[0]).find((first) => first);
    return nested ? `no allowed form fits (${describeIssue(nested)})` : 'no allowed form fits';
  }
  // zod's own texts start with a category ("Invalid input: expected number, received string").
  return issue.message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, '');
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `["metadata", "save_count"]` → `metadata.save_count`; `["a", 0, "b c"]` → `a[0]["b c"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) {
      out += out ? `.${segment}` : segment;
    } else out += `[${JSON.stringify(clip(String(segment)))}]`;
  }
  return out;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
