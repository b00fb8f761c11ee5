import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

suite('smoke', () => {
  test('activates', async () => {
    const ext = vscode.extensions.getExtension('checkpointkit.checkpointkit-vscode');
    assert.ok(ext);
    const api = await ext.activate();
    assert.equal(api.hello, 1);
    assert.ok(vscode.workspace.workspaceFolders?.length);
  });
});
