#!/usr/bin/env bash
# Release checks, run by .ci/run after lint. Three parts:
#
#  1. Versioning: in a throwaway copy of the working tree (tracked and untracked files, not the
#     ignored ones, committed into a fresh git repository there), run `changeset version` and
#     check that every package a changeset names got a bumped version and a CHANGELOG.md entry,
#     that no package jumped to a new major its changesets did not ask for, that only
#     package.json, CHANGELOG.md and .changeset files changed, and that the workspace still
#     resolves with the lockfile as it is. The repository itself is never touched.
#  2. Packing: for every publishable package (packages/* that are not private), `pnpm pack` into
#     a temporary directory and check the tarball: dist/, README.md and package.json are there,
#     nothing else but CHANGELOG.md, LICENSE and what `files` names outside dist; no sources,
#     tests, fixtures, scenarios or source maps; every file that `exports`, `main`, `types` and
#     `bin` point at is inside; no `workspace:` range is left in the packed package.json. Also
#     checks that each package's `lint` script runs publint and attw (pnpm lint runs them).
#  3. Installing: npm installs the tarballs into an empty project outside the workspace, as a
#     user would, and scripts/release/installed-smoke.mjs imports every export and runs a small
#     job (file store compacting in its worker thread, sink-file, source-http, the CLI's bin,
#     storage-postgres migrating on a throwaway server); scripts/release/installed-types.mjs
#     typechecks every export as users' projects do: without skipLibCheck, strict, and both as
#     ESM (NodeNext) and as CommonJS (moduleResolution node10).
#
# Usage: ./scripts/check-release.sh     (builds first with `pnpm build`; turbo caches it)
# Exits 1 when anything is wrong, naming the package and the file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/checkpointkit-release.XXXXXX")"
trap 'rm -rf "$work"' EXIT

problems="$work/problems"
: >"$problems"
problem() { printf '%s\n' "$*" >>"$problems"; }

# Publishable packages: packages/* whose package.json is not private, as "dir<TAB>name" lines.
publishable="$(node -e '
  const fs = require("node:fs");
  for (const dir of fs.readdirSync("packages").sort()) {
    const file = `packages/${dir}/package.json`;
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!pkg.private) console.log(`packages/${dir}\t${pkg.name}`);
  }')"
if [ -z "$publishable" ]; then
  echo "check-release: no publishable package under packages/" >&2
  exit 1
fi

echo "check-release: building (pnpm build)"
pnpm build --output-logs=errors-only >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  echo "check-release: pnpm build failed" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
echo "check-release: changeset version in a copy of the working tree"
copy="$work/copy"
mkdir "$copy"
git ls-files -z --cached --others --exclude-standard |
  tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$copy"
(
  cd "$copy"
  git init -q
  git add -A
  git -c user.name=check-release -c user.email=check-release@localhost \
    commit -q --no-verify -m "working tree"
  echo node_modules >>.git/info/exclude
)

pending="$(find "$copy/.changeset" -maxdepth 1 -name '*.md' ! -name 'README.md' | wc -l)"
if [ "$pending" -eq 0 ]; then
  echo "  no pending changesets: nothing to version"
else
  node - "$copy" >"$work/before.json" <<'EOF'
// Versions before, and the bump each package's own changesets ask for.
const fs = require('node:fs');
const path = require('node:path');
const root = process.argv[2];
const dirs = fs
  .readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8')
  .split('\n')
  .map((line) => line.match(/^\s*-\s*['"]?([^'"]+)['"]?\s*$/)?.[1])
  .filter(Boolean)
  .flatMap((pattern) =>
    pattern.endsWith('/*')
      ? fs.readdirSync(path.join(root, pattern.slice(0, -2))).map((d) => `${pattern.slice(0, -2)}/${d}`)
      : [pattern],
  )
  .filter((dir) => fs.existsSync(path.join(root, dir, 'package.json')));
