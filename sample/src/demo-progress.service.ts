import { Injectable, Logger } from '@nestjs/common';

/** The milestones the demo waits for. */
export const DEMO_MILESTONES = [
  'welcome-email',
  'reminder-email',
  'import-valid',
  'import-invalid-archived',
  'charge-succeeded',
  'report-returned',
  'periodic-fired',
  'workflow-recorded',
] as const;
export type DemoMilestone = (typeof DEMO_MILESTONES)[number];

/** Records what the demo has seen so far, and lets it wait for the rest. */
@Injectable()
export class DemoProgress {
  private readonly logger = new Logger('Demo');
  private readonly reached = new Set<DemoMilestone>();
  private waiters: (() => void)[] = [];

  mark(milestone: DemoMilestone): void {
    if (this.reached.has(milestone)) return;
    this.reached.add(milestone);
    this.logger.log(`✔ ${milestone} (${this.reached.size}/${DEMO_MILESTONES.length})`);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once every milestone is reached; rejects after `timeoutMs` naming the missing ones. */
  async all(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.reached.size < DEMO_MILESTONES.length) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing = DEMO_MILESTONES.filter((m) => !this.reached.has(m));
        throw new Error(`demo timed out waiting for: ${missing.join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
