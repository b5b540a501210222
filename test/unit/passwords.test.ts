import { expect } from 'chai';
import { createPasswordHasher } from '../../src/auth/passwords.js';

describe('password hashing queue', () => {
  // Cheap parameters: the test is about order, not cost.
  const params = { memoryKiB: 1024, timeCost: 1, parallelism: 1, maxConcurrency: 1 };

  it('checks a login password before sign-up hashes that were queued first', async () => {
    const hasher = createPasswordHasher(params);
    const stored = await hasher.hash('Secret123');
    let hashed = 0;
    const signUps = Array.from({ length: 30 }, () =>
      hasher.hash('Another123').then(() => {
        hashed += 1;
      }),
    );
    const login = await hasher.verify(stored, 'Secret123');
    const hashedBeforeLogin = hashed;
    await Promise.all(signUps);
    expect(login.ok).to.equal(true);
    // Only the hash already running when the login arrived may finish first.
    expect(hashedBeforeLogin).to.be.at.most(1);
    expect(hashed).to.equal(30);
  });

  it('checks unknown accounts against a dummy hash with the same priority', async () => {
    const hasher = createPasswordHasher(params);
    let hashed = 0;
    const signUps = Array.from({ length: 30 }, () =>
      hasher.hash('Another123').then(() => {
        hashed += 1;
      }),
    );
    const login = await hasher.verify(undefined, 'Secret123');
    const hashedBeforeLogin = hashed;
    await Promise.all(signUps);
    expect(login.ok).to.equal(false);
    // The dummy hash itself is made once, at the login's priority, before the check.
    expect(hashedBeforeLogin).to.be.at.most(2);
  });
});
