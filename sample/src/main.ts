import { Logger } from '@nestjs/common';
import { bootstrap } from './app.js';

/**
 * `npm run sample`: starts the sample app and runs the demo (SAMPLE_DEMO=0 skips it). The app keeps serving HTTP
 * afterwards; SAMPLE_EXIT_AFTER_DEMO=1 closes it gracefully and exits once the demo is done (exit code 1 if the demo
 * failed).
 */
async function main(): Promise<void> {
  const demo = process.env.SAMPLE_DEMO !== '0';
  const running = await bootstrap({ demo });
  const logger = new Logger('Sample');
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await running.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  if (!running.demo) return;
  let code = 0;
  try {
    await running.demo;
  } catch (err) {
    logger.error(`Demo failed: ${(err as Error).message}`);
    code = 1;
  }
  if (process.env.SAMPLE_EXIT_AFTER_DEMO === '1') {
    logger.log('Exiting after the demo (SAMPLE_EXIT_AFTER_DEMO=1)');
    await stop(code);
  } else {
    logger.log('The app keeps running; Ctrl-C to stop.');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
