// The browser side of the CORS tests: a client that talks to the API the way the Next.js web client
// does with axios and `withCredentials: true`:
//   - every request is credentialed (`credentials: "include"`, axios's withCredentials),
//   - `Accept: application/json, text/plain, */*` (axios's default),
//   - `Content-Type: application/json` when there is a body (axios drops it when there is none),
//   - `Authorization: Bearer <token>` once signed in (the client's request interceptor).
// Authorization and the JSON Content-Type make every such request non-simple, so the browser sends
// a real CORS preflight first. Playwright calls `window.runFlow(api)` and `window.probe(api)` through
// page.evaluate; they check statuses and bodies here in the page and report a transcript back.
'use strict';

const AXIOS_ACCEPT = 'application/json, text/plain, */*';

/** One API call as axios would make it. Network and CORS failures reject, as they do in axios. */
async function request(api, method, path, { token, body, headers = {} } = {}) {
  const h = { Accept: AXIOS_ACCEPT, ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(api + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'include',
    mode: 'cors',
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    method,
    path,
    status: res.status,
    body: json,
    text,
    type: res.type, // "cors" for a cross-origin response the page may read
    // Only CORS-safelisted and exposed headers are visible to a cross-origin page.
    headers: Object.fromEntries(res.headers.entries()),
  };
}

/** Runs `fn` and records a step; a failed check or a rejected fetch is a failure, not a throw. */
function recorder() {
  const steps = [];
  const failures = [];
  return {
    steps,
    failures,
    async step(name, fn) {
      const problems = [];
      const check = (cond, what) => {
        if (!cond) problems.push(what);
      };
      let result;
      try {
        result = await fn(check);
      } catch (e) {
        problems.push(`threw ${e && e.name}: ${e && e.message}`);
      }
      const summary = result && typeof result === 'object' && 'status' in result
        ? { status: result.status, body: result.body, headers: result.headers, type: result.type }
        : { result };
      steps.push({ name, ok: problems.length === 0, problems, ...summary });
      for (const p of problems) failures.push(`${name}: ${p}`);
      document.getElementById('log').textContent += `${problems.length ? 'FAIL' : 'ok  '} ${name}\n`;
      return result;
    },
  };
}

const isTask = (t) =>
  t && Number.isInteger(t.id) && t.id > 0 && typeof t.user_id === 'string' && typeof t.title === 'string'
  && typeof t.completed === 'boolean' && typeof t.created_at === 'string' && typeof t.updated_at === 'string';

/** The web client's whole journey: sign up, sign in, then every task operation. */
async function runFlow(api) {
  const r = recorder();
  const step = r.step.bind(r);
  const suffix = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const email = `Browser.${suffix}@Example.com`;
  const password = 'Secr3t!pass';
  const name = 'Browser Tester';

  await step('GET /health (simple credentialed request, no preflight)', async (check) => {
    const res = await fetch(api + '/health', { credentials: 'include' });
    const body = await res.json();
    check(res.status === 200, `status ${res.status}`);
    check(body.status === 'ok', `body ${JSON.stringify(body)}`);
    return { status: res.status, body, type: res.type, headers: Object.fromEntries(res.headers.entries()) };
  });

  await step('signup with a weak password: 400 detail readable cross-origin', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signup', { body: { name, email, password: 'weakpass' } });
    check(res.status === 400, `status ${res.status}`);
    check(typeof res.body?.detail === 'string' && res.body.detail.length > 0, `body ${res.text}`);
    return res;
  });

  const signup = await step('POST /api/auth/signup', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signup', { body: { name, email, password } });
    check(res.status === 201, `status ${res.status}: ${res.text}`);
    check(res.body?.message === 'User created successfully', `message ${res.body?.message}`);
    check(typeof res.body?.user_id === 'string' && res.body.user_id.length === 36, `user_id ${res.body?.user_id}`);
    check(typeof res.body?.access_token === 'string', 'no access_token');
    check(res.body?.token_type === 'bearer', `token_type ${res.body?.token_type}`);
    return res;
  });
  const userId = signup?.body?.user_id;

  await step('signup again with the same email in other case: 400', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signup', { body: { name, email: email.toUpperCase(), password } });
    check(res.status === 400, `status ${res.status}`);
    check(res.body?.detail === 'Email already registered', `detail ${res.body?.detail}`);
    return res;
  });

  await step('signin with a wrong password: 401 detail readable cross-origin', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signin', { body: { email, password: 'Wr0ng!pass' } });
    check(res.status === 401, `status ${res.status}`);
    check(res.body?.detail === 'Invalid email or password', `detail ${res.body?.detail}`);
    return res;
  });

  const signin = await step('POST /api/auth/signin', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signin', { body: { email, password } });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(typeof res.body?.access_token === 'string', 'no access_token');
    check(res.body?.token_type === 'bearer', `token_type ${res.body?.token_type}`);
    check(res.body?.user?.id === userId, `user.id ${res.body?.user?.id} != ${userId}`);
    check(res.body?.user?.email === email.toLowerCase(), `user.email ${res.body?.user?.email}`);
    check(res.body?.user?.name === name, `user.name ${res.body?.user?.name}`);
    return res;
  });
  const token = signin?.body?.access_token;
  const base = `/api/${userId}/tasks`;

  await step('GET tasks of a new user: []', async (check) => {
    const res = await request(api, 'GET', base, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 0, `body ${res.text}`);
    return res;
  });

  const created = await step('POST tasks', async (check) => {
    const res = await request(api, 'POST', base, { token, body: { title: '  Buy milk  ', description: 'two litres' } });
    check(res.status === 201, `status ${res.status}: ${res.text}`);
    check(isTask(res.body), `not a task: ${res.text}`);
    check(res.body?.title === 'Buy milk', `title ${JSON.stringify(res.body?.title)}`);
    check(res.body?.description === 'two litres', `description ${res.body?.description}`);
    check(res.body?.completed === false, `completed ${res.body?.completed}`);
    check(res.body?.user_id === userId, `user_id ${res.body?.user_id}`);
    return res;
  });
  const taskId = created?.body?.id;

  const second = await step('POST a second task', async (check) => {
    const res = await request(api, 'POST', base, { token, body: { title: 'Walk the dog' } });
    check(res.status === 201, `status ${res.status}: ${res.text}`);
    check(isTask(res.body), `not a task: ${res.text}`);
    return res;
  });

  await step('GET tasks: both, newest first', async (check) => {
    const res = await request(api, 'GET', base, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 2, `body ${res.text}`);
    check(res.body?.[0]?.id === second?.body?.id && res.body?.[1]?.id === taskId, `order ${res.text}`);
    return res;
  });

  await step('GET tasks?limit=1: exposed Link header readable cross-origin', async (check) => {
    const res = await request(api, 'GET', `${base}?limit=1`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 1, `body ${res.text}`);
    check(/rel="next"/.test(res.headers.link ?? ''), `Link header not visible: ${JSON.stringify(res.headers)}`);
    return res;
  });

  await step('PATCH .../complete: toggles to completed', async (check) => {
    const res = await request(api, 'PATCH', `${base}/${taskId}/complete`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.id === taskId && res.body?.completed === true, `body ${res.text}`);
    return res;
  });

  await step('GET tasks?status=completed: the toggled task', async (check) => {
    const res = await request(api, 'GET', `${base}?status=completed`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 1 && res.body[0].id === taskId, `body ${res.text}`);
    return res;
  });

  await step('PATCH .../complete again: back to pending', async (check) => {
    const res = await request(api, 'PATCH', `${base}/${taskId}/complete`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.completed === false, `body ${res.text}`);
    return res;
  });

  await step('PUT task: title and description change, updated_at moves', async (check) => {
    const res = await request(api, 'PUT', `${base}/${taskId}`, {
      token,
      body: { title: 'Buy oat milk', description: null, completed: true },
    });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.title === 'Buy oat milk', `title ${res.body?.title}`);
    check(res.body?.description === null, `description ${res.body?.description}`);
    check(res.body?.completed === true, `completed ${res.body?.completed}`);
    check(Date.parse(res.body?.updated_at) >= Date.parse(created?.body?.updated_at), 'updated_at went back');
    check(/Z$/.test(res.body?.updated_at ?? ''), `updated_at without Z: ${res.body?.updated_at}`);
    return res;
  });

  await step('GET task by id', async (check) => {
    const res = await request(api, 'GET', `${base}/${taskId}`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.id === taskId && res.body?.title === 'Buy oat milk', `body ${res.text}`);
    return res;
  });

  await step('DELETE task', async (check) => {
    const res = await request(api, 'DELETE', `${base}/${taskId}`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.message === 'Task deleted successfully', `body ${res.text}`);
    return res;
  });

  await step('GET deleted task: 404 detail readable cross-origin', async (check) => {
    const res = await request(api, 'GET', `${base}/${taskId}`, { token });
    check(res.status === 404, `status ${res.status}`);
    check(res.body?.detail === 'Task not found', `body ${res.text}`);
    return res;
  });

  await step('GET tasks: only the second task is left', async (check) => {
    const res = await request(api, 'GET', base, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 1 && res.body[0].id === second?.body?.id, `body ${res.text}`);
    return res;
  });

  // A URL the page has not called yet, so the browser's preflight cache (Access-Control-Max-Age)
  // cannot answer for it: this DELETE gets its own preflight.
  await step('DELETE the second task (fresh URL: its own preflight)', async (check) => {
    const res = await request(api, 'DELETE', `${base}/${second?.body?.id}`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(res.body?.message === 'Task deleted successfully', `body ${res.text}`);
    return res;
  });

  await step('GET tasks: empty again', async (check) => {
    const res = await request(api, 'GET', base, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 0, `body ${res.text}`);
    return res;
  });

  await step('search, filter by tag and sort; tag counts (tasks created with priority, due date, tags)', async (check) => {
    const milk = await request(api, 'POST', base, {
      token,
      body: { title: 'Buy milk', description: 'two litres', tags: ['home'] },
    });
    const dog = await request(api, 'POST', base, {
      token,
      body: { title: 'Walk the dog', priority: 'high', tags: ['Home', 'dog'], due_at: '2026-05-01T12:00:00+02:00' },
    });
    check(milk.status === 201 && dog.status === 201, `create: ${milk.text} ${dog.text}`);
    check(dog.body?.due_at === '2026-05-01T10:00:00.000000Z', `due_at ${dog.body?.due_at}`);
    check(JSON.stringify(dog.body?.tags) === '["Home","dog"]', `tags ${JSON.stringify(dog.body?.tags)}`);
    const q = new URLSearchParams([['q', 'MILK litres'], ['tag', 'HOME'], ['sort', 'title_asc']]);
    const res = await request(api, 'GET', `${base}?${q}`, { token });
    check(res.status === 200, `status ${res.status}: ${res.text}`);
    check(Array.isArray(res.body) && res.body.length === 1 && res.body[0].id === milk.body?.id, `body ${res.text}`);
    const none = await request(api, 'GET', `${base}?q=${encodeURIComponent('milk dog')}`, { token });
    check(Array.isArray(none.body) && none.body.length === 0, `milk dog found ${none.text}`);
    const tags = await request(api, 'GET', `/api/${userId}/tags`, { token });
    check(JSON.stringify(tags.body) === JSON.stringify([{ tag: 'Home', count: 2 }, { tag: 'dog', count: 1 }]), `tags ${tags.text}`);
    const bad = await request(api, 'GET', `${base}?sort=newest`, { token });
    check(bad.status === 400 && /sort/.test(bad.body?.detail ?? ''), `bad sort: ${bad.status} ${bad.text}`);
    return res;
  });

  await step('bad token: 401 with WWW-Authenticate readable cross-origin', async (check) => {
    const res = await request(api, 'GET', base, { token: 'not-a-jwt' });
    check(res.status === 401, `status ${res.status}`);
    check(res.body?.detail === 'Invalid or expired token', `body ${res.text}`);
    check(/^Bearer/.test(res.headers['www-authenticate'] ?? ''), `WWW-Authenticate not visible: ${JSON.stringify(res.headers)}`);
    return res;
  });

  await step("another user's tasks: 403 detail readable cross-origin", async (check) => {
    const res = await request(api, 'GET', '/api/00000000-0000-4000-8000-000000000000/tasks', { token });
    check(res.status === 403, `status ${res.status}`);
    check(res.body?.detail === 'Access denied', `body ${res.text}`);
    return res;
  });

  await step('POST /api/auth/signout: 204, then the token is refused', async (check) => {
    const res = await request(api, 'POST', '/api/auth/signout', { token });
    check(res.status === 204, `status ${res.status}: ${res.text}`);
    const after = await request(api, 'GET', base, { token });
    check(after.status === 401, `after sign-out: status ${after.status}`);
    check(after.body?.detail === 'Invalid or expired token', `after sign-out: ${after.text}`);
    return res;
  });

  return { userId, email, steps: r.steps, failures: r.failures };
}

