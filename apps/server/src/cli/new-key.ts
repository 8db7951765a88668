// `npm run new-key`: a new tenant API key (shown once) and the SHA-256 that goes into TENANTS_FILE
// (`keySha256`). With `--ops`: an operator token and its hash for OPS_TOKEN_SHA256.
import { createHash, randomBytes } from 'node:crypto';
import { newApiKey } from '../tenants.ts';

if (process.argv.includes('--ops')) {
  const token = `fvo_${randomBytes(32).toString('base64url')}`;
  console.log(`operator token (give it to the operator; it is not stored): ${token}`);
  console.log(`OPS_TOKEN_SHA256=${createHash('sha256').update(token).digest('hex')}`);
} else {
  const { key, sha256 } = newApiKey();
  console.log(`API key (give it to the tenant's backend; it is not stored): ${key}`);
  console.log(`"keySha256": ["${sha256}"]`);
}
