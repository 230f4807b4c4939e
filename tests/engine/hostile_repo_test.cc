// Hostile repository contents: being written.