/** From an origin the API does not allow: each call must be refused by the browser. */
async function probe(api, email) {
  const attempts = [
    ['POST /api/auth/signup (preflighted)', () =>
      request(api, 'POST', '/api/auth/signup', {
        body: { name: 'Blocked Origin', email, password: 'Secr3t!pass' },
      })],
    ['GET /api/.../tasks with a token (preflighted)', () =>
      request(api, 'GET', '/api/00000000-0000-4000-8000-000000000000/tasks', { token: 'x.y.z' })],
    ['GET /health (simple, no preflight)', () => fetch(api + '/health', { credentials: 'include' })],
    ['GET /health (simple, no credentials)', () => fetch(api + '/health')],
  ];
  const results = [];
  for (const [name, fn] of attempts) {
    try {
      const res = await fn();
      results.push({ name, rejected: false, status: res.status });
    } catch (e) {
      results.push({ name, rejected: true, error: e.name, message: e.message });
    }
  }
  return results;
}

/**
 * Keeps a `<ul id="tasks">` in step with the user's tasks: the list once, then the live event
 * stream (a ticket, then an EventSource, which cannot send the token itself). Resolves when the
 * stream is open.
 */
async function watch(api, userId, token) {
  let list = document.getElementById('tasks');
  if (!list) {
    list = document.createElement('ul');
    list.id = 'tasks';
    document.body.append(list);
  }
  const upsert = (task) => {
    let item = list.querySelector(`li[data-id="${task.id}"]`);
    if (!item) {
      item = document.createElement('li');
      item.dataset.id = String(task.id);
      list.prepend(item);
    }
    item.textContent = task.title;
    item.dataset.completed = String(task.completed);
  };
  const first = await request(api, 'GET', `/api/${userId}/tasks`, { token });
  first.body.forEach(upsert);
  const ticket = await request(api, 'POST', `/api/${userId}/events/ticket`, { token });
  if (ticket.status !== 201) throw new Error(`ticket: ${ticket.status} ${ticket.text}`);
  const url = `${api}/api/${userId}/events?ticket=${encodeURIComponent(ticket.body.ticket)}`;
  const source = new EventSource(url, { withCredentials: true });
  window.events = [];
  source.addEventListener('task', (e) => {
    const change = JSON.parse(e.data);
    window.events.push(change.op);
    if (change.op === 'deleted') list.querySelector(`li[data-id="${change.id}"]`)?.remove();
    else upsert(change.task);
  });
  await new Promise((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = () => reject(new Error('the event stream did not open'));
  });
  window.liveSource = source;
  return 'open';
}

window.client = { request };
window.watch = watch;
window.runFlow = runFlow;
window.probe = probe;
