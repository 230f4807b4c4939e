// Faults injected on every write path: being written.
