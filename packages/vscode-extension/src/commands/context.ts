/** What every command handler works with. */
import type { CheckpointRegistry } from '../state/registry.js';
import type { CheckpointTreeProvider } from '../tree/provider.js';
import type { Ui } from '../ui.js';

export interface CommandContext {
  registry: CheckpointRegistry;
  provider: CheckpointTreeProvider;
  /** The current UI (tests swap it for a recorder). */
  ui(): Ui;
  /** `workspace.isTrusted`, asked at the moment a command runs. */
  trusted(): boolean;
}

/** What a command did, for its caller (tests, and other commands): shown to the user as well. */
export interface Outcome {
  ok: boolean;
  message: string;
}

export const done = (message: string): Outcome => ({ ok: true, message });
export const refused = (message: string): Outcome => ({ ok: false, message });
