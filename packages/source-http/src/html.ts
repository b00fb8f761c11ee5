import { Parser } from 'htmlparser2';

/**
 * HTML where JSON was expected: a maintenance page, a load balancer's 502 page, a captive portal
 * or a WAF challenge. Shown as it came, 200 characters of `<!DOCTYPE html><html><head><style>`
 * told nothing; its title tells what happened ("Service under maintenance").
 */

/** Tags whose text is never shown: code and styles, not what the page says. */
const HIDDEN = new Set(['script', 'style', 'noscript', 'template', 'svg']);

/** How much of a page is parsed for its summary: the title is near the top. */
const SCAN_CHARS = 64 * 1024;

/** The longest summary shown. */
const MAX_CHARS = 100;

/**
 * Whether a body is an HTML page: markup (JSON never starts with `<`) that its Content-Type says
 * is HTML, or that starts as a page does, since proxies label their error pages
 * `application/json` too. Not the Content-Type alone: PHP and other frameworks send JSON as
 * `text/html` unless told otherwise, and such pages were read, as they should be.
 */
export function isHtml(contentType: string | null, text: string): boolean {
  const start = text.slice(0, 256).trimStart();
  if (!start.startsWith('<')) return false;
  const essence = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (essence === 'text/html' || essence === 'application/xhtml+xml') return true;
  return /^<(?:!doctype\s+html|html|head|body|title)[\s>]/i.test(start);
}

/**
 * `an HTML page ("…")`: the page's title, else its first heading, else its first words,
 * entities decoded and spaces collapsed, at most 100 characters; `an HTML page` when it has no
 * text. Parsed with htmlparser2, which takes any markup a server sends without throwing.
 */
export function describeHtml(text: string): string {
  let hidden = 0;
  let open: 'title' | 'heading' | undefined;
  const found = { title: '', heading: '', words: '' };
  const parser = new Parser(
    {
      onopentagname(name) {
        if (HIDDEN.has(name)) hidden++;
        else if (name === 'title' && !found.title) open = 'title';
        else if (/^h[1-6]$/.test(name) && !found.heading) open = 'heading';
      },
      onclosetag(name) {
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        else if (name === 'title' || /^h[1-6]$/.test(name)) open = undefined;
      },
      ontext(data) {
        if (hidden > 0) return;
        if (open) found[open] += data;
        if (found.words.length < MAX_CHARS * 2) found.words += ` ${data}`;
      },
    },
    { decodeEntities: true },
  );
  parser.end(text.slice(0, SCAN_CHARS));
  const said = [found.title, found.heading, found.words]
    .map((part) => part.replace(/\s+/g, ' ').trim())
    .find((part) => part !== '');
  if (!said) return 'an HTML page';
  const clipped = said.length > MAX_CHARS ? `${said.slice(0, MAX_CHARS)}…` : said;
  return `an HTML page (${JSON.stringify(clipped)})`;
}
