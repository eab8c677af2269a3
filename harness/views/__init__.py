"""The read side's decision layer: load from the store (through results/), decide with the pure
functions of analysis/, return plain objects that report/ and commands/ render."""
