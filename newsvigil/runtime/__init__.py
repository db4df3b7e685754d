"""The long-running processes: the poller, the embedded monitor, the Kafka worker and the combined run.

They only wire the library to the world (clocks, threads, signals, the bus); what they decide comes from
newsvigil.processors and what they keep goes through newsvigil.storage.
"""
