/** The journey through the @hey-api/openapi-ts client (fetch). */
import { client } from '../out/hey-api/client.gen.js';
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
} from '../out/hey-api/sdk.gen.js';
import { Journey, check, eventually, fixture, sameBytes } from './journey.js';

const f = fixture('hey-api');
const journey = new Journey('hey-api');
let token = '';
client.setConfig({ baseUrl: f.baseUrl, auth: () => token });
let userId = 0;
let itemId = 0;
let orderId = 0;
let fileId = 0;

await journey.step('sign up', async () => {
  const { data, error } = await createUser({
    body: { email: f.email, full_name: f.fullName, age: 36, password: f.password },
  });
  check(data !== undefined, `createUser: ${JSON.stringify(error)}`);
  userId = data.id;
});
await journey.step('log in', async () => {
  const { data, error } = await login({ body: { username: f.email, password: f.password } });
  check(data !== undefined, `login: ${JSON.stringify(error)}`);
  token = data.access_token;
});
await journey.step('/users/me', async () => {
  const { data, error } = await getCurrentUser();
  check(data !== undefined, `getCurrentUser: ${JSON.stringify(error)}`);
  check(data.id === userId && data.email === f.email, 'another account');
});
await journey.step('create item', async () => {
  const { data, error } = await createItem({ body: { name: f.itemName, price: 19.99, tax: 0.1 } });
  check(data !== undefined, `createItem: ${JSON.stringify(error)}`);
  itemId = data.id;
});
await journey.step('search items', async () => {
  const { data, error } = await listItems({ query: { q: f.search } });
  check(data !== undefined, `listItems: ${JSON.stringify(error)}`);
  check(data.total === 1 && data.items[0]?.id === itemId, 'the item is not found');
});
await journey.step('order (Idempotency-Key)', async () => {
  const order = { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Analytical Way' };
  const headers = { 'Idempotency-Key': f.idempotencyKey };
  const first = await createOrder({ body: order, headers });
  check(first.data !== undefined, `createOrder: ${JSON.stringify(first.error)}`);
  const retry = await createOrder({ body: order, headers });
  check(retry.data?.id === first.data.id, 'the retry placed a second order');
  orderId = first.data.id;
});
await journey.step('read order', async () => {
  const { data, error } = await getOrder({ path: { order_id: orderId } });
  check(data !== undefined, `getOrder: ${JSON.stringify(error)}`);
  check(
    data.lines[0]?.item_id === itemId && data.total === 43.98,
    `unexpected order ${JSON.stringify(data)}`,
  );
});
await journey.step('upload file', async () => {
  const { data, error } = await uploadFile({ body: { file: f.file } });
  check(data !== undefined, `uploadFile: ${JSON.stringify(error)}`);
  check(
    data.size === f.bytes.length && data.filename === f.file.name,
    `unexpected file ${JSON.stringify(data)}`,
  );
  fileId = data.id;
});
await journey.step('download file', async () => {
  // parseAs: the client otherwise picks a parser from the answer's Content-Type (text/* would become a string).
  const { data, error } = await downloadFile({ path: { file_id: fileId }, parseAs: 'blob' });
  check(data !== undefined, `downloadFile: ${JSON.stringify(error)}`);
  const blob: Blob = data;
  check(await sameBytes(blob, f.bytes), 'the downloaded bytes differ from the uploaded ones');
});
await journey.step('activity log', async () => {
  const entries = await eventually(async () => {
    const { data } = await listUserActivity({ path: { user_id: userId }, query: { limit: 10 } });
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
