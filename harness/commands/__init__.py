"""One module per subcommand; each defines ``register(app)``. Parse -> call steps -> render."""
