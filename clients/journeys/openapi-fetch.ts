/** The journey through openapi-fetch, typed by openapi-typescript (format: binary as Blob). */
import createClient from 'openapi-fetch';
import type { paths } from '../out/openapi-fetch/schema.js';
import { Journey, check, eventually, fixture, sameBytes } from './journey.js';

const f = fixture('openapi-fetch');
const journey = new Journey('openapi-fetch');
const client = createClient<paths>({ baseUrl: f.baseUrl });
let token = '';
client.use({
  onRequest({ request }) {
    if (token !== '') request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
});
let userId = 0;
let itemId = 0;
let orderId = 0;
let fileId = 0;

await journey.step('sign up', async () => {
  const { data, error } = await client.POST('/users', {
    body: { email: f.email, full_name: f.fullName, age: 36, password: f.password },
  });
  check(data !== undefined, `createUser: ${JSON.stringify(error)}`);
  userId = data.id;
});
await journey.step('log in', async () => {
  // openapi-fetch serializes the body by the Content-Type header it is given (JSON otherwise).
  const { data, error } = await client.POST('/token', {
    body: { username: f.email, password: f.password },
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  check(data !== undefined, `login: ${JSON.stringify(error)}`);
  token = data.access_token;
});
await journey.step('/users/me', async () => {
  const { data, error } = await client.GET('/users/me');
  check(data !== undefined, `getCurrentUser: ${JSON.stringify(error)}`);
  check(data.id === userId && data.email === f.email, 'another account');
});
await journey.step('create item', async () => {
  const { data, error } = await client.POST('/items', { body: { name: f.itemName, price: 19.99, tax: 0.1 } });
  check(data !== undefined, `createItem: ${JSON.stringify(error)}`);
  itemId = data.id;
});
await journey.step('search items', async () => {
  const { data, error } = await client.GET('/items', { params: { query: { q: f.search } } });
  check(data !== undefined, `listItems: ${JSON.stringify(error)}`);
  check(data.total === 1 && data.items[0]?.id === itemId, 'the item is not found');
});
await journey.step('order (Idempotency-Key)', async () => {
  const order = { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Analytical Way' };
  const params = { header: { 'Idempotency-Key': f.idempotencyKey } };
  const first = await client.POST('/orders', { body: order, params });
  check(first.data !== undefined, `createOrder: ${JSON.stringify(first.error)}`);
  const retry = await client.POST('/orders', { body: order, params });
  check(retry.data?.id === first.data.id, 'the retry placed a second order');
  orderId = first.data.id;
});
await journey.step('read order', async () => {
  const { data, error } = await client.GET('/orders/{order_id}', { params: { path: { order_id: orderId } } });
  check(data !== undefined, `getOrder: ${JSON.stringify(error)}`);
  check(
    data.lines[0]?.item_id === itemId && data.total === 43.98,
    `unexpected order ${JSON.stringify(data)}`,
  );
});
await journey.step('upload file', async () => {
  const { data, error } = await client.POST('/upload', {
    body: { file: f.file },
    bodySerializer(body) {
      const form = new FormData();
      form.append('file', body.file);
      return form;
    },
  });
  check(data !== undefined, `uploadFile: ${JSON.stringify(error)}`);
  check(
    data.size === f.bytes.length && data.filename === f.file.name,
    `unexpected file ${JSON.stringify(data)}`,
  );
  fileId = data.id;
});
await journey.step('download file', async () => {
  const { data, error } = await client.GET('/download/{file_id}', {
    params: { path: { file_id: fileId } },
    parseAs: 'blob',
  });
  check(data !== undefined, `downloadFile: ${JSON.stringify(error)}`);
  const blob: Blob = data;
  check(await sameBytes(blob, f.bytes), 'the downloaded bytes differ from the uploaded ones');
});
await journey.step('activity log', async () => {
  const entries = await eventually(async () => {
    const { data } = await client.GET('/users/{user_id}/activity', {
      params: { path: { user_id: userId }, query: { limit: 10 } },
    });
    return data !== undefined && data.items.length >= 4 ? data.items : undefined;
  });
  const seen = new Set<string>();
  for (const entry of entries) {
    seen.add(entry.kind);
    if (entry.kind === 'order_placed')
      check(entry.details.order_id === orderId, 'order_placed: another order');
    if (entry.kind === 'file_uploaded')
      check(entry.details.size === f.bytes.length, 'file_uploaded: another size');
    if (entry.kind === 'login') check(entry.details.ip.length > 0, 'login: no address');
  }
  check(seen.size === 4, `kinds seen: ${[...seen].join(', ')}`);
});
journey.finish();
