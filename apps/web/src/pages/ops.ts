// The operator dashboard page (`/ops`): one element, fed live over `WS /v1/ops`, behind the
// operator sign-in when the server asks for one (`GET /v1/ops/session` answers 401).
import '../ops/fv-ops-dashboard.ts';
import '../ops/fv-ops-login.ts';

const app = document.querySelector('#app')!;

async function show(): Promise<void> {
  const response = await fetch('/v1/ops/session').catch(() => null);
  if (response?.status === 401) {
    const login = document.createElement('fv-ops-login');
    login.addEventListener('fv-ops-signed-in', () => void show(), { once: true });
    app.replaceChildren(login);
    return;
  }
  app.replaceChildren(document.createElement('fv-ops-dashboard'));
}

void show();
