/** The journey through the swagger-typescript-api client (fetch). */
import { Api } from '../out/swagger-typescript-api/api.js';
import { Journey, check, eventually, fixture, sameBytes } from './journey.js';

const f = fixture('swagger-typescript-api');
const journey = new Journey('swagger-typescript-api');
let token = '';
// The generated default base URL is the contract's first server ('/'): pass the server's own.
const api = new Api<string>({
  baseUrl: f.baseUrl,
  securityWorker: (bearer) => (bearer ? { headers: { Authorization: `Bearer ${bearer}` } } : {}),
});
let userId = 0;
let itemId = 0;
let orderId = 0;
let fileId = 0;

await journey.step('sign up', async () => {
  const { data } = await api.users.createUser({
    email: f.email,
    full_name: f.fullName,
    age: 36,
    password: f.password,
  });
  userId = data.id;
});
await journey.step('log in', async () => {
  const { data } = await api.token.login({ username: f.email, password: f.password });
  token = data.access_token;
  api.setSecurityData(token);
});
await journey.step('/users/me', async () => {
  const { data } = await api.users.getCurrentUser();
  check(data.id === userId && data.email === f.email, 'another account');
});
await journey.step('create item', async () => {
  const { data } = await api.items.createItem({ name: f.itemName, price: 19.99, tax: 0.1 });
  itemId = data.id;
});
await journey.step('search items', async () => {
  const { data } = await api.items.listItems({ q: f.search });
  check(data.total === 1 && data.items[0]?.id === itemId, 'the item is not found');
});
await journey.step('order (Idempotency-Key)', async () => {
  const order = { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Analytical Way' };
  // Header parameters are not arguments here: they go in the request's headers.
  const params = { headers: { 'Idempotency-Key': f.idempotencyKey } };
  const first = await api.orders.createOrder(order, params);
  const retry = await api.orders.createOrder(order, params);
  check(retry.data.id === first.data.id, 'the retry placed a second order');
  orderId = first.data.id;
});
await journey.step('read order', async () => {
  const { data } = await api.orders.getOrder(orderId);
  check(
    data.lines[0]?.item_id === itemId && data.total === 43.98,
    `unexpected order ${JSON.stringify(data)}`,
  );
});
await journey.step('upload file', async () => {
  const { data } = await api.upload.uploadFile({ file: f.file });
  check(
    data.size === f.bytes.length && data.filename === f.file.name,
    `unexpected file ${JSON.stringify(data)}`,
  );
  fileId = data.id;
});
await journey.step('download file', async () => {
  // format: the generator reads bodies only for JSON, form and image/* media types; */* needs it said.
  const { data } = await api.download.downloadFile(fileId, { format: 'blob' });
  const blob: Blob = data;
  check(await sameBytes(blob, f.bytes), 'the downloaded bytes differ from the uploaded ones');
});
await journey.step('activity log', async () => {
  const entries = await eventually(async () => {
    const { data } = await api.users.listUserActivity(userId, { limit: 10 });
    return data.items.length >= 4 ? data.items : undefined;
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
