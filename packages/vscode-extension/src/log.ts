/**
 * The extension's "CheckpointKit" output channel (Output view, or the extension host's log
 * folder): what a scan found and how long it took, files that could not be read, the badge.
 * Enough to tell, from a user's report or a failed UI test, whether discovery, reading or the
 * workbench was slow.
 */
import type * as vscode from 'vscode';

/** The part of a `LogOutputChannel` the extension writes with. */
export type Log = Pick<vscode.LogOutputChannel, 'info' | 'warn' | 'debug'>;

/** Writes nothing (a registry made by a test without a channel). */
export const silentLog: Log = { info() {}, warn() {}, debug() {} };
