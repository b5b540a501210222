/** The journey through the orval fetch client (its base URL is set at generation: orval.config.cjs). */
import {
  createItem,
  createOrder,
  createUser,
  downloadFile,
  getCurrentUser,
  getOrder,
  listItems,
  listUserActivity,
  login,
  uploadFile,
} from '../out/orval/api.js';
import { Journey, check, eventually, fixture, sameBytes } from './journey.js';

const f = fixture('orval');
const journey = new Journey('orval');
let auth: RequestInit = {};
let userId = 0;
let itemId = 0;
let orderId = 0;
let fileId = 0;

await journey.step('sign up', async () => {
  const res = await createUser({ email: f.email, full_name: f.fullName, age: 36, password: f.password });
  check(res.status === 201, `createUser: ${res.status} ${JSON.stringify(res.data)}`);
  userId = res.data.id;
});
await journey.step('log in', async () => {
  const res = await login({ username: f.email, password: f.password });
  check(res.status === 200, `login: ${res.status} ${JSON.stringify(res.data)}`);
  auth = { headers: { Authorization: `Bearer ${res.data.access_token}` } };
});
await journey.step('/users/me', async () => {
  const res = await getCurrentUser(undefined, auth);
  check(res.status === 200, `getCurrentUser: ${res.status} ${JSON.stringify(res.data)}`);
  check(res.data.id === userId && res.data.email === f.email, 'another account');
});
await journey.step('create item', async () => {
  const res = await createItem({ name: f.itemName, price: 19.99, tax: 0.1 }, auth);
  check(res.status === 201, `createItem: ${res.status} ${JSON.stringify(res.data)}`);
  itemId = res.data.id;
});
await journey.step('search items', async () => {
  const res = await listItems({ q: f.search });
  check(res.status === 200, `listItems: ${res.status} ${JSON.stringify(res.data)}`);
  check(res.data.total === 1 && res.data.items[0]?.id === itemId, 'the item is not found');
});
await journey.step('order (Idempotency-Key)', async () => {
  const order = { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Analytical Way' };
  const headers = { 'Idempotency-Key': f.idempotencyKey };
  const first = await createOrder(order, headers, auth);
  check(first.status === 201, `createOrder: ${first.status} ${JSON.stringify(first.data)}`);
  const retry = await createOrder(order, headers, auth);
  check(retry.status === 201 && retry.data.id === first.data.id, 'the retry placed a second order');
  orderId = first.data.id;
});
await journey.step('read order', async () => {
  const res = await getOrder(orderId, auth);
  check(res.status === 200, `getOrder: ${res.status} ${JSON.stringify(res.data)}`);
  check(res.data.lines[0]?.item_id === itemId && res.data.total === 43.98, `unexpected order`);
});
await journey.step('upload file', async () => {
  const res = await uploadFile({ file: f.file }, auth);
  check(res.status === 201, `uploadFile: ${res.status} ${JSON.stringify(res.data)}`);
  check(res.data.size === f.bytes.length && res.data.filename === f.file.name, 'unexpected file');
  fileId = res.data.id;
});
await journey.step('download file', async () => {
  const res = await downloadFile(fileId, undefined, auth);
  check(res.status === 200, `downloadFile: ${res.status}`);
  const blob: Blob = res.data;
  check(await sameBytes(blob, f.bytes), 'the downloaded bytes differ from the uploaded ones');
});
await journey.step('activity log', async () => {
  const entries = await eventually(async () => {
    const res = await listUserActivity(userId, { limit: 10 }, auth);
    return res.status === 200 && res.data.items.length >= 4 ? res.data.items : undefined;
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
