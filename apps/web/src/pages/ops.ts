// The operator dashboard page (`/ops`): one element, fed live over `WS /v1/ops`.
import '../ops/fv-ops-dashboard.ts';

document.querySelector('#app')?.append(document.createElement('fv-ops-dashboard'));
