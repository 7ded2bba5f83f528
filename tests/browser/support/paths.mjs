// Folders the suite reads from and writes to, relative to the repository root.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: two folders above tests/browser/support. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Screenshots and server logs, kept by CI: `artifacts/browser/<test-name>/NN-step.png`. */
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'artifacts', 'browser');
