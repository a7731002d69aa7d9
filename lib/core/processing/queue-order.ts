/** A queue and its weight. */
export interface WeightedQueue {
  name: string;
  weight: number;
}

/** Highest weight first, the order strictPriority drains the queues in. */
export function strictOrder(queues: readonly WeightedQueue[]): string[] {
  return [...queues].sort((a, b) => b.weight - a.weight).map((q) => q.name);
}

/**
 * Weighted random order without replacement: the first queue is chosen with probability weight / total, the next
 * among the rest likewise (Asynq's weighted priority). `random` returns [0, 1).
 */
export function weightedOrder(queues: readonly WeightedQueue[], random: () => number = Math.random): string[] {
  const rest = [...queues];
  const order: string[] = [];
  while (rest.length > 0) {
    let total = 0;
    for (const q of rest) total += q.weight;
    let pick = random() * total;
    let index = 0;
    while (index < rest.length - 1 && pick >= rest[index].weight) {
      pick -= rest[index].weight;
      index++;
    }
    order.push(rest[index].name);
    rest.splice(index, 1);
  }
  return order;
}