const packages = {};
for (const dir of dirs) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
  packages[pkg.name] = { dir, version: pkg.version, asked: null };
}
const rank = { patch: 1, minor: 2, major: 3 };
const changesetDir = path.join(root, '.changeset');
for (const file of fs.readdirSync(changesetDir)) {
  if (!file.endsWith('.md') || file === 'README.md') continue;
  const text = fs.readFileSync(path.join(changesetDir, file), 'utf8');
  const front = text.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  if (!front) {
    console.error(`.changeset/${file}: no frontmatter`);
    process.exit(1);
  }
  for (const line of front[1].split('\n')) {
    const m = line.match(/^\s*["']?([^"':]+)["']?\s*:\s*(patch|minor|major)\s*$/);
    if (!m) continue;
    const entry = packages[m[1]];
    if (!entry) {
      console.error(`.changeset/${file}: names ${m[1]}, which is not a workspace package`);
      process.exit(1);
    }
    if (!entry.asked || rank[m[2]] > rank[entry.asked]) entry.asked = m[2];
  }
}
console.log(JSON.stringify(packages));
EOF

  ln -s "$repo/node_modules" "$copy/node_modules"
  if ! (cd "$copy" && CI=true node_modules/.bin/changeset version) >"$work/version.log" 2>&1; then
    cat "$work/version.log" >&2
    problem "changeset version failed (output above)"
  fi
  # The lockfile check must not reach the repository's node_modules through the link.
  rm "$copy/node_modules"

  publishable_names="$(cut -f2 <<<"$publishable" | paste -sd, -)"
  node - "$copy" "$work/before.json" "$publishable_names" >>"$problems" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [root, beforeFile, names] = process.argv.slice(2);
