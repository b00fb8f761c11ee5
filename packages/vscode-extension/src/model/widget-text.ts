/**
 * Strings from a stranger's files (checkpoint ids, unit keys, file names, errors) shown in VS
 * Code's own widgets, which read some syntax in plain strings. Pure: no VS Code import.
 */

/**
 * A notification message without links. Notifications turn `[label](command:…)` (and `https:`,
 * `file:`) into a link and run the command when it is clicked, so an id such as
 * `[Retry](command:workbench.action.terminal.sendSequence?…)` quoted in "reset 1 failed unit of
 * …" would be one click from running in the terminal. A zero-width space between `]` and `(`
 * breaks the syntax; the text reads the same.
 */
export function withoutLinks(message: string): string {
  return message.replace(/\]\(/g, ']\u200b(');
}

/**
 * Text for a label that draws `$(name)` as an icon (quick pick labels, descriptions and details;
 * Markdown with theme icons): every `$(` escaped, so it shows as written.
 */
export function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, '\\$(');
}
