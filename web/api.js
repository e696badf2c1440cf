// Talking to the node's API: fetch with the token when the node wants one, and the live event
// stream that tells views to refresh.

let token = localStorage.getItem('rota-token') ?? '';

/** Calls the API; asks for the token once if the node requires one. */
export async function api(method, path, body, type = 'application/json') {
  return (await request(method, path, body, type)).data;
}

/** One page of a list: its items, the cursor of the next page (from Link) and the total (X-Total-Count). */
export async function apiPage(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''));
  const { data, headers } = await request('GET', `${path}${query.size ? `?${query}` : ''}`);
  const link = headers.get('link')?.match(/<([^>]*)>;\s*rel="next"/)?.[1];
  const total = headers.get('x-total-count');
  return { items: data, next: link ? new URL(link, location.href).searchParams.get('after') ?? undefined : undefined, total: total ? Number(total) : undefined };
}

/** Every entry of a list, page after page. */
export async function apiAll(path, params = {}) {
  const all = [];
  let after;
  do {
    const page = await apiPage(path, { ...params, after });
    all.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  return all;
}

async function request(method, path, body, type = 'application/json') {
  for (let tries = 0; ; tries++) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = type;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body });
    if (res.status === 401 && tries === 0) {
      token = prompt('This rota node needs its API token:') ?? '';
      localStorage.setItem('rota-token', token);
      continue;
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(data?.message ?? `${res.status} ${res.statusText}`);
    return { data, headers: res.headers };
  }
}

/** A button's handler: runs `fn`, says what went wrong in an alert, then redraws with `refresh` (the button is disabled meanwhile). */
export const action = (refresh) => (fn) => async (e) => {
  if (e?.target instanceof HTMLButtonElement) e.target.disabled = true;
  try {
    await fn();
  } catch (err) {
    alert(err.message);
  }
  refresh();
};

/** Follows every change in the store; calls onChange with each batch and onState with 'live'/'off'. */
export function follow(onChange, onState) {
  const url = `/events${token ? `?access_token=${encodeURIComponent(token)}` : ''}`;
  const source = new EventSource(url);
  source.addEventListener('open', () => onState('live'));
  source.addEventListener('change', (e) => onChange(JSON.parse(e.data)));
  source.addEventListener('error', () => onState('off')); // EventSource reconnects with Last-Event-ID
  return () => source.close();
}
