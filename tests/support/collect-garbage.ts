// Runs in every test file (vitest `setupFiles`). @roamhq/wrtc 0.10's native finalizer of a closed
// RTCPeerConnection crashes the process (SIGSEGV / "Check failed: node->IsInUse()") when it runs
// during the isolate's teardown at a natural exit, though not when it runs in an ordinary garbage
// collection. So each file ends with a collection while the isolate is healthy, and a test
// process that would end naturally leaves through process.exit instead, which skips that teardown
// (the server itself always leaves through process.exit).
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll } from 'vitest';

v8.setFlagsFromString('--expose_gc');
// Emitted only on a natural end (the event loop is empty: results are sent); never on an explicit exit.
process.once('beforeExit', (code) => process.exit(code));
const gc = vm.runInNewContext('gc') as (() => void) | undefined;

// Registered first, so with vitest's stacked hooks it runs after the file's own afterAll hooks.
afterAll(async () => {
  if (!gc) return;
  // Let closed peers' last callbacks drain, then collect twice (finalizers can free more).
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
});
