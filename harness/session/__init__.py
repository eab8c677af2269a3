"""Session: drive one device through its cells (push, run the agent, pull, interpret).

runner.py runs one worker per device concurrently; device_session.py holds one device's
connection, lock and setup; cell_result.py turns an agent result into a CellRecord.
"""