const before = JSON.parse(fs.readFileSync(beforeFile, 'utf8'));
const publishable = new Set(names.split(','));
const parse = (v) => v.split(/[.+-]/).slice(0, 3).map(Number);
const newer = (a, b) => {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
};
const lines = [];
for (const [name, { dir, version, asked }] of Object.entries(before)) {
  const file = path.join(root, dir, 'package.json');
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`${name}: ${dir}/package.json is not JSON after changeset version: ${error.message}`);
    continue;
  }
  const bumped = pkg.version !== version;
  if (bumped && !newer(pkg.version, version)) {
    console.log(`${name}: ${dir}/package.json version went from ${version} to ${pkg.version}`);
  }
  const changelog = path.join(root, dir, 'CHANGELOG.md');
  if (asked && !bumped) {
    console.log(`${name}: a changeset asks for a ${asked} release, but ${dir}/package.json stayed at ${version}`);
  }
  if (bumped && publishable.has(name)) {
    const text = fs.existsSync(changelog) ? fs.readFileSync(changelog, 'utf8') : null;
    if (text === null) console.log(`${name}: no ${dir}/CHANGELOG.md after changeset version`);
    else if (!text.includes(`## ${pkg.version}`)) {
      console.log(`${name}: ${dir}/CHANGELOG.md has no "## ${pkg.version}" section`);
    }
  }
  // A jump to a new major is only right when a changeset of the package asks for it.
  if (bumped && parse(pkg.version)[0] > parse(version)[0] && asked !== 'major') {
    console.log(
      `${name}: changeset version makes it ${pkg.version} (from ${version}), a new major, though its changesets ask for ${asked ?? 'nothing'}` +
        ' (changesets bumps every package that peer-depends on a package released with a minor or major bump to a new major; see docs/contributing.md "Releasing")',
    );
  }
  lines.push(`  ${name.padEnd(38)} ${version} -> ${bumped ? pkg.version : '(unchanged)'}${asked ? `  (changesets: ${asked})` : ''}`);
}
fs.writeFileSync(path.join(path.dirname(beforeFile), 'versions.txt'), lines.join('\n') + '\n');
EOF
  cat "$work/versions.txt"

  # Only package.json, CHANGELOG.md and consumed changesets may change.
  (cd "$copy" && git status --porcelain --untracked-files=all) | while IFS= read -r line; do
    file="${line:3}"
    case "$file" in
      */package.json | */CHANGELOG.md | .changeset/*.md) ;;
      *) problem "changeset version changed $file, which it should not touch" ;;
    esac
  done
  left="$(find "$copy/.changeset" -maxdepth 1 -name '*.md' ! -name 'README.md' -printf '%f ')"
  [ -z "$left" ] || problem "changeset version left changesets unconsumed: $left"

  # The bumped workspace must still resolve with the lockfile as it is.
  if ! (cd "$copy" && pnpm install --lockfile-only --offline --reporter=silent) >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    problem "after changeset version, pnpm install --lockfile-only fails (output above)"
  elif ! (cd "$copy" && git diff --quiet -- pnpm-lock.yaml); then
    problem "after changeset version, pnpm-lock.yaml would change: $(cd "$copy" && git diff --stat -- pnpm-lock.yaml | tail -1)"
  fi
fi

# ---------------------------------------------------------------------------------------------
echo "check-release: pnpm pack of each publishable package"
while IFS=$'\t' read -r dir name; do
  dest="$work/pack/${name//\//__}"
  mkdir -p "$dest"
  if ! (cd "$dir" && pnpm pack --pack-destination "$dest") >"$dest/pack.log" 2>&1; then
    cat "$dest/pack.log" >&2
    problem "$name: pnpm pack failed in $dir (output above)"
    continue
  fi
  tarball="$(find "$dest" -name '*.tgz' | head -1)"
  tar -tzf "$tarball" | sed 's#^package/##' | sort >"$dest/files.txt"
  mkdir "$dest/x"
  tar -xzf "$tarball" -C "$dest/x" package/package.json
  node - "$dir" "$name" "$dest/files.txt" "$dest/x/package/package.json" "$(basename "$tarball")" <<'EOF' >>"$problems"
const fs = require('node:fs');
const [dir, name, listFile, packedFile, tarball] = process.argv.slice(2);
const files = fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
const has = new Set(files);
const source = JSON.parse(fs.readFileSync(`${dir}/package.json`, 'utf8'));
const packed = JSON.parse(fs.readFileSync(packedFile, 'utf8'));
const say = (what) => console.log(`${name}: ${what}`);

// What the tarball may hold: dist/, the package's own documents, and what `files` adds.
const extra = (source.files ?? [])
  .filter((entry) => !entry.startsWith('!') && !/^dist(\/|$)/.test(entry))
  .map((entry) => entry.replace(/\/$/, ''));
const allowed = (file) =>
  file.startsWith('dist/') ||
  ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'LICENSE.md'].includes(file) ||
  extra.some((entry) => file === entry || file.startsWith(`${entry}/`));
const forbidden = [
  [/(^|\/)(src|test|tests|__tests__)\//, 'a source or test directory'],
  [/(^|\/)(fixtures?|scenarios|test-artifacts|coverage)(\/|$)/, 'fixtures or scenarios'],
  [/\.(test|spec)\.[cm]?[jt]sx?$/, 'a test file'],
  [/\.map$/, 'a source map'],
  [/\.tsbuildinfo$/, 'a TypeScript build info file'],
  [/(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[cm]?[jt]s|\.env[^/]*)$/, 'build or test configuration'],
];
for (const file of files) {
  const hit = forbidden.find(([pattern]) => pattern.test(file));
  if (hit) say(`${tarball} holds ${file} (${hit[1]})`);
  else if (!allowed(file)) say(`${tarball} holds ${file}, which is not dist/, README.md, CHANGELOG.md, LICENSE or named in "files"`);
}
for (const needed of ['package.json', 'README.md']) {
  if (!has.has(needed)) say(`${tarball} lacks ${needed}`);
}
if (!files.some((file) => file.startsWith('dist/'))) say(`${tarball} holds no dist/ (was it built?)`);
if (fs.existsSync(`${dir}/CHANGELOG.md`) && !has.has('CHANGELOG.md')) say(`${tarball} lacks ${dir}/CHANGELOG.md`);

// Every file the manifest points at is in the tarball.
const targets = [];
const walk = (value, where) => {
  if (typeof value === 'string') targets.push([value, where]);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) walk(inner, `${where}["${key}"]`);
  }
};
walk(packed.exports, 'exports');
walk(packed.bin, 'bin');
for (const field of ['main', 'module', 'types', 'typings']) walk(packed[field], field);
for (const [target, where] of targets) {
  const file = target.replace(/^\.\//, '');
  if (file.includes('*')) {
    const [head, tail] = file.split('*');
    if (!files.some((f) => f.startsWith(head) && f.endsWith(tail))) say(`${where} is ${target}: nothing in ${tarball} matches it`);
  } else if (!has.has(file)) {
    say(`package.json ${where} points at ${target}, which is not in ${tarball}`);
  }
}

// No workspace: range survives packing.
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
  for (const [dep, range] of Object.entries(packed[field] ?? {})) {
    if (String(range).startsWith('workspace:')) say(`the packed package.json keeps ${field}["${dep}"] = "${range}"`);
  }
}

// publint and attw run in the package's lint script (pnpm lint runs it).
const lint = source.scripts?.lint ?? '';
if (!/\bpublint\b/.test(lint)) say(`${dir}/package.json: the lint script does not run publint`);
if (!/\battw\b/.test(lint)) say(`${dir}/package.json: the lint script does not run attw (@arethetypeswrong/cli)`);
if (!source.license) say(`${dir}/package.json has no "license"`);
if (!Array.isArray(source.files)) say(`${dir}/package.json has no "files"`);

const size = fs.statSync(`${listFile.replace(/files\.txt$/, '')}${tarball}`).size;
fs.appendFileSync(
  `${listFile.replace(/[^/]*\/files\.txt$/, '')}summary.txt`,
  `  ${name.padEnd(34)} ${String(files.length).padStart(4)} files ${(size / 1024).toFixed(1).padStart(7)} kB  ${tarball}\n`,
);
EOF
done <<<"$publishable"
cat "$work/pack/summary.txt" 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# 3. Installing: the tarballs, installed with npm into an empty project outside the workspace,
#    load under plain Node and run a small job end to end (scripts/release/installed-smoke.mjs),
#    and their types check in users' projects (scripts/release/installed-types.mjs).
if [ ! -s "$problems" ]; then
  echo "check-release: npm install of the tarballs into an empty project, then a job with them"
  user="$work/user"
  mkdir "$user"
  printf '{ "name": "a-user", "private": true, "type": "module" }\n' >"$user/package.json"
  mapfile -t tarballs < <(find "$work/pack" -name '*.tgz' | sort)
  if ! (cd "$user" && npm install --no-audit --no-fund --prefer-offline --loglevel=error \
    "${tarballs[@]}") >"$work/npm-install.log" 2>&1; then
    cat "$work/npm-install.log" >&2
    problem "npm install of the packed tarballs into an empty project fails (output above)"
  else
    cp scripts/release/installed-smoke.mjs "$user/"
    (cd "$user" && node installed-smoke.mjs) >>"$problems" ||
      [ -s "$problems" ] || problem "scripts/release/installed-smoke.mjs failed without saying why"
    cp scripts/release/installed-types.mjs "$user/"
    (cd "$user" && node installed-types.mjs "$repo/node_modules/typescript") >>"$problems" ||
      [ -s "$problems" ] || problem "scripts/release/installed-types.mjs failed without saying why"
  fi
fi

# ---------------------------------------------------------------------------------------------
if [ -s "$problems" ]; then
  echo
  echo "check-release: $(wc -l <"$problems") problem(s):" >&2
  sed 's/^/  /' "$problems" >&2
  exit 1
fi
echo "check-release: ok ($(wc -l <<<"$publishable") publishable packages)"
