"""How many A/A runs a calibration makes: constants only, so `harness calibrate --help` loads no models."""

CALIBRATION_RUNS = 10  # A/A runs `harness calibrate` makes by default
MIN_CALIBRATION_RUNS = 3  # fewer runs cannot estimate a variance worth storing
