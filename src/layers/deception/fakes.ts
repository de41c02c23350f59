/**
 * The fakes library: realistic answers for traps, chosen per trap by name. Templates carry
 * placeholders filled once per deployment (`{{canary:NAME}}`: a canary credential;
 * `{{id:NAME}}`: a stable random-looking id, so no two deployments serve the same bytes) and per
 * answer (`{{rid}}`: a fresh random id; `{{ts}}`: the time). See canary.ts and template.ts.
 * @see ../../../docs/deception.md#fakes
 */

export const FAKE_NAMES = [
  'admin-login',
  'config-update',
  'env',
  'swagger',
  'ok',
  'unauthorized',
] as const
export type FakeName = (typeof FAKE_NAMES)[number]

export interface Fake {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

const ADMIN_LOGIN = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Admin Console · Sign in</title>
<link rel="stylesheet" href="/static/admin/css/login.{{id:asset}}.css">
</head>
<body class="login">
<main class="card">
  <h1>Administration</h1>
  <form method="post" action="/api/v1/admin/login" autocomplete="off">
    <input type="hidden" name="csrf_token" value="{{id:csrf}}">
    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
  <p class="muted">Authorized personnel only. All access is logged.</p>
</main>
<!-- build {{id:build}} | staging seed account: admin / {{canary:admin-password}} -->
<script src="/static/admin/js/login.{{id:asset}}.js" defer></script>
</body>
</html>
`

const CONFIG_UPDATE = `{"status":"accepted","message":"Configuration update initiated","job":{"id":"cfg_{{rid}}","state":"queued","etaSeconds":30},"appliedBy":"svc-config","rollbackToken":"{{canary:admin-session}}"}`

const ENV = `APP_NAME=api
APP_ENV=production
APP_DEBUG=false
APP_KEY=base64:{{id:app-key}}
APP_URL=https://api.internal
LOG_LEVEL=warning

DB_CONNECTION=pgsql
DB_HOST=db-primary.internal
DB_PORT=5432
DB_DATABASE=api_production
DB_USERNAME=api
DB_PASSWORD={{canary:db-password}}

REDIS_HOST=cache.internal
REDIS_PORT=6379

STRIPE_KEY=pk_live_{{id:stripe-publishable}}
STRIPE_SECRET={{canary:api-key}}

AWS_ACCESS_KEY_ID={{canary:aws-access-key}}
AWS_SECRET_ACCESS_KEY={{canary:aws-secret-key}}
AWS_DEFAULT_REGION=eu-west-1
AWS_BUCKET=api-prod-uploads

ADMIN_USER=admin
ADMIN_PASSWORD={{canary:admin-password}}
`

const SWAGGER = `{"swagger":"2.0","info":{"title":"Internal API","version":"2.4.1","description":"Internal endpoints. Not for public use."},"basePath":"/","schemes":["https"],"securityDefinitions":{"ApiKey":{"type":"apiKey","in":"header","name":"X-API-Key"}},"security":[{"ApiKey":[]}],"paths":{"/api/v1/admin/dashboard":{"get":{"summary":"Admin dashboard metrics","responses":{"200":{"description":"OK"}}}},"/api/v2/system/config_update":{"post":{"summary":"Apply a configuration change","parameters":[{"in":"body","name":"body","required":true,"schema":{"type":"object"}}],"responses":{"202":{"description":"Accepted"}}}},"/api/v1/internal/users/export":{"get":{"summary":"Export every user as CSV","produces":["text/csv"],"responses":{"200":{"description":"OK"}}}},"/api/v1/internal/keys":{"get":{"summary":"List service API keys","responses":{"200":{"description":"OK"}}}}},"x-examples":{"apiKey":"{{canary:api-key}}"}}`

/**
 * The library, by name.
 * @example
 * FAKES['config-update'].contentType // 'application/json'
 */
export const FAKES: Readonly<Record<FakeName, Fake>> = {
  'admin-login': { status: 200, contentType: 'text/html; charset=utf-8', body: ADMIN_LOGIN },
  'config-update': { status: 200, contentType: 'application/json', body: CONFIG_UPDATE },
  env: { status: 200, contentType: 'text/plain; charset=utf-8', body: ENV },
  swagger: { status: 200, contentType: 'application/json', body: SWAGGER },
  ok: { status: 200, contentType: 'application/json', body: '{"success":true,"id":"{{rid}}"}' },
  unauthorized: {
    status: 401,
    contentType: 'application/json',
    body: '{"error":"invalid_api_key","message":"The API key provided is invalid or has been revoked."}',
  },
}
