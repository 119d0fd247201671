"""Step 3: minimise the cost. The loop, the compiled steps, callbacks, distribution, interrupts."""
