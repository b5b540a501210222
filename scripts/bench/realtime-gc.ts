/**
 * Preloaded into the server of the realtime benchmark (with --expose-gc): on
 * SIGUSR2 it collects garbage and prints the process's memory as one JSON
 * line, so memory per connection is measured after a full GC rather than at
 * whatever point the heap happened to be.
 */
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(`${JSON.stringify({ memory: process.memoryUsage() })}\n`);
});
